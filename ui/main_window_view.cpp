// MainWindow's view of the document: what the canvas shows (the preview or the photo, and the
// inputs painted for the edit over it) and the compare key.
#include "ui/canvas.h"
#include "ui/document.h"
#include "ui/edit_controller.h"
#include "ui/main_window.h"

#include <QAction>
#include <QKeyEvent>
#include <QLabel>
#include <QPainter>

namespace cm::ui {
namespace {

// How strongly the inputs (mask tint, sketch, hints) cover the picture: fully, or faintly while
// a preview shows, so the result can be judged through them.
constexpr double kMaskOpacity = 0.45, kMaskOverPreview = 0.2;
constexpr double kInkOverPreview = 0.3;

// What the canvas shows: the preview (or the photo), the mask tinted red, the sketch and the hints
// (show_inputs), lighter over a preview; only the photo while the user compares.
QImage compose(const Document& doc, const EditController& controller, bool original_only, bool show_inputs) {
  if (original_only) return doc.photo().convertToFormat(QImage::Format_RGBA8888);
  if (controller.hasPreview() && controller.preview().size() != doc.size())  // enlarged or generated
    return controller.preview().convertToFormat(QImage::Format_RGBA8888);
  QImage view = (controller.hasPreview() ? controller.preview() : doc.photo()).convertToFormat(QImage::Format_RGBA8888);
  if (!show_inputs) return view;
  QPainter painter(&view);
  // Only where the layers hold paint: on a 12-megapixel photo each full-size pass costs ~0.1 s.
  if (const QRect ink = doc.inkRect(Layer::Mask); !ink.isEmpty()) {
    QImage tint(ink.size(), QImage::Format_ARGB32_Premultiplied);
    tint.fill(QColor(255, 40, 40));
    tint.setAlphaChannel(doc.mask().copy(ink));
    painter.setOpacity(controller.hasPreview() ? kMaskOverPreview : kMaskOpacity);
    painter.drawImage(ink.topLeft(), tint);
  }
  painter.setOpacity(controller.hasPreview() ? kInkOverPreview : 1.0);
  for (Layer layer : {Layer::Strokes, Layer::Hints})
    if (const QRect ink = doc.inkRect(layer); !ink.isEmpty()) painter.drawImage(ink.topLeft(), doc.layer(layer), ink);
  return view;
}

}  // namespace

void MainWindow::updateImageInfo() {
  if (document_->isEmpty()) return image_info_->clear();
  image_info_->setText(tr("%1 × %2, %3-bit %4%5")
                           .arg(document_->size().width())
                           .arg(document_->size().height())
                           .arg(document_->bitDepth())
                           .arg(document_->photoIsGrey() ? tr("gray") : tr("RGB"))
                           .arg(has_alpha_ ? tr(" + alpha") : QString()));
}

void MainWindow::refreshCanvas() {
  if (document_->isEmpty()) return;
  // The selection marks photo pixels: not over an enlarged preview, and only with the Select tool.
  const bool enlarged = controller_->hasPreview() && controller_->preview().size() != document_->size();
  canvas_->setSelection(enlarged || tool_ != Tool::Select ? QRect() : selection_);
  // The stroke under the brush covers what is under it as the painted layer will: a mask's tint,
  // and lighter over a preview (the preview that follows the brush shows through it).
  const bool preview = controller_->hasPreview();
  canvas_->setStrokeOpacity(preview ? (tool_ == Tool::MaskBrush ? kMaskOverPreview : kInkOverPreview)
                                    : (tool_ == Tool::MaskBrush ? kMaskOpacity : 1.0));
  canvas_->setImage(compose(*document_, *controller_, showing_original_, !mask_action_ || mask_action_->isChecked()));
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event) {
  // Hold backslash to see the photo without preview, mask or strokes (before/after).
  if (watched == canvas_ && (event->type() == QEvent::KeyPress || event->type() == QEvent::KeyRelease)) {
    auto* key = static_cast<QKeyEvent*>(event);
    if (key->key() == Qt::Key_Backslash && !key->isAutoRepeat()) {
      showing_original_ = event->type() == QEvent::KeyPress;
      refreshCanvas();
      return true;
    }
  }
  return QMainWindow::eventFilter(watched, event);
}

}  // namespace cm::ui
