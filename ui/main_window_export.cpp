// MainWindow's exports: written on another thread, so a 50 MP HEIC's half a minute of encoding
// neither freezes the window nor, from the Export dialog, keeps the user from going on.
#include "ui/main_window.h"

#include "cmedit/build_config.h"
#include "ui/document.h"
#include "ui/export_options.h"
#include "ui/file_wait.h"
#include "ui/photo_file.h"

#include <spdlog/spdlog.h>

#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QStatusBar>
#include <QTimer>
#include <QUndoStack>

namespace cm::ui {

bool MainWindow::exportTo(const QString& path, int jpeg_quality, int bit_depth, bool strip_metadata, bool as_srgb) {
  return startExport(path, {jpeg_quality, bit_depth, strip_metadata, as_srgb}, /*in_background=*/false) && waitForExport();
}

bool MainWindow::exportInBackground(const QString& path, int jpeg_quality, int bit_depth, bool strip_metadata, bool as_srgb) {
  return startExport(path, {jpeg_quality, bit_depth, strip_metadata, as_srgb}, /*in_background=*/true);
}

bool MainWindow::startExport(const QString& path, const ExportChoices& choices, bool in_background) {
  if (document_->isEmpty()) {
    last_error_ = tr("nothing to export: open a photo first");
    return false;
  }
  if (export_) waitForExport();  // one at a time: the files may be the same
  PhotoWrite how;
  how.alpha = has_alpha_;
  how.strip_metadata = choices.strip_metadata;
  how.as_srgb = choices.as_srgb;
  how.bit_depth = choices.bit_depth > 0 ? choices.bit_depth : document_->bitDepth();
  how.quality = choices.quality;
  QStringList history;  // what was done, for the file's metadata
  const QUndoStack* stack = document_->undoStack();
  for (int i = 0; i < stack->index(); ++i) history << stack->text(i);
  how.description = QStringLiteral("cmedit %1: %2").arg(QStringLiteral(CMEDIT_VERSION), history.join(QStringLiteral("; ")));
  Exporting e;
  e.path = path;
  e.photo_version = document_->photoVersion();
  e.undo_index = stack->index();
  e.in_background = in_background;
  e.clock.start();
  // The photo as it is now: QImage shares its pixels, and the document's next change to them
  // copies them first, so the thread reads a version that no one changes.
  e.writing = std::async(std::launch::async, [path, photo = document_->photo(), metadata = photo_metadata_, how] {
    writePhoto(path, photo, metadata, how);
  });
  export_ = std::move(e);
  export_info_->setText(tr("Exporting %1…").arg(QFileInfo(path).fileName()));
  export_info_->show();
  export_watch_->start();
  return true;
}

void MainWindow::watchExport() {
  if (!export_) return export_watch_->stop();
  if (is_ready(export_->writing)) return void(finishExport());
  const qint64 s = export_->clock.elapsed() / 1000;
  if (s >= 1) export_info_->setText(tr("Exporting %1… %2 s").arg(QFileInfo(export_->path).fileName()).arg(s));
}

bool MainWindow::waitForExport() {
  if (!export_) return true;
  export_watch_->stop();  // its tick would end the export under the wait
  wait_drawing(this, export_->writing, tr("Exporting %1…").arg(QFileInfo(export_->path).fileName()), /*cancellable=*/false);
  export_->writing.wait();  // the application quitting ended the wait early: the file is still finished
  return finishExport();
}

bool MainWindow::finishExport() {
  Exporting done = std::move(*export_);
  export_.reset();
  export_watch_->stop();
  export_info_->hide();
  try {
    done.writing.get();
  } catch (const std::exception& e) {
    last_error_ = QString::fromStdString(e.what());
    spdlog::warn("{}", last_error_.toStdString());
    statusBar()->showMessage(last_error_);
    // Nothing else would tell the user, who went on editing (exportTo's caller says it instead).
    if (done.in_background) warn(tr("Cannot export"), last_error_);
    return false;
  }
  const double seconds = done.clock.elapsed() / 1000.0;
  spdlog::info("exported {} in {:.1f} s", done.path.toStdString(), seconds);
  // A version of the photo that is on disk: it is not modified while it is that version (after
  // undoing what was done during the export, too). A photo opened since is none of this.
  if (document_->markPhotoSaved(done.photo_version) && !document_->photoModified()) {
    if (document_->undoStack()->index() == done.undo_index) document_->undoStack()->setClean();
    discardAutosave();
  }
  statusBar()->showMessage(seconds < 1 ? tr("Exported %1").arg(done.path) : tr("Exported %1 in %2 s").arg(done.path).arg(seconds, 0, 'f', 1), 5000);
  return true;
}

std::optional<MainWindow::ExportTarget> MainWindow::chooseExport() {
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
  if (dialog.exec() != QDialog::Accepted || dialog.selectedFiles().isEmpty()) return std::nullopt;
  const QString path = dialog.selectedFiles().front();
  const ExportContext context{QFileInfo(path).suffix().toLower(), document_->bitDepth(),
                              !photo_metadata_.exif.empty() || !photo_metadata_.xmp.empty() || !photo_metadata_.iptc.empty(),
                              photo_metadata_.icc.empty() ? QString() : QString::fromStdString(imageio::colour_profile_name(photo_metadata_))};
  const std::optional<ExportChoices> choices = askExportChoices(this, context);
  if (!choices) return std::nullopt;
  return ExportTarget{path, *choices};
}

void MainWindow::chooseAndExport() {
  const std::optional<ExportTarget> target = chooseExport();
  if (target && !startExport(target->path, target->choices, /*in_background=*/true)) warn(tr("Cannot export"), last_error_);
}

}  // namespace cm::ui
