#include "ui/main_window.h"

#include "cmedit/build_config.h"
#include "core/base/build_info.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/engine/device.h"
#include "core/imageio/image_file.h"
#include "core/model/model_loader.h"
#include "ui/canvas.h"
#include "ui/document.h"
#include "ui/edit_controller.h"
#include "ui/edit_toolbar.h"
#include "ui/tensor_image.h"

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

QStringList buildComponentLines() {
  std::vector<Component> parts = base_components();
  parts.push_back(engine::torch_component());
  parts.push_back(imageio::opencv_component());
  return QString::fromStdString(format_components(parts)).split('\n', Qt::SkipEmptyParts);
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(QStringLiteral("cmedit"));
  document_ = new Document(this);
  controller_ = new EditController(document_, this);
  controller_->setLivePreview(true);
  canvas_ = new Canvas(this);
  canvas_->setOverlayInfo(buildComponentLines());
  setCentralWidget(canvas_);
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
  cancel_soon_ = new QTimer(this);
  cancel_soon_->setSingleShot(true);
  cancel_soon_->setInterval(500);
  connect(cancel_soon_, &QTimer::timeout, cancel_button_, &QWidget::show);
  buildMenus();
  buildToolbar();

  buildBrushDock();
  buildVariationsDock();
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

  connect(document_, &Document::changed, this, [this](Layer layer) {
    refreshCanvas();
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
    controller_->requestProvisionalPreview(layer, document_->withStroke(layer, provisional_stroke_, brush));
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
  connectWorkStatus();
  connect(controller_, &EditController::failed, this, [this](const QString& message) {
    last_error_ = message;
    statusBar()->showMessage(message);
  });
  connect(controller_, &EditController::modelLoaded, this, [this](const QString& name) {
    engine_info_->setText(tr("%1 on %2").arg(name, controller_->status().device));
    statusBar()->showMessage(tr("Model %1 ready").arg(name), 5000);
    controller_->requestPreview();
  });
  connect(controller_, &EditController::progress, this, [this] {
    step_ms_.push_back(float(controller_->status().last_step_ms));
    if (step_ms_.size() > 120) step_ms_.remove(0, step_ms_.size() - 120);
  });
  connect(controller_, &EditController::failed, this, [this](const QString& m) { last_engine_error_ = m; });
  auto* overlay_timer = new QTimer(this);
  overlay_timer->setInterval(250);
  connect(overlay_timer, &QTimer::timeout, this, &MainWindow::updateOverlayStatus);
  overlay_timer->start();
  canvas_->installEventFilter(this);
  canvas_->setEmptyHint(tr("Open a photo (%1) or drop one here").arg(QKeySequence(QKeySequence::Open).toString(QKeySequence::NativeText)));
  // Autosave a few seconds after the last change (a pause in the work), and at least every
  // minute while changes keep coming.
  autosave_soon_ = new QTimer(this);
  autosave_soon_->setSingleShot(true);
  autosave_soon_->setInterval(5 * 1000);
  connect(autosave_soon_, &QTimer::timeout, this, [this] { autosaveNow(); });
  connect(document_, &Document::changed, autosave_soon_, qOverload<>(&QTimer::start));
  auto* autosave_timer = new QTimer(this);
  autosave_timer->setInterval(60 * 1000);
  connect(autosave_timer, &QTimer::timeout, this, [this] { autosaveNow(); });
  autosave_timer->start();
  setAcceptDrops(true);

  statusBar()->showMessage(tr("Open a photo with File ▸ Open (Ctrl+O)"));
  QSettings settings;
  brush_diameter_ = settings.value(QStringLiteral("brush/diameter"), brush_diameter_).toDouble();
  QString engine_error;
  const QString device = settings.value(QStringLiteral("engine/device"), QStringLiteral("auto")).toString();
  const QString precision = settings.value(QStringLiteral("engine/precision"), QStringLiteral("auto")).toString();
  if ((device != QLatin1String("auto") || precision != QLatin1String("auto")) &&
      !controller_->configureEngine(device, precision, &engine_error))
    spdlog::warn("saved device {} / precision {} not usable: {}", device.toStdString(), precision.toStdString(),
                 engine_error.toStdString());
  const QString saved_model = settings.value(QStringLiteral("model/path")).toString();
  try {
    loadModel(!saved_model.isEmpty() && QFileInfo::exists(saved_model) ? saved_model
                                                                          : QString::fromStdString(model::builtin_model_path().string()));
  } catch (const Error& e) {
    engine_info_->setText(tr("no model: File ▸ Open model…"));
    spdlog::info("{}", e.what());
  }
  updateBrush();
  resize(1200, 800);
  restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
}

void MainWindow::updateOverlayStatus() {
  // The zoom, as the share of the photo's pixels per screen pixel.
  zoom_info_->setText(document_->isEmpty() ? QString() : tr("%1 %").arg(std::lround(canvas_->zoom() * canvas_->devicePixelRatioF() * 100)));
  if (!canvas_->overlayVisible()) return;
  const EngineStatus s = controller_->status();
  QStringList lines{tr("model %1 on %2").arg(s.model.isEmpty() ? tr("(none)") : s.model, s.device),
                    tr("queue %1%2, last step %3 ms, preview %4 ms")
                        .arg(s.queue_depth)
                        .arg(s.busy ? tr(" (busy)") : QString())
                        .arg(s.last_step_ms, 0, 'f', 1)
                        .arg(controller_->lastLatencyMs(), 0, 'f', 0),
                    tr("memory %1 MB").arg(s.memory_bytes >= 0 ? QString::number(s.memory_bytes / (1 << 20)) : tr("?"))};
  if (!last_engine_error_.isEmpty()) lines << tr("last error: %1").arg(last_engine_error_);
  canvas_->setOverlayStatus(lines, step_ms_);
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open = file->addAction(tr("&Open…"), this, &MainWindow::chooseAndOpenImage);
  open->setShortcut(QKeySequence::Open);
  recent_menu_ = file->addMenu(tr("Open &recent"));
  rebuildRecentMenu();
  export_action_ = file->addAction(tr("&Export…"), this, &MainWindow::chooseAndExport);
  export_action_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
  export_action_->setEnabled(false);  // until a photo is open
  QMenu* models = file->addMenu(tr("&Model"));
  for (const auto& folder : model::installed_models()) {
    const QString path = QString::fromStdString(folder.string());
    models->addAction(QString::fromStdString(folder.filename().string()), this, [this, path] {
      QSettings().setValue(QStringLiteral("model/path"), path);
      loadModel(path);
    })->setToolTip(path);
  }
  if (!models->isEmpty()) models->addSeparator();
  models->addAction(tr("Open a model or official checkpoint…"), this, &MainWindow::chooseAndLoadModel);
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* editMenu = menuBar()->addMenu(tr("&Edit"));
  undo_action_ = document_->undoStack()->createUndoAction(this, tr("&Undo"));
  undo_action_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Z));
  redo_action_ = document_->undoStack()->createRedoAction(this, tr("&Redo"));
  redo_action_->setShortcuts({QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence(Qt::CTRL | Qt::Key_Y)});
  editMenu->addAction(undo_action_);
  editMenu->addAction(redo_action_);
  // A preview shows an edit of the document as it was: after an undo or a redo it is stale at
  // once. The live preview (on the document's change) brings the current state's own.
  for (QAction* a : {undo_action_, redo_action_}) connect(a, &QAction::triggered, controller_, &EditController::discardPreview);
  editMenu->addSeparator();
  // Apply commits the refined result (Steps evaluations), never the live preview's one-step
  // draft: while the refinement is still coming, it is applied when it arrives.
  apply_action_ = editMenu->addAction(tr("&Apply preview"), this, [this] {
    switch (controller_->requestApply()) {
      case EditController::ApplyOutcome::Applied: break;
      case EditController::ApplyOutcome::WhenReady:
        statusBar()->showMessage(tr("Applying when the %1-step result is ready… (Esc: discard)").arg(controller_->parameters().refine_steps));
        break;
      case EditController::ApplyOutcome::Nothing: statusBar()->showMessage(tr("Nothing to apply yet"), 3000); break;
    }
  });
  connect(controller_, &EditController::applyPendingChanged, this, [this](bool pending) {
    if (!pending && statusBar()->currentMessage().startsWith(tr("Applying when"))) statusBar()->clearMessage();
  });
  connect(controller_, &EditController::applied, this, [this] {
    const QUndoStack* stack = document_->undoStack();
    statusBar()->showMessage(tr("Applied: %1").arg(stack->text(stack->index() - 1)), 4000);
  });
  apply_action_->setShortcut(QKeySequence(Qt::Key_Return));
  discard_action_ = editMenu->addAction(tr("&Discard edit"), controller_, &EditController::discardEdit);
  discard_action_->setToolTip(tr("Drop the preview and the mask, sketch or hints it came from (undoable)"));
  discard_action_->setShortcut(QKeySequence(Qt::Key_Escape));
  editMenu->addSeparator();
  editMenu->addAction(tr("Clear mask"), this, [this] { document_->clearLayer(Layer::Mask); });
  editMenu->addAction(tr("Invert mask"), this, [this] { document_->invertMask(); })->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
  editMenu->addAction(tr("Clear sketch"), this, [this] { document_->clearLayer(Layer::Strokes); });
  editMenu->addAction(tr("Clear colour hints"), this, [this] { document_->clearLayer(Layer::Hints); });

  QMenu* view = menuBar()->addMenu(tr("&View"));
  view->addAction(tr("&Fit"), canvas_, &Canvas::fit)->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
  view->addAction(tr("Zoom &in"), this, [this] {
    canvas_->setZoom(canvas_->zoom() * 1.25, QPointF(canvas_->width() / 2.0, canvas_->height() / 2.0));
  })->setShortcuts({QKeySequence::ZoomIn, QKeySequence(Qt::CTRL | Qt::Key_Equal)});
  view->addAction(tr("Zoom &out"), this, [this] {
    canvas_->setZoom(canvas_->zoom() / 1.25, QPointF(canvas_->width() / 2.0, canvas_->height() / 2.0));
  })->setShortcut(QKeySequence::ZoomOut);
  view->addAction(tr("&Actual pixels"), this, [this] {
    canvas_->setZoom(1.0 / canvas_->devicePixelRatioF(), QPointF(canvas_->width() / 2.0, canvas_->height() / 2.0));
  })->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_1));
  // The inputs painted for the edit (mask, sketch, hints): hidden, the preview shows bare.
  mask_action_ = view->addAction(tr("Show &mask, sketch and hints"));
  mask_action_->setCheckable(true);
  mask_action_->setChecked(true);
  mask_action_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
  connect(mask_action_, &QAction::toggled, this, [this] { refreshCanvas(); });
  buildCompareMenu(view);
  overlay_action_ = view->addAction(tr("&Debug overlay"));
  overlay_action_->setCheckable(true);
  overlay_action_->setShortcut(Qt::Key_F12);
  connect(overlay_action_, &QAction::toggled, canvas_, &Canvas::setOverlayVisible);
  connect(canvas_, &Canvas::overlayVisibilityChanged, overlay_action_, &QAction::setChecked);

  QMenu* settings_menu = menuBar()->addMenu(tr("&Settings"));
  const auto addChoices = [&](const QString& title, const QStringList& values, const QString& key) {
    QMenu* menu = settings_menu->addMenu(title);
    auto* group = new QActionGroup(menu);
    const QString current = QSettings().value(key, QStringLiteral("auto")).toString();
    for (const QString& value : values) {
      QAction* a = menu->addAction(value);
      a->setCheckable(true);
      a->setChecked(value == current);
      group->addAction(a);
      connect(a, &QAction::triggered, this, [this, key, value, group] {
        QSettings settings;
        const QString before = settings.value(key, QStringLiteral("auto")).toString();
        settings.setValue(key, value);
        QString why;
        if (!controller_->configureEngine(settings.value(QStringLiteral("engine/device"), QStringLiteral("auto")).toString(),
                                          settings.value(QStringLiteral("engine/precision"), QStringLiteral("auto")).toString(),
                                          &why)) {
          settings.setValue(key, before);
          for (QAction* other : group->actions()) other->setChecked(other->text() == before);  // the menu shows what runs
          warn(tr("Cannot use this setting"), tr("%1.\n\ncmedit keeps running on %2.").arg(why, controller_->status().device));
        }
      });
    }
  };
  addChoices(tr("&Device"), {QStringLiteral("auto"), QStringLiteral("cpu"), QStringLiteral("cuda")}, QStringLiteral("engine/device"));
  addChoices(tr("&Precision"), {QStringLiteral("auto"), QStringLiteral("fp32"), QStringLiteral("fp16"), QStringLiteral("bf16")},
             QStringLiteral("engine/precision"));

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&Keyboard shortcuts"), this, [this] { QMessageBox::information(this, tr("Keyboard shortcuts"), shortcutList()); });
  help->addAction(tr("&Documentation"), this, [] { QDesktopServices::openUrl(QUrl(QStringLiteral(CMEDIT_HOMEPAGE))); });
  help->addAction(tr("&About cmedit"), this, &MainWindow::showAbout);
}

