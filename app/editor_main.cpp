// cmedit: the editor. `cmedit [PHOTO]` opens a window on the photo.
// `--screenshot FILE` renders the first frames, saves the window as PNG and exits (0 on success),
// which the tests and the docs use.
#include "core/base/log.h"
#include "core/base/signals.h"
#include "ui/canvas.h"
#include "ui/main_window.h"

#include <spdlog/spdlog.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QPixmap>
#include <QTimer>

#include <cstdio>
#include <cstdlib>

namespace {

// Saves the window once the canvas has drawn a frame (the GL surface exists only then).
void screenshotAfterFirstFrame(cm::ui::MainWindow& window, const QString& path, int& status) {
  QObject::connect(window.canvas(), &QOpenGLWidget::frameSwapped, &window, [&window, path, &status] {
    QTimer::singleShot(200, &window, [&window, path, &status] {
      const bool saved = window.grab().save(path, "PNG");
      if (!saved) std::fprintf(stderr, "cmedit: cannot write screenshot '%s'\n", qPrintable(path));
      if (!saved) status = 1;
      QApplication::quit();
    });
  }, Qt::SingleShotConnection);
}

// Qt aborts (core dump) when it finds no display; say so plainly instead.
bool haveDisplay() {
  for (const char* name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
    if (const char* v = std::getenv(name); v && *v) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  cm::set_signal_policy();
  if (!haveDisplay()) {
    std::fprintf(stderr, "cmedit: no display to open a window on (DISPLAY is not set). "
                         "Headless, try: xvfb-run -a cmedit\n");
    return 1;
  }
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("cmedit"));
  QApplication::setOrganizationName(QStringLiteral("cmedit"));  // settings: ~/.config/cmedit/cmedit.conf
  QApplication::setDesktopFileName(QStringLiteral("cmedit"));    // the window matches cmedit.desktop
  QApplication::setApplicationVersion(QStringLiteral(CMEDIT_VERSION_STRING));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Edit photos with consistency models."));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument(QStringLiteral("photo"), QStringLiteral("Photo to open."), QStringLiteral("[photo]"));
  const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                      QStringLiteral("Save a PNG of the window after the first frame, then quit."),
                                      QStringLiteral("file"));
  const QCommandLineOption overlay(QStringLiteral("overlay"), QStringLiteral("Start with the debug overlay shown (F12)."));
  parser.addOption(screenshot);
  parser.addOption(overlay);
  parser.process(app);

  const cm::LogSetup log = cm::init_logging({});
  spdlog::info("cmedit {} starting (pid {}); log file {}", CMEDIT_VERSION_STRING, QCoreApplication::applicationPid(),
               log.log_file.string());
  for (const QString& line : cm::ui::buildComponentLines()) spdlog::debug("{}", line.toStdString());

  cm::ui::MainWindow window;
  int status = 0;
  const QStringList photos = parser.positionalArguments();
  // A screenshot run reports a bad photo by its exit status.
  if (parser.isSet(screenshot) && !photos.isEmpty() && !window.openImage(photos.first())) status = 1;
  if (parser.isSet(overlay)) window.canvas()->setOverlayVisible(true);
  if (parser.isSet(screenshot)) screenshotAfterFirstFrame(window, parser.value(screenshot), status);
  window.show();
  if (!parser.isSet(screenshot)) {
    // Once the window is up: a 50 MP photo's seconds of reading show in it, and a person gets a
    // failure as a dialog, not only as a log line.
    if (!photos.isEmpty())
      QTimer::singleShot(0, &window, [&window, photo = photos.first()] { window.openFromCommandLine(photo); });
    else
      QTimer::singleShot(0, &window, [&window] { window.offerAutosave(); });
  }
  const int app_status = app.exec();
  return status != 0 ? status : app_status;
}
