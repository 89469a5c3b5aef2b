#include "ui/main_window.h"

#include "core/base/build_info.h"
#include "core/base/error.h"
#include "core/engine/device.h"
#include "core/imageio/image_file.h"
#include "ui/canvas.h"

#include <spdlog/spdlog.h>

#include <QAction>
#include <QFileDialog>
#include <QFileInfo>
#include <QImage>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>

namespace cm::ui {
namespace {

QImage to_qimage(const imageio::Image& image) {
  imageio::Rgba8 rgba = imageio::to_rgba8(image);
  QImage view(rgba.pixels.data(), rgba.width, rgba.height, rgba.width * 4, QImage::Format_RGBA8888);
  return view.copy();  // own the pixels: rgba dies with this scope
}

QString describe(const imageio::Image& image) {
  return QStringLiteral("%1 × %2, %3-bit %4%5")
      .arg(image.width())
      .arg(image.height())
      .arg(image.bit_depth)
      .arg(image.grayscale ? QStringLiteral("gray") : QStringLiteral("RGB"))
      .arg(image.alpha.defined() ? QStringLiteral(" + alpha") : QString());
}

}  // namespace

QStringList buildComponentLines() {
  std::vector<Component> parts = base_components();
  parts.push_back(engine::torch_component());
  parts.push_back(imageio::opencv_component());
  return QString::fromStdString(format_components(parts)).split('\n', Qt::SkipEmptyParts);
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(QStringLiteral("cmedit"));
  canvas_ = new Canvas(this);
  canvas_->setOverlayInfo(buildComponentLines());
  setCentralWidget(canvas_);
  image_info_ = new QLabel(this);
  statusBar()->addPermanentWidget(image_info_);
  buildMenus();
  statusBar()->showMessage(tr("Open a photo with File ▸ Open (Ctrl+O)"));
  resize(1024, 768);
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open = file->addAction(tr("&Open…"), this, &MainWindow::chooseAndOpenImage);
  open->setShortcut(QKeySequence::Open);
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  overlay_action_ = view->addAction(tr("&Debug overlay"));
  overlay_action_->setCheckable(true);
  overlay_action_->setShortcut(Qt::Key_F12);
  connect(overlay_action_, &QAction::toggled, canvas_, &Canvas::setOverlayVisible);
  connect(canvas_, &Canvas::overlayVisibilityChanged, overlay_action_, &QAction::setChecked);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About cmedit"), this, &MainWindow::showAbout);
}

bool MainWindow::openImage(const QString& path) {
  try {
    const imageio::Image image = imageio::load_image(path.toStdString());
    canvas_->setImage(to_qimage(image));
    current_path_ = path;
    last_error_.clear();
    setWindowTitle(QFileInfo(path).fileName() + QStringLiteral(" — cmedit"));
    image_info_->setText(describe(image));
    statusBar()->showMessage(tr("Opened %1").arg(path), 5000);
    spdlog::info("opened {} ({})", path.toStdString(), describe(image).toStdString());
    return true;
  } catch (const Error& e) {
    last_error_ = QString::fromStdString(e.what());
  } catch (const std::exception& e) {  // anything else (out of memory, …) is still only a failed open
    last_error_ = tr("cannot open %1: %2").arg(path, QString::fromStdString(e.what()));
  }
  spdlog::warn("{}", last_error_.toStdString());
  statusBar()->showMessage(last_error_);
  return false;
}

void MainWindow::chooseAndOpenImage() {
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Open photo"), QFileInfo(current_path_).absolutePath(),
      tr("Images (*.png *.jpg *.jpeg *.tif *.tiff *.webp *.bmp);;All files (*)"));
  if (!path.isEmpty() && !openImage(path)) QMessageBox::warning(this, tr("Cannot open photo"), last_error_);
}

void MainWindow::showAbout() {
  QMessageBox::about(this, tr("About cmedit"),
                     tr("<b>cmedit</b> edits photos with consistency models.<pre>%1</pre>")
                         .arg(buildComponentLines().join('\n').toHtmlEscaped()));
}

}  // namespace cm::ui
