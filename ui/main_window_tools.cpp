// MainWindow's tools: choosing one (and the edit it feeds), the brush and its strokes.
#include "ui/main_window.h"

#include "cmedit/build_config.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "ui/canvas.h"
#include "ui/document.h"
#include "ui/edit_controller.h"
#include "ui/edit_toolbar.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include <QAction>
#include <QActionGroup>
#include <QColorDialog>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QKeyEvent>
#include <QMimeData>
#include <QFormLayout>
#include <QInputDialog>
#include <QGridLayout>
#include <QIcon>
#include <QPixmap>
#include <QSettings>
#include <QToolButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QDesktopServices>
#include <QTimer>
#include <QUrl>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QImage>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSpinBox>
#include <QStatusBar>
#include <QToolBar>
#include <QUndoStack>
#include <QUndoView>

namespace cm::ui {
namespace {

// The brush colours as a toolbar icon: the current one over the second (X swaps them).
QIcon colour_swatch(const QColor& foreground, const QColor& background) {
  QPixmap pixmap(24, 24);
  pixmap.fill(Qt::transparent);
  QPainter painter(&pixmap);
  painter.setPen(Qt::black);
  painter.setBrush(background);
  painter.drawRect(8, 8, 15, 15);
  painter.setBrush(foreground);
  painter.drawRect(0, 0, 15, 15);
  return QIcon(pixmap);
}

}  // namespace

void MainWindow::setTool(Tool tool) {
  if (tool != tool_) controller_->discardPreview();  // a preview belongs to the tool that made it
  tool_ = tool;
  if (QAction* a = tool_actions_[int(tool)]) a->setChecked(true);  // also when chosen for the user
  // The tool chooses the edit it feeds: mask → inpaint, strokes → sketch, hints → colorize.
  const edit::EditKind kind = tool == Tool::MaskBrush     ? edit::EditKind::Inpaint
                              : tool == Tool::SketchBrush ? edit::EditKind::Sketch
                              : tool == Tool::HintBrush   ? edit::EditKind::Colorize
                                                          : edit::EditKind::SuperResolve;
  edit_bar_->setKind(kind);
  updateBrush();
  refreshCanvasOverlays();  // the selection shows with the Select tool only
}

void MainWindow::setForeground(const QColor& colour) {
  if (!colour.isValid()) return;
  foreground_ = colour;
  foreground_.setAlpha(255);
  updateBrush();
}

void MainWindow::setBrushDiameter(double image_pixels) {
  brush_diameter_ = std::clamp(image_pixels, 1.0, 2000.0);
  updateBrush();
}

void MainWindow::updateBrush() {
  if (diameter_box_) {
    const QSignalBlocker quiet(diameter_box_);
    diameter_box_->setValue(brush_diameter_);
  }
  if (colour_action_) colour_action_->setIcon(colour_swatch(foreground_, background_));
  const QColor shown = tool_ == Tool::MaskBrush ? QColor(255, 40, 40) : foreground_;
  canvas_->setSelectionMode(tool_ == Tool::Select);
  canvas_->setBrush(brush_diameter_, eraser_action_ && eraser_action_->isChecked() ? QColor(Qt::black) : shown,
                    tool_ != Tool::Select);
}

Brush MainWindow::currentBrush(Layer* layer) const {
  Brush brush;
  brush.diameter = brush_diameter_;
  brush.color = foreground_;
  brush.erase = eraser_action_->isChecked();
  brush.hardness = hardness_slider_->value() / 100.0;
  *layer = tool_ == Tool::MaskBrush ? Layer::Mask : tool_ == Tool::SketchBrush ? Layer::Strokes : Layer::Hints;
  if (*layer == Layer::Hints) brush.hardness = 1.0;  // hints are exact colours, not gradients
  return brush;
}

// A mask, sketch or hint painted while they are hidden (View › Show mask, sketch and hints off,
// which persists from photo to photo) would leave the user guessing where it goes: they are shown
// again, and the status bar says why.
void MainWindow::revealMaskBeingPainted() {
  if (tool_ == Tool::Select || mask_action_->isChecked() || document_->isEmpty()) return;
  mask_action_->setChecked(true);
  statusBar()->showMessage(tr("The mask, sketch and hints are shown again while you paint (Ctrl+M hides them)"), 5000);
}

void MainWindow::onStroke(const QVector<QPointF>& points) {
  provisional_timer_->stop();  // the stroke itself is now the document's: no provisional preview after it
  provisional_stroke_.clear();
  if (document_->isEmpty()) return;
  revealMaskBeingPainted();  // (a click paints without moving)
  if (!points.isEmpty()) controller_->setBrushPosition(points.back());  // its preview starts there
  Layer layer;
  const Brush brush = currentBrush(&layer);
  document_->paintStroke(layer, points, brush);
}

}  // namespace cm::ui
