// MainWindow's construction, one job per function: the status bar, the history dock, the
// connections of the document, the canvas and the controller, the overlay and autosave timers, and
// what the last session saved (brush, engine, model, window). The constructor (main_window.cpp)
// calls them in order; the menus, toolbars and other docks are main_window.cpp's and
// main_window_panels.cpp's.
#include "ui/main_window.h"

#include "core/base/error.h"
#include "core/model/model_loader.h"
#include "ui/canvas.h"
#include "ui/document.h"
#include "ui/edit_controller.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include <QDockWidget>
#include <QFileInfo>
#include <QKeySequence>
#include <QLabel>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QToolButton>
#include <QUndoStack>
#include <QUndoView>

namespace cm::ui {

// The permanent fields (engine, zoom, photo) and the Cancel button that shows once work lasts 0.5 s.
void MainWindow::buildStatusBar() {
  image_info_ = new QLabel(this);
  engine_info_ = new QLabel(tr("no model"), this);
  statusBar()->addPermanentWidget(engine_info_);
  zoom_info_ = new QLabel(this);
  statusBar()->addPermanentWidget(zoom_info_);
  statusBar()->addPermanentWidget(image_info_);
  cancel_button_ = new QToolButton(this);
  cancel_button_->setText(tr("Cancel"));
  cancel_button_->setToolTip(tr("Stop the edits that are running"));
  cancel_button_->hide();
  statusBar()->addPermanentWidget(cancel_button_);
  connect(cancel_button_, &QToolButton::clicked, this, [this] {
    controller_->cancelJobs();
    statusBar()->showMessage(tr("Cancelled"), 3000);
  });
  export_info_ = new QLabel(this);
  export_info_->hide();
  statusBar()->addPermanentWidget(export_info_);
  export_watch_ = new QTimer(this);
  export_watch_->setInterval(100);
  connect(export_watch_, &QTimer::timeout, this, &MainWindow::watchExport);
  cancel_soon_ = new QTimer(this);
  cancel_soon_->setSingleShot(true);
  cancel_soon_->setInterval(500);
  connect(cancel_soon_, &QTimer::timeout, cancel_button_, &QWidget::show);
}

void MainWindow::buildHistoryDock() {
  auto* history = new QDockWidget(tr("History"), this);
  history->setObjectName(QStringLiteral("history"));
  auto* history_view = new QUndoView(document_->undoStack(), history);
  // An applied edit's entry names its settings ("Apply inpaint (seed 0, 3 steps, strength 49 %)"):
  // wrapped in the narrow dock instead of cut off behind a scroll bar.
  history_view->setWordWrap(true);
  history_view->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  history_view->setResizeMode(QListView::Adjust);
  history->setWidget(history_view);
  addDockWidget(Qt::RightDockWidgetArea, history);
}

void MainWindow::connectDocument() {
  connect(document_, &Document::changed, this, [this](Layer layer, QRect area) {
    refreshCanvas(area);
    if (layer == Layer::Photo) updateImageInfo();  // an applied colorization is no longer grey
  });
  // The title's "*": the photo differs from the file (painting and discarding a mask does not count).
  connect(document_, &Document::photoModifiedChanged, this, &QWidget::setWindowModified);
  connect(document_, &Document::documentReset, this, [this] {
    controller_->discardPreview();  // of the photo that was there
    updateImageInfo();  // a new photo, or the size an applied super-resolution made
    export_action_->setEnabled(!document_->isEmpty());
    showEngineReady();  // not the last photo's preview time
    selection_ = QRect();
    canvas_->setSelection(selection_);
    pushParameters();
    canvas_->fit();
    refreshCanvas();
  });
}

// Strokes (committed and while the button is down), the eyedropper, the selection, and the canvas's
// keys and empty hint.
void MainWindow::connectCanvas() {
  connect(canvas_, &Canvas::strokeFinished, this, &MainWindow::onStroke);
  // A preview follows the brush while it is down: the stroke so far, at most every kProvisionalMs (the
  // engine drops a preview that a newer one supersedes), one step; release commits the stroke
  // and the usual preview and refinement follow.
  provisional_timer_ = new QTimer(this);
  provisional_timer_->setSingleShot(true);
  provisional_timer_->setInterval(kProvisionalMs);
  connect(canvas_, &Canvas::strokeMoved, this, [this](const QVector<QPointF>& points) {
    if (provisional_stroke_.isEmpty()) revealMaskBeingPainted();  // the stroke's first move
    provisional_stroke_ = points;
    if (!points.isEmpty()) controller_->setBrushPosition(points.back());
    if (!provisional_timer_->isActive()) provisional_timer_->start();
  });
  connect(provisional_timer_, &QTimer::timeout, this, [this] {
    if (document_->isEmpty() || provisional_stroke_.isEmpty() || !controller_->livePreview()) return;
    Layer layer;
    const Brush brush = currentBrush(&layer);
    QRect ink;
    const QImage provisional = document_->withStroke(layer, provisional_stroke_, brush, &ink);
    controller_->requestProvisionalPreview(layer, provisional, ink);
  });
  connect(canvas_, &Canvas::colorPicked, this, [this](const QPointF& p) {
    const QPoint at(int(std::floor(p.x())), int(std::floor(p.y())));  // pixel (x, y) covers [x, x+1)
    if (document_->isEmpty() || !document_->photo().rect().contains(at)) return;
    // What is on screen: the preview where one of the photo's size is shown.
    const bool preview = controller_->hasPreview() && controller_->preview().size() == document_->size() && !showing_original_;
    foreground_ = (showing_original_ ? compareReference() : preview ? controller_->preview() : document_->photo()).pixelColor(at);
    foreground_.setAlpha(255);
    updateBrush();
    statusBar()->showMessage(tr("Colour %1 picked").arg(foreground_.name()), 3000);
  });
  connect(canvas_, &Canvas::selectionFinished, this, [this](const QRect& r) {
    selection_ = r.width() >= 2 && r.height() >= 2 ? r : QRect();  // a click clears it
    canvas_->setSelection(selection_);
    pushParameters();
    // Then the refined one, so what Apply commits has the Steps it says (not the 1-step preview).
    if (controller_->parameters().kind == edit::EditKind::SuperResolve) controller_->requestLivePreview();
  });
  canvas_->installEventFilter(this);
  controller_->setViewCentreSource([this] { return canvas_->widgetToImage(QPointF(canvas_->width() / 2.0, canvas_->height() / 2.0)); });
  canvas_->setEmptyHint(tr("Open a photo (%1) or drop one here").arg(QKeySequence(QKeySequence::Open).toString(QKeySequence::NativeText)));
}

// The draft, and for a colorization its refinement after it, as after a stroke: a grey photo
// opened is colorized whole at its own pixels in seconds (12 MP: 1.2 s for the refinement on 2
// cores), and without it the canvas showed the one-step draft (a pink cloud in a grey sky) while
// Apply committed the refinement, which the user had not seen. A whole-photo denoise takes
// minutes: it waits for the hand to rest on a mask or a setting, as before.
void MainWindow::requestPreviewOfChoice() {
  if (controller_->parameters().kind == edit::EditKind::Colorize) controller_->requestLivePreview();
  else controller_->requestPreview();
}

// The engine's failures, loaded models and step times (the work status is connectWorkStatus's).
void MainWindow::connectController() {
  // One connection, two fields: lastError() for the caller, the overlay's "last error".
  connect(controller_, &EditController::failed, this, [this](const QString& message) {
    last_error_ = message;
    last_engine_error_ = message;
    statusBar()->showMessage(message);
  });
  connect(controller_, &EditController::modelLoaded, this, [this](const QString& name) {
    engine_info_->setText(tr("%1 on %2").arg(name, controller_->status().device));
    statusBar()->showMessage(tr("Model %1 ready").arg(name), 5000);
    requestPreviewOfChoice();
  });
  connect(controller_, &EditController::progress, this, [this] {
    step_ms_.push_back(float(controller_->status().last_step_ms));
    if (step_ms_.size() > 120) step_ms_.remove(0, step_ms_.size() - 120);
  });
}

void MainWindow::startOverlayTimer() {
  auto* overlay_timer = new QTimer(this);
  overlay_timer->setInterval(250);
  connect(overlay_timer, &QTimer::timeout, this, &MainWindow::updateOverlayStatus);
  overlay_timer->start();
}

void MainWindow::startAutosave() {
  // Autosave a few seconds after the last change (a pause in the work), and at least every
  // minute while changes keep coming.
  autosave_soon_ = new QTimer(this);
  autosave_soon_->setSingleShot(true);
  autosave_soon_->setInterval(5 * 1000);
  connect(autosave_soon_, &QTimer::timeout, this, [this] { autosaveInBackground(); });
  connect(document_, &Document::changed, autosave_soon_, qOverload<>(&QTimer::start));
  // What the next autosave writes of the photo: where it changed (an Apply's box), or all of a new one.
  connect(document_, &Document::changed, this, [this](Layer layer, QRect area) {
    if (layer == Layer::Photo) autosaved_photo_.changed(area);
  });
  connect(document_, &Document::documentReset, this, [this] { autosaved_photo_.reset(AutosavedPhoto::Base::None); });
  auto* autosave_timer = new QTimer(this);
  autosave_timer->setInterval(60 * 1000);
  connect(autosave_timer, &QTimer::timeout, this, [this] { autosaveInBackground(); });
  autosave_timer->start();
}

void MainWindow::restoreBrush() {
  brush_diameter_ = QSettings().value(QStringLiteral("brush/diameter"), brush_diameter_).toDouble();
}

// The device and precision the user chose last time, when not "auto" and still usable.
void MainWindow::configureSavedEngine() {
  QSettings settings;
  QString engine_error;
  const QString device = settings.value(QStringLiteral("engine/device"), QStringLiteral("auto")).toString();
  const QString precision = settings.value(QStringLiteral("engine/precision"), QStringLiteral("auto")).toString();
  if ((device != QLatin1String("auto") || precision != QLatin1String("auto")) &&
      !controller_->configureEngine(device, precision, &engine_error))
    spdlog::warn("saved device {} / precision {} not usable: {}", device.toStdString(), precision.toStdString(),
                 engine_error.toStdString());
}

// The model the user chose last time, or the built-in one.
void MainWindow::loadStartupModel() {
  const QSettings settings;
  const QString saved_model = settings.value(QStringLiteral("model/path")).toString();
  try {
    loadModel(!saved_model.isEmpty() && QFileInfo::exists(saved_model) ? saved_model
                                                                          : QString::fromStdString(model::builtin_model_path().string()));
  } catch (const Error& e) {
    engine_info_->setText(tr("no model: File ▸ Open model…"));
    spdlog::info("{}", e.what());
  }
}

void MainWindow::restoreWindow() {
  resize(1200, 800);
  restoreGeometry(QSettings().value(QStringLiteral("window/geometry")).toByteArray());
}

}  // namespace cm::ui