int MainWindow::seed() const { return edit_bar_->seed(); }
QSlider* MainWindow::blendSlider() const { return edit_bar_->blendSlider(); }

void MainWindow::pushParameters() {
  EditParameters p = controller_->parameters();
  edit_bar_->fill(p);
  // The editor's visual feather (the CLI's default is none: the mask as painted).
  if (grow_box_) p.settings["grow"] = grow_box_->value();
  if (feather_box_) p.settings["feather"] = feather_box_->value();
  if (fill_box_) p.settings["fill"] = fill_box_->currentData().toInt();
  p.region = selection_;
  controller_->setParameters(p);
}

QString MainWindow::shortcutList() const {
  // From the actions themselves, so the list cannot drift from what the keys do.
  QStringList lines;
  for (const QAction* a : findChildren<QAction*>()) {
    if (a->shortcuts().isEmpty()) continue;
    QStringList keys;
    for (const QKeySequence& k : a->shortcuts()) keys << k.toString(QKeySequence::NativeText);
    QString name = a->text().isEmpty() ? a->toolTip() : a->text();
    name.remove(QLatin1Char('&'));
    lines << QStringLiteral("%1\t%2").arg(keys.join(QStringLiteral(", ")), name);
  }
  lines.sort();
  lines << tr("Ctrl+click\teyedropper") << tr("Space+drag, middle drag\tpan") << tr("Wheel\tzoom about the cursor")
        << tr("\\ (hold)\tcompare: the photo as opened, or as last applied (View › Compare with)");
  return lines.join(QLatin1Char('\n'));
}

void MainWindow::showAbout() {
  QMessageBox::about(this, tr("About cmedit"),
                     tr("<b>cmedit</b> edits photos with consistency models.<pre>%1</pre>")
                         .arg(buildComponentLines().join('\n').toHtmlEscaped()));
}

}  // namespace cm::ui
