// MainWindow's files: open (read on another thread, asking before losing work), drag and drop, recent files.
#include "ui/main_window.h"

#include "core/base/error.h"
#include "ui/canvas.h"
#include "ui/document.h"
#include "ui/edit_toolbar.h"
#include "ui/file_wait.h"
#include "ui/photo_file.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <utility>

#include <QCloseEvent>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QUrl>

namespace cm::ui {

bool MainWindow::confirmLosingChanges() {
  waitForExport();  // its end may be the answer: the photo exported
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
    // Written before the answer counts: what follows (another photo, closing) replaces this one.
    const std::optional<ExportTarget> target = chooseExport();
    if (!target) return false;
    const ExportChoices& c = target->choices;
    if (!exportTo(target->path, c.quality, c.bit_depth, c.strip_metadata, c.as_srgb)) {
      warn(tr("Cannot export"), last_error_);
      return false;
    }
    return !document_->photoModified();
  }
  return false;
}

void MainWindow::warn(const QString& title, const QString& text) {
  if (warning_sink_) warning_sink_(title, text);
  else QMessageBox::warning(this, title, text);
}

bool MainWindow::openFromCommandLine(const QString& path) {
  const Opened opened = open(path);
  if (opened != Opened::Failed) return opened == Opened::Yes;
  // After the window is up, so the dialog has a parent to sit on.
  QTimer::singleShot(0, this, [this, error = last_error_] { warn(tr("Cannot open photo"), error); });
  return false;
}

void MainWindow::openAsking(const QString& path) {
  if (confirmLosingChanges() && open(path) == Opened::Failed) warn(tr("Cannot open photo"), last_error_);
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
  if (!reading_.isEmpty()) {  // the open in progress has the window's state in its hands: closed after it
    close_after_read_ = true;
    event->ignore();
    return;
  }
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

MainWindow::~MainWindow() {
  waitForAutosave();  // its report is for this window
  if (export_) export_->writing.wait();  // a file half written is no file
}

bool MainWindow::openImage(const QString& path) { return open(path) == Opened::Yes; }

MainWindow::Opened MainWindow::open(const QString& path) {
  if (!reading_.isEmpty()) {  // asked for from within the wait (a timer, a queued drop): the first goes on
    last_error_ = tr("cannot open %1: %2 is being opened").arg(path, QFileInfo(reading_).fileName());
    return Opened::Failed;
  }
  try {
    abandoned_reads_.erase(std::remove_if(abandoned_reads_.begin(), abandoned_reads_.end(), [](const auto& f) { return is_ready(f); }),
                           abandoned_reads_.end());
    // Read on another thread (shared, so that a cancelled read has somewhere to put its photo).
    struct Read {
      OpenedPhoto photo;
      QImage picture;  // as the canvas shows it: made here, not on the UI thread (245 ms at 50 MP)
    };
    auto read = std::make_shared<Read>();
    std::future<void> reading = std::async(std::launch::async, [path, read] {
      read->photo = readPhoto(path);
      read->picture = read->photo.pixels.convertToFormat(QImage::Format_RGBA8888);
    });
    reading_ = path;
    const QString opening = tr("Opening %1…").arg(QFileInfo(path).fileName()), hint = canvas_->emptyHint();
    canvas_->setEmptyHint(opening);  // where no photo is shown yet
    const Waited waited = wait_drawing(this, reading, opening, /*cancellable=*/true);
    canvas_->setEmptyHint(hint);
    reading_.clear();
    if (close_after_read_) QTimer::singleShot(0, this, &QWidget::close);
    close_after_read_ = false;
    if (waited == Waited::Cancelled) {
      abandoned_reads_.push_back(std::move(reading));
      last_error_ = tr("Opening %1 cancelled").arg(QFileInfo(path).fileName());
      statusBar()->showMessage(last_error_, 5000);
      return Opened::Cancelled;
    }
    reading.get();  // the reading's failure, thrown here
    const OpenedPhoto& photo = read->photo;
    opened_picture_ = std::exchange(read->picture, QImage());  // for the reset's refreshCanvas
    opened_picture_of_ = photo.pixels.cacheKey();
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
    return Opened::Yes;
  } catch (const Error& e) {
    last_error_ = QString::fromStdString(e.what());
  } catch (const std::exception& e) {  // anything else (out of memory, …) is still only a failed open
    last_error_ = tr("cannot open %1: %2").arg(path, QString::fromStdString(e.what()));
  }
  spdlog::warn("{}", last_error_.toStdString());
  statusBar()->showMessage(last_error_);
  return Opened::Failed;
}

void MainWindow::loadModel(const QString& path) {
  engine_info_->setText(tr("loading %1…").arg(QFileInfo(path).fileName()));
  controller_->loadModel(path);
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

}  // namespace cm::ui
