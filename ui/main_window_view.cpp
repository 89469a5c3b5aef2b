// MainWindow's view of the document: what the canvas shows (the preview or the photo, and the
// inputs painted for the edit over it) and the compare key.
#include "ui/canvas.h"
#include "ui/document.h"
#include "ui/edit_controller.h"
#include "ui/edit_toolbar.h"
#include "ui/main_window.h"
#include "ui/mask_outline.h"

#include "core/imageio/file_metadata.h"

#include <QAction>
#include <QActionGroup>
#include <QDoubleSpinBox>
#include <QMenu>
#include <QSettings>
#include <QStatusBar>
#include <QAbstractSpinBox>
#include <QKeyEvent>
#include <QLineEdit>
#include <QLabel>
#include <QPainter>
#include <QTimer>
#include <QToolButton>

#include <utility>

namespace cm::ui {
namespace {

// How strongly the inputs (mask tint, sketch, hints) cover the picture: fully, or faintly while
// a preview shows, so the result can be judged through them. Over a preview the mask and the
// sketch are not drawn at all but outlined (mask_outline.h, painted_outline): the preview shows
// the pixels Apply commits. The hints stay, faintly: their colours are what they say.
constexpr double kMaskOpacity = 0.45, kMaskOverPreview = 0.2;
constexpr double kInkOverPreview = 0.3;

// What the canvas shows in `area` (image pixels): the preview (or the photo), the mask tinted red
// and the sketch (not over a preview), the hints (show_inputs), lighter over a preview; only the
// reference while the user compares. A stroke or a window of an edit redraws its own rectangle:
// on 50 MP the whole picture took 0.2-0.4 s, and as long again to send to the graphics card.
// `photo_picture`: the photo already in the canvas's format (a photo just opened: the reading
// thread made it), or null; the worker's copy of a whole preview is the controller's to give.
QImage compose(const Document& doc, EditController& controller, const QImage* reference, bool show_inputs, QRect area,
               QImage photo_picture = QImage()) {
  // `made`: `image` made in the canvas's format on another thread, or null. Used as it is, not
  // converted again; and not kept, so that painting the inputs over it copies nothing.
  const auto part = [&area](const QImage& image, const QImage& made = QImage()) {
    if (!made.isNull()) return area == made.rect() ? made : made.copy(area);
    return (area == image.rect() ? image : image.copy(area)).convertToFormat(QImage::Format_RGBA8888);
  };
  if (reference) return part(*reference);
  if (controller.hasPreview() && controller.preview().size() != doc.size())  // enlarged or generated
    return part(controller.preview(), controller.takePreviewInCanvasFormat());
  QImage view = controller.hasPreview() ? part(controller.preview(), controller.takePreviewInCanvasFormat())
                                        : part(doc.photo(), std::exchange(photo_picture, QImage()));
  if (!show_inputs) return view;
  QPainter painter(&view);
  painter.translate(-area.topLeft());
  // Only where the layers hold paint: on a 12-megapixel photo each full-size pass costs ~0.1 s.
  if (const QRect ink = doc.inkRect(Layer::Mask) & area; !ink.isEmpty() && !controller.hasPreview()) {
    QImage tint(ink.size(), QImage::Format_ARGB32_Premultiplied);
    tint.fill(QColor(255, 40, 40));
    tint.setAlphaChannel(doc.mask().copy(ink));
    painter.setOpacity(kMaskOpacity);
    painter.drawImage(ink.topLeft(), tint);
  }
  painter.setOpacity(controller.hasPreview() ? kInkOverPreview : 1.0);
  for (Layer layer : {Layer::Strokes, Layer::Hints})
    if (const QRect ink = doc.inkRect(layer) & area; !ink.isEmpty() && !(layer == Layer::Strokes && controller.hasPreview()))
      painter.drawImage(ink.topLeft(), doc.layer(layer), ink);
  return view;
}

// The mask's and the sketch's outlines, as the canvas draws them over a preview (image pixels).
QVector<QLineF> painted_outline(const Document& doc) {
  QVector<QLineF> lines = mask_outline(doc.mask(), doc.inkRect(Layer::Mask));
  if (const QRect ink = doc.inkRect(Layer::Strokes); !ink.isEmpty()) {
    const QImage coverage = doc.layer(Layer::Strokes).copy(ink).convertToFormat(QImage::Format_Alpha8);
    for (const QLineF& line : mask_outline(coverage, coverage.rect())) lines.append(line.translated(ink.topLeft()));
  }
  return lines;
}

}  // namespace

void MainWindow::updateImageInfo() {
  if (document_->isEmpty()) return image_info_->clear();
  // "4032 × 3024, 8-bit RGB · HEIC · Display P3": the photo, what file it came from, its colours.
  QString text = tr("%1 × %2, %3-bit %4%5")
                     .arg(document_->size().width())
                     .arg(document_->size().height())
                     .arg(document_->bitDepth())
                     .arg(document_->photoIsGrey() ? tr("gray") : tr("RGB"))
                     .arg(has_alpha_ ? tr(" + alpha") : QString());
  if (!photo_format_.isEmpty()) text += QStringLiteral(" · ") + photo_format_;
  if (!photo_metadata_.icc.empty()) text += QStringLiteral(" · ") + QString::fromStdString(imageio::colour_profile_name(photo_metadata_));
  image_info_->setText(text);
}

namespace {

constexpr double kLittleNoiseLevels = 1.5;  // 8-bit levels: a denoise's gain crosses zero near here

}  // namespace

void MainWindow::connectWorkStatus() {
  work_tick_ = new QTimer(this);
  work_tick_->setInterval(1000);
  connect(work_tick_, &QTimer::timeout, this, &MainWindow::showWork);
  connect(controller_, &EditController::previewPartial, this, [this] { refreshCanvas(QRect()); });  // the work goes on: its count stays
  connect(controller_, &EditController::previewReady, this, [this] {
    refreshCanvas(QRect());
    // A denoise at auto says the level it read from the photo, for the user to start from.
    const std::vector<double> sigmas = controller_->lastSigmas();
    if (noise_box_ && edit_bar_->kind() == edit::EditKind::Denoise && !sigmas.empty()) {
      const double levels = sigmas.front() * 127.5;
      noise_box_->setSpecialValueText(tr("auto (%1)").arg(levels, 0, 'f', 1));
      noise_box_->setProperty("estimate", levels);
      // Below about a level and a half a denoise takes more detail than noise (docs/QUALITY.md,
      // "Denoising": at 1 level, −0.8 dB): say so rather than let it soften a clean photo unseen.
      if (noise_box_->value() == 0 && levels < kLittleNoiseLevels)
        statusBar()->showMessage(tr("This photo has little noise (about %1 levels): a denoise may soften its detail more than "
                                    "it removes noise.").arg(levels, 0, 'f', 1), 8000);
    }
    // From the change that asked for it (the draft and the refine delay included) to the whole of it.
    if (!working_)
      engine_info_->setText(tr("%1 · preview in %2 ms").arg(controller_->status().model).arg(controller_->lastLatencyMs(), 0, 'f', 0));
  });
  connect(controller_, &EditController::previewCleared, this, [this] {
    refreshCanvas(QRect());
    if (!working_) showEngineReady();  // no latency of a preview that is gone
  });
  // When every job is back (a strip of variations too, which shows no preview), the model and
  // device again; a preview's own text follows this one.
  connect(controller_, &EditController::busyChanged, this, [this](bool busy) {
    working_ = busy;
    work_step_ = work_total_ = 0;
    if (busy) {
      work_clock_.start();
      count_clock_.start();
      work_tick_->start();
      showWork();
      cancel_soon_->start();  // Cancel shows only for work that lasts: a live preview is over before it would be read
    } else {
      work_tick_->stop();
      showEngineReady();
      cancel_soon_->stop();
      cancel_button_->hide();
    }
  });
  connect(controller_, &EditController::progress, this, [this](int step, int total) {
    if (step < work_step_ || total != work_total_) count_clock_.start();  // a newer job's count
    work_step_ = step;
    work_total_ = total;
    if (working_) showWork();
  });
}

void MainWindow::showWork() {
  const QString steps = work_total_ > 1 ? tr("%1/%2 · ").arg(work_step_).arg(work_total_) : QString();
  // How long is left, at the pace of the count so far, once there is a pace to read (a 12 MP
  // denoise counts 5,251 tiles for four minutes): after 2 s and 1 % of the parts.
  QString left;
  const qint64 counted_ms = count_clock_.isValid() ? count_clock_.elapsed() : 0;
  if (work_total_ > 1 && work_step_ < work_total_ && counted_ms >= 2000 && 100 * work_step_ >= work_total_) {
    const double seconds = double(counted_ms) / 1000.0 * double(work_total_ - work_step_) / double(work_step_);
    left = seconds < 90 ? tr(", about %1 s left").arg(qRound(seconds)) : tr(", about %1 min left").arg(qRound(seconds / 60));
  }
  engine_info_->setText(tr("%1 · working… %2%3 s%4").arg(controller_->status().model, steps).arg(work_clock_.elapsed() / 1000).arg(left));
}

void MainWindow::refreshCanvas() {
  if (document_->isEmpty()) return;
  refreshCanvasOverlays();
  controller_->takePreviewChange();  // all of it is drawn again
  canvas_with_preview_ = controller_->hasPreview();
  // A photo just opened: its picture came with it from the reading thread (once).
  QImage opened = std::exchange(opened_picture_, QImage());
  if (opened_picture_of_ != document_->photo().cacheKey()) opened = QImage();
  const QImage reference = showing_original_ ? compareReference() : QImage();
  const bool enlarged = controller_->hasPreview() && controller_->preview().size() != document_->size();
  const QRect all(QPoint(0, 0), enlarged ? controller_->preview().size() : document_->size());
  canvas_->setImage(compose(*document_, *controller_, showing_original_ ? &reference : nullptr,
                            !mask_action_ || mask_action_->isChecked(), all, std::move(opened)));
}

void MainWindow::refreshCanvas(QRect area) {
  if (document_->isEmpty()) return;
  area |= controller_->takePreviewChange();
  const bool enlarged = controller_->hasPreview() && controller_->preview().size() != document_->size();
  // Another size: the whole picture. While \ is held, the reference's part (a window of a 50 MP
  // edit arriving meanwhile recomposed all of it).
  if (enlarged || canvas_->image().size() != document_->size()) return refreshCanvas();
  const QImage reference = showing_original_ ? compareReference() : QImage();
  const bool show_inputs = !mask_action_ || mask_action_->isChecked();
  if (show_inputs && canvas_with_preview_ != controller_->hasPreview()) {
    // The inputs are lighter over a preview: wherever they are painted, they look different now.
    for (Layer layer : {Layer::Mask, Layer::Strokes, Layer::Hints}) area |= document_->inkRect(layer);
  }
  canvas_with_preview_ = controller_->hasPreview();
  refreshCanvasOverlays();
  area &= QRect(QPoint(0, 0), document_->size());
  if (area.isEmpty()) return;
  canvas_->setImagePart(compose(*document_, *controller_, showing_original_ ? &reference : nullptr, show_inputs, area), area.topLeft());
}

void MainWindow::refreshCompared() {
  if (document_->isEmpty()) return;
  // What differs between the reference and the picture shown otherwise: the photo's edits (as
  // opened), the preview, and the inputs painted over it. A 50 MP photo composed whole took a
  // second to show and another to hide, for a stroke's change.
  QRect area = compare_opened_action_->isChecked() ? document_->editedRect() : QRect();
  area |= controller_->previewArea();
  if (!mask_action_ || mask_action_->isChecked())
    for (Layer layer : {Layer::Mask, Layer::Strokes, Layer::Hints}) area |= document_->inkRect(layer);
  refreshCanvas(area);
}

void MainWindow::refreshCanvasOverlays() {
  if (document_->isEmpty()) return;
  // The selection marks photo pixels: not over an enlarged preview, and only with the Select tool.
  const bool enlarged = controller_->hasPreview() && controller_->preview().size() != document_->size();
  canvas_->setSelection(enlarged || tool_ != Tool::Select ? QRect() : selection_);
  // The mask and the sketch over a preview of the photo's size: their outlines (compose).
  const bool outlined = controller_->hasPreview() && !enlarged && !showing_original_ && (!mask_action_ || mask_action_->isChecked());
  if (outlined && painted_outline_revision_ != document_->revision()) {
    painted_outline_ = painted_outline(*document_);
    painted_outline_revision_ = document_->revision();
  }
  canvas_->setOutline(outlined ? painted_outline_ : QVector<QLineF>());
  // The stroke under the brush covers what is under it as the painted layer will: a mask's tint,
  // and lighter over a preview (the preview that follows the brush shows through it).
  const bool preview = controller_->hasPreview();
  canvas_->setStrokeOpacity(preview ? (tool_ == Tool::MaskBrush ? kMaskOverPreview : kInkOverPreview)
                                    : (tool_ == Tool::MaskBrush ? kMaskOpacity : 1.0));
}

void MainWindow::buildCompareMenu(QMenu* view) {
  // Krita's and Photoshop's users compare before/after with the photo as opened; the last applied
  // state is the choice for judging one step. Remembered across sessions.
  QMenu* menu = view->addMenu(tr("&Compare (hold \\) with"));
  auto* group = new QActionGroup(menu);
  compare_opened_action_ = menu->addAction(tr("The photo as &opened"));
  QAction* applied = menu->addAction(tr("The last &applied state"));
  const bool opened = QSettings().value(QStringLiteral("view/compare_with")).toString() != QLatin1String("applied");
  for (QAction* a : {compare_opened_action_, applied}) {
    a->setCheckable(true);
    group->addAction(a);
  }
  (opened ? compare_opened_action_ : applied)->setChecked(true);
  connect(group, &QActionGroup::triggered, this, [this](QAction* chosen) {
    QSettings().setValue(QStringLiteral("view/compare_with"),
                         chosen == compare_opened_action_ ? QStringLiteral("opened") : QStringLiteral("applied"));
    if (showing_original_) refreshCanvas();
  });
}

QImage MainWindow::compareReference() const {
  if (!compare_opened_action_->isChecked()) return document_->photo();
  const QImage& original = document_->original();
  // After a super-resolution the document is larger: the opened photo at its size keeps the view still.
  return original.size() == document_->size() ? original
                                              : original.scaled(document_->size(), Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
}

namespace {

bool isFieldKey(const QKeyEvent* key) {
  return (key->modifiers() == Qt::NoModifier || key->modifiers() == Qt::KeypadModifier) &&
         (key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter || key->key() == Qt::Key_Escape);
}

}  // namespace

void MainWindow::keepFieldKeys() {
  for (QWidget* field : findChildren<QAbstractSpinBox*>()) field->installEventFilter(this);
  for (QWidget* field : findChildren<QLineEdit*>())
    if (!qobject_cast<QAbstractSpinBox*>(field->parentWidget())) field->installEventFilter(this);
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event) {
  // A user typing a brush size and pressing Return applied the edit, and Escape discarded the
  // mask: the keys are Apply's and Discard's shortcuts, and a field does not claim them. Claimed
  // here (an accepted ShortcutOverride), they reach the field, which takes its value, and then the
  // canvas has the keyboard again, so the next Return applies.
  if (watched != canvas_ && (event->type() == QEvent::ShortcutOverride || event->type() == QEvent::KeyPress)) {
    auto* key = static_cast<QKeyEvent*>(event);
    if (isFieldKey(key)) {
      if (event->type() == QEvent::ShortcutOverride) {
        event->accept();
        return true;
      }
      QTimer::singleShot(0, canvas_, [canvas = canvas_] { canvas->setFocus(Qt::OtherFocusReason); });
      return false;
    }
  }
  // Hold backslash to see the photo as opened or as last applied, without preview, mask or strokes.
  if (watched == canvas_ && (event->type() == QEvent::KeyPress || event->type() == QEvent::KeyRelease)) {
    auto* key = static_cast<QKeyEvent*>(event);
    if (key->key() == Qt::Key_Backslash && !key->isAutoRepeat()) {
      showing_original_ = event->type() == QEvent::KeyPress;
      refreshCompared();
      // Which "before" this is: the two choices look alike right after opening.
      if (showing_original_)
        statusBar()->showMessage(compare_opened_action_->isChecked() ? tr("Showing the photo as opened (View › Compare with)")
                                                                     : tr("Showing the last applied state (View › Compare with)"));
      else
        statusBar()->clearMessage();
      return true;
    }
  }
  return QMainWindow::eventFilter(watched, event);
}

}  // namespace cm::ui
