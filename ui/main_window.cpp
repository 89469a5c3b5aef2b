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
#include <QDoubleSpinBox>
#include <QFileDialog>
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

namespace cm::ui {

QStringList buildComponentLines() {
  std::vector<Component> parts = base_components();
  parts.push_back(engine::torch_component());
  for (Component& c : imageio::imageio_components()) parts.push_back(std::move(c));
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
  // The parts (main_window_setup.cpp, main_window_panels.cpp), then their connections.
  buildStatusBar();
  buildMenus();
  buildToolbar();
  buildBrushDock();
  buildVariationsDock();
  buildHistoryDock();
  connectDocument();
  connectCanvas();
  connectWorkStatus();
  connectController();
  keepFieldKeys();
  startOverlayTimer();
  startAutosave();
  setAcceptDrops(true);
  statusBar()->showMessage(tr("Open a photo with File ▸ Open (Ctrl+O)"));
  // What the last session saved.
  restoreBrush();
  configureSavedEngine();
  loadStartupModel();
  updateBrush();
  restoreWindow();
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
        statusBar()->showMessage(tr("Applying when the refined result is ready… (Esc: discard)"));
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
  if (noise_box_) p.settings["sigma"] = noise_box_->value();
  p.selection = selection_;
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
