// MainWindow's files: open (asking before losing work), drag and drop, recent files, export, autosave.
#include "ui/main_window.h"

#include "cmedit/build_config.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "ui/canvas.h"
#include "ui/document.h"
#include "ui/export_options.h"
#include "ui/photo_file.h"
#include "ui/edit_controller.h"
#include "ui/edit_toolbar.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include <QAction>
#include <QActionGroup>
#include <QColorDialog>
#include <QCloseEvent>
#include <QComboBox>
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

bool MainWindow::confirmLosingChanges() {
  // Masks, sketches and hints are not work to export: only a photo that differs from its file is.
  if (document_->isEmpty() || !document_->photoModified()) return true;
  const QString question = tr("%1 has changes that are not exported. Export them first?").arg(QFileInfo(current_path_).fileName());
  QMessageBox::StandardButton answer = QMessageBox::Cancel;
  if (unsaved_prompt_) {
    answer = unsaved_prompt_(question);
  } else {
    // The buttons answer the question in its words: the editor exports, it has no Save.
    QMessageBox box(QMessageBox::Question, tr("Changes not exported"), question,
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
    box.button(QMessageBox::Save)->setText(tr("Export…"));
    box.button(QMessageBox::Discard)->setText(tr("Don't export"));
    box.setDefaultButton(QMessageBox::Save);
    answer = QMessageBox::StandardButton(box.exec());
  }
  if (answer == QMessageBox::Discard) return true;
  if (answer == QMessageBox::Save) {
    chooseAndExport();
    return !document_->photoModified();  // false when the export was cancelled or failed
  }
  return false;
}

void MainWindow::warn(const QString& title, const QString& text) {
  if (warning_sink_) warning_sink_(title, text);
  else QMessageBox::warning(this, title, text);
}

bool MainWindow::openFromCommandLine(const QString& path) {
  if (openImage(path)) return true;
  // After the window is up, so the dialog has a parent to sit on.
  QTimer::singleShot(0, this, [this, error = last_error_] { warn(tr("Cannot open photo"), error); });
  return false;
}

void MainWindow::openAsking(const QString& path) {
  if (confirmLosingChanges() && !openImage(path)) warn(tr("Cannot open photo"), last_error_);
}

void MainWindow::showEngineReady() {
  const EngineStatus status = controller_->status();
  if (!status.model.isEmpty()) engine_info_->setText(tr("%1 on %2").arg(status.model, status.device));
}

bool MainWindow::requestOpen(const QString& path) {
  if (!confirmLosingChanges()) {
    last_error_ = tr("kept %1: its changes are not exported").arg(QFileInfo(current_path_).fileName());
    statusBar()->showMessage(last_error_, 5000);
    return false;
  }
  return openImage(path);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (!confirmLosingChanges()) {
    event->ignore();
    return;
  }
  discardAutosave();  // closed on purpose: nothing to offer back
  QSettings settings;
  settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
  settings.setValue(QStringLiteral("brush/diameter"), brush_diameter_);
  event->accept();
}

// Only a file on this machine is taken: a web link would be refused at the drop, with no word.
void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  for (const QUrl& url : event->mimeData()->urls())
    if (url.isLocalFile()) return event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  for (const QUrl& url : event->mimeData()->urls())
    if (url.isLocalFile()) {
      event->acceptProposedAction();
      // File › Open's way (the unexported-work question, a failure shown), once the drop is over:
      // a question inside the drop would keep the file manager waiting for its answer.
      QTimer::singleShot(0, this, [this, path = url.toLocalFile()] { openAsking(path); });
      return;
    }
}

void MainWindow::rememberRecent(const QString& path) {
  QSettings settings;
  QStringList recent = settings.value(QStringLiteral("files/recent")).toStringList();
  recent.removeAll(path);
  recent.prepend(path);
  while (recent.size() > 8) recent.removeLast();
  settings.setValue(QStringLiteral("files/recent"), recent);
  settings.setValue(QStringLiteral("files/last_folder"), QFileInfo(path).absolutePath());
  rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
  if (!recent_menu_) return;
  recent_menu_->clear();
  const QStringList recent = QSettings().value(QStringLiteral("files/recent")).toStringList();
  for (const QString& path : recent)
    recent_menu_->addAction(QFileInfo(path).fileName(), this, [this, path] {
      openAsking(path);
    })->setToolTip(path);
  recent_menu_->setEnabled(!recent.isEmpty());
}

MainWindow::~MainWindow() { waitForAutosave(); }  // its report is for this window

