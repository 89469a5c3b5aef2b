// crash_child — the editor in the middle of a session, for the SIGKILL recovery test
// (test_ui.cpp, Recovery.*). It loads MODEL, opens PHOTO, paints a mask, applies the inpaint
// preview, paints a sketch stroke and another mask stroke, waits until the editor's own autosave
// timer has saved that state, writes what the document holds to OUT_DIR/expected-*.png, prints
// READY and waits to be killed.
//   crash_child MODEL PHOTO OUT_DIR
#include "ui/document.h"
#include "ui/edit_controller.h"
#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>

#include <cstdio>
#include <cstdlib>

namespace {

int fail(const char* why) {
  std::printf("FAIL: %s\n", why);
  std::fflush(stdout);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (!std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY") && !std::getenv("QT_QPA_PLATFORM"))
    setenv("QT_QPA_PLATFORM", "offscreen", 1);
  QApplication app(argc, argv);
  if (argc != 4) return fail("usage: crash_child MODEL PHOTO OUT_DIR");
  const QString model = QString::fromLocal8Bit(argv[1]), photo = QString::fromLocal8Bit(argv[2]);
  const QDir out(QString::fromLocal8Bit(argv[3]));

  cm::ui::MainWindow window;
  window.discardAutosave();
  window.setAutosaveDelay(200);
  QSignalSpy loaded(window.controller(), &cm::ui::EditController::modelLoaded);
  window.loadModel(model);
  if (!loaded.wait(60000)) return fail("the model did not load");
  if (!window.openImage(photo)) return fail("the photo did not open");

  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  cm::ui::Document* doc = window.document();
  doc->paintStroke(cm::ui::Layer::Mask, {QPointF(20, 14), QPointF(30, 20)}, cm::ui::Brush{6, 1.0});
  if (!ready.wait(60000)) return fail("no preview");
  const QImage before_apply = doc->photo().copy();
  window.applyAction()->trigger();  // applies the refined preview when it arrives
  if (!QTest::qWaitFor([&] { return doc->photo() != before_apply; }, 60000)) return fail("apply changed nothing");
  doc->paintStroke(cm::ui::Layer::Strokes, {QPointF(5, 5), QPointF(40, 8)}, cm::ui::Brush{4, 1.0});
  doc->paintStroke(cm::ui::Layer::Mask, {QPointF(8, 30), QPointF(14, 34)}, cm::ui::Brush{5, 1.0});
  if (!QTest::qWaitFor([&] { return window.autosaveIsCurrent(); }, 30000)) return fail("the autosave timer never saved");

  doc->photo().save(out.filePath(QStringLiteral("expected-photo.png")));
  doc->mask().save(out.filePath(QStringLiteral("expected-mask.png")));
  doc->layer(cm::ui::Layer::Strokes).save(out.filePath(QStringLiteral("expected-sketch.png")));
  before_apply.save(out.filePath(QStringLiteral("before-apply.png")));
  std::printf("READY\n");
  std::fflush(stdout);
  return app.exec();  // until SIGKILL
}