bool MainWindow::openImage(const QString& path) {
  try {
    const OpenedPhoto photo = readPhoto(path);
    document_->reset(photo.pixels, photo.bit_depth, path);
    opened_photo_version_ = document_->photoVersion();
    autosaved_photo_.reset(AutosavedPhoto::Base::File);  // what an autosave's parts go over
    has_alpha_ = photo.alpha;
    photo_metadata_ = photo.metadata;
    photo_format_ = photo.format;
    current_path_ = path;
    last_error_.clear();
    setWindowTitle(QFileInfo(path).fileName() + QStringLiteral("[*] — cmedit"));  // [*]: unexported changes
    setWindowModified(false);
    updateImageInfo();
    statusBar()->showMessage(photo_format_.startsWith(QLatin1String("RAW"))
                                 ? tr("Opened %1: %2, developed as shot (its white balance, no automatic brightening)").arg(path, photo_format_)
                                 : tr("Opened %1").arg(path),
                             5000);
    if (document_->photoIsGrey()) {  // what a grey photo is most likely opened for
      setTool(Tool::HintBrush);
      statusBar()->showMessage(tr("A grey photo: Colorize is chosen. Paint a colour hint in each part you know the colour of (it spreads up to the part's edges), or apply as it is."), 8000);
    } else if (edit_bar_->kind() == edit::EditKind::Colorize) {  // chosen for a grey photo before: it has nothing to do here
      setTool(Tool::MaskBrush);
      statusBar()->showMessage(tr("A colour photo: the Mask brush (Inpaint) is chosen again."), 8000);
    }
    rememberRecent(QFileInfo(path).absoluteFilePath());
    spdlog::info("opened {} ({})", path.toStdString(), photo.summary.toStdString());
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

void MainWindow::loadModel(const QString& path) {
  engine_info_->setText(tr("loading %1…").arg(QFileInfo(path).fileName()));
  controller_->loadModel(path);
}

bool MainWindow::exportTo(const QString& path, int jpeg_quality, int bit_depth, bool strip_metadata, bool as_srgb) {
  if (document_->isEmpty()) {
    last_error_ = tr("nothing to export: open a photo first");
    return false;
  }
  try {
    PhotoWrite how;
    how.alpha = has_alpha_;
    how.strip_metadata = strip_metadata;
    how.as_srgb = as_srgb;
    how.bit_depth = bit_depth > 0 ? bit_depth : document_->bitDepth();
    how.quality = jpeg_quality;
    QStringList history;  // what was done, for the file's metadata
    const QUndoStack* stack = document_->undoStack();
    for (int i = 0; i < stack->index(); ++i) history << stack->text(i);
    how.description = QStringLiteral("cmedit %1: %2").arg(QStringLiteral(CMEDIT_VERSION), history.join(QStringLiteral("; ")));
    writePhoto(path, document_->photo(), photo_metadata_, how);
    document_->undoStack()->setClean();  // what is on disk now matches the document
    document_->markPhotoSaved();
    discardAutosave();
    statusBar()->showMessage(tr("Exported %1").arg(path), 5000);
    return true;
  } catch (const std::exception& e) {
    last_error_ = QString::fromStdString(e.what());
    statusBar()->showMessage(last_error_);
    return false;
  }
}

void MainWindow::chooseAndOpenImage() {
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Open photo"), QSettings().value(QStringLiteral("files/last_folder")).toString(),
      tr("Images (%1);;All files (*)").arg(readablePhotoPatterns()));
  if (!path.isEmpty()) openAsking(path);
}

void MainWindow::chooseAndLoadModel() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open model"), QString(),
                                                    tr("Models (model.json *.safetensors *.pt);;All files (*)"));
  if (path.isEmpty()) return;
  QSettings().setValue(QStringLiteral("model/path"), path);
  loadModel(path);
}

void MainWindow::chooseAndExport() {
  // QFileDialog asks before replacing an existing file.
  // Suggests NAME-edited.EXT beside the photo: never the photo itself, never a blank name.
  // The file-type filter is the suggested name's type, and choosing another type renames the
  // suggestion: the name and the filter never say two different things.
  const QFileInfo photo(current_path_);
  const QString base = photo.absoluteDir().filePath(photo.completeBaseName() + QStringLiteral("-edited."));
  const ExportFileType type = exportFileTypeFor(photo.suffix(), photo_format_.startsWith(QLatin1String("RAW")));
  QFileDialog dialog(this, tr("Export"));
  dialog.setAcceptMode(QFileDialog::AcceptSave);
  dialog.setNameFilters(exportFileTypes());
  dialog.selectNameFilter(type.filter);
  dialog.setDefaultSuffix(type.suffix);
  dialog.selectFile(base + type.suffix);
  connect(&dialog, &QFileDialog::filterSelected, &dialog, [&](const QString& chosen) {
    dialog.setDefaultSuffix(exportSuffixOf(chosen));
    dialog.selectFile(base + exportSuffixOf(chosen));
  });
  if (dialog.exec() != QDialog::Accepted || dialog.selectedFiles().isEmpty()) return;
  const QString path = dialog.selectedFiles().front();
  const ExportContext context{QFileInfo(path).suffix().toLower(), document_->bitDepth(),
                              !photo_metadata_.exif.empty() || !photo_metadata_.xmp.empty() || !photo_metadata_.iptc.empty(),
                              photo_metadata_.icc.empty() ? QString() : QString::fromStdString(imageio::colour_profile_name(photo_metadata_))};
  const std::optional<ExportChoices> choices = askExportChoices(this, context);
  if (!choices) return;
  if (!exportTo(path, choices->quality, choices->bit_depth, choices->strip_metadata, choices->as_srgb))
    warn(tr("Cannot export"), last_error_);
}

}  // namespace cm::ui
