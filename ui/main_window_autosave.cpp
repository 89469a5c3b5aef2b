// MainWindow's autosave: the working document written beside the editor 5 s after a change (and
// every minute while changes keep coming), off the UI thread, and offered back at the next start.
#include "ui/main_window.h"

#include "core/base/log.h"
#include "ui/document.h"
#include "ui/photo_file.h"

#include <spdlog/spdlog.h>

#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageBox>
#include <QSaveFile>
#include <QStatusBar>
#include <QTimer>
#include <QUndoStack>

#include <array>
#include <chrono>
#include <utility>
#include <vector>

namespace cm::ui {

// What one autosave writes, taken on the UI thread (a QImage shares its pixels: nothing is
// copied, and the document's next change copies its own) and written on any thread.
struct MainWindow::AutosaveSet {
  quint64 ticket = 0;          // MainWindow::autosave_ticket_ when taken: a discard makes it stale
  quint64 revision = 0;        // the document's revision it holds
  quint64 photo_version = 0;   // the photo's version it holds
  QImage photo;                // to write as photo.png; null: photo.png stays as it is
  bool photo_is_file = false;  // the photo is the opened file's pixels: no photo.png
  std::array<QImage, 3> layers;  // mask, sketch, hints; null: nothing painted, no file
  std::vector<std::pair<QString, QByteArray>> metadata;
  QJsonObject session;
};

namespace {

constexpr std::array<const char*, 3> kLayerFiles = {"mask.png", "sketch.png", "hints.png"};
constexpr std::array<Layer, 3> kLayers = {Layer::Mask, Layer::Strokes, Layer::Hints};

bool write_file(const QString& path, const QByteArray& bytes) {
  QSaveFile file(path);
  return file.open(QIODevice::WriteOnly) && file.write(bytes) == bytes.size() && file.commit();
}

// Writes the set into `folder`, session.json last (its presence means the set is whole).
bool write_set(const QString& folder, const MainWindow::AutosaveSet& s) {
  QDir dir(folder);
  if (!dir.mkpath(QStringLiteral("."))) return false;
  dir.remove(QStringLiteral("session.json"));
  const QString photo_file = dir.filePath(QStringLiteral("photo.png"));
  if (s.photo_is_file) {
    QFile::remove(photo_file);
  } else if (!s.photo.isNull()) {
    PhotoWrite sixteen;  // the working sRGB, untagged: the metadata goes beside it as it came
    sixteen.bit_depth = 16;
    sixteen.alpha = true;
    writePhoto(photo_file, s.photo, {}, sixteen);
  }
  for (const auto& [name, bytes] : s.metadata)
    if (!write_file(dir.filePath(name), bytes)) return false;
  // A layer with nothing painted is no file (restoreAutosave leaves it empty): an unused layer of
  // a 50 MP photo is a 195 MB image to compress.
  for (std::size_t i = 0; i < kLayerFiles.size(); ++i) {
    const QString path = dir.filePath(QLatin1String(kLayerFiles[i]));
    if (s.layers[i].isNull() ? QFile::exists(path) && !QFile::remove(path) : !s.layers[i].save(path)) return false;
  }
  return write_file(dir.filePath(QStringLiteral("session.json")), QJsonDocument(s.session).toJson());
}

}  // namespace

QString MainWindow::autosaveFolder() {
  return QString::fromStdString((cm::user_state_dir() / "autosave").string());
}

std::shared_ptr<const MainWindow::AutosaveSet> MainWindow::takeAutosaveSet() {
  if (document_->isEmpty() || document_->undoStack()->isClean() || document_->revision() == autosaved_revision_) return nullptr;
  auto s = std::make_shared<AutosaveSet>();
  s->ticket = autosave_ticket_;
  s->revision = document_->revision();
  s->photo_version = document_->photoVersion();
  // The photo only when its pixels are not the ones saved last time (undo and redo bring back a
  // version, Document::photoVersion), and not at all while it is the opened file's.
  const QFileInfo opened(current_path_);
  s->photo_is_file = opened_photo_version_ != 0 && s->photo_version == opened_photo_version_ && opened.isFile();
  if (!s->photo_is_file &&
      (s->photo_version != autosaved_photo_version_ || !QFileInfo::exists(QDir(autosaveFolder()).filePath(QStringLiteral("photo.png"))))) {
    s->photo = document_->photo();
    autosaved_photo_version_ = 0;  // until written whole
  }
  const auto bytes = [](const auto& v) { return QByteArray(reinterpret_cast<const char*>(v.data()), qsizetype(v.size())); };
  // The opened file's metadata beside it, as it came (the photo is the working sRGB).
  s->metadata = {{QStringLiteral("exif.bin"), bytes(photo_metadata_.exif)},
                 {QStringLiteral("xmp.xml"), QByteArray::fromStdString(photo_metadata_.xmp)},
                 {QStringLiteral("iptc.bin"), bytes(photo_metadata_.iptc)},
                 {QStringLiteral("profile.icc"), bytes(photo_metadata_.icc)}};
  for (std::size_t i = 0; i < kLayers.size(); ++i)
    if (!document_->inkRect(kLayers[i]).isEmpty()) s->layers[i] = document_->layer(kLayers[i]);
  s->session = QJsonObject{{QStringLiteral("path"), current_path_},
                           {QStringLiteral("bit_depth"), document_->bitDepth()},
                           {QStringLiteral("alpha"), has_alpha_},
                           {QStringLiteral("saved"), QDateTime::currentDateTime().toString(Qt::ISODate)}};
  if (s->photo_is_file) {  // the photo is the opened file's pixels, as long as the file is the same
    s->session.insert(QStringLiteral("photo_is_file"), true);
    s->session.insert(QStringLiteral("file_size"), double(opened.size()));
    s->session.insert(QStringLiteral("file_modified"), double(opened.lastModified().toMSecsSinceEpoch()));
  }
  return s;
}

// Writes `s` and says how long it took; false (and a warning in the log) when it failed.
bool MainWindow::writeAutosaveSet(const AutosaveSet& s, qint64* ms) {
  QElapsedTimer took;
  took.start();
  bool ok = false;
  try {
    ok = write_set(autosaveFolder(), s);
  } catch (const std::exception& e) {
    spdlog::warn("autosave failed: {}", e.what());
  }
  *ms = took.elapsed();
  return ok;
}

void MainWindow::finishAutosave(const AutosaveSet& s, bool ok, qint64 ms) {
  if (s.ticket != autosave_ticket_) return;  // discarded since it was taken
  if (!ok) return;  // autosaved_photo_version_ stays 0 when the photo was to be written: again next time
  autosaved_revision_ = s.revision;
  if (s.photo_is_file) autosaved_photo_version_ = 0;
  else if (!s.photo.isNull()) autosaved_photo_version_ = s.photo_version;
  spdlog::debug("autosaved in {} ms{}", ms, s.photo.isNull() ? "" : " (the photo too)");
}

bool MainWindow::autosaveNow() {
  waitForAutosave();
  ++autosave_ticket_;  // this one supersedes the report of any written before, still queued
  const auto s = takeAutosaveSet();
  if (!s) return false;
  qint64 ms = 0;
  const bool ok = writeAutosaveSet(*s, &ms);
  finishAutosave(*s, ok, ms);
  return ok;
}

// The timers' autosave: written on another thread, so a 50 MP photo's 16-bit PNG (about 10 s)
// does not freeze the window; one at a time (a change while it runs starts the 5 s over).
void MainWindow::autosaveInBackground() {
  if (autosave_writing_.valid() && autosave_writing_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    autosave_soon_->start();
    return;
  }
  const auto s = takeAutosaveSet();
  if (!s) return;
  autosave_writing_ = std::async(std::launch::async, [this, s] {
    qint64 ms = 0;
    const bool ok = writeAutosaveSet(*s, &ms);
    QMetaObject::invokeMethod(this, [this, s, ok, ms] { finishAutosave(*s, ok, ms); }, Qt::QueuedConnection);
  });
}

void MainWindow::waitForAutosave() {
  if (autosave_writing_.valid()) autosave_writing_.wait();
}

void MainWindow::setAutosaveDelay(int ms) { autosave_soon_->setInterval(ms); }

bool MainWindow::autosaveIsCurrent() const { return autosaved_revision_ == document_->revision(); }

bool MainWindow::hasAutosave() const { return QFileInfo::exists(QDir(autosaveFolder()).filePath(QStringLiteral("session.json"))); }

bool MainWindow::restoreAutosave() {
  const QDir dir(autosaveFolder());
  QFile file(dir.filePath(QStringLiteral("session.json")));
  if (!file.open(QIODevice::ReadOnly)) return false;
  const QJsonObject session = QJsonDocument::fromJson(file.readAll()).object();
  try {
    const QString path = session.value(QStringLiteral("path")).toString();
    const bool photo_is_file = session.value(QStringLiteral("photo_is_file")).toBool();
    if (photo_is_file) {  // an unedited photo: its file, if it is still the one opened
      const QFileInfo file(path);
      if (!file.isFile() || double(file.size()) != session.value(QStringLiteral("file_size")).toDouble() ||
          double(file.lastModified().toMSecsSinceEpoch()) != session.value(QStringLiteral("file_modified")).toDouble()) {
        last_error_ = tr("%1 changed or went away since it was opened; the autosaved work was painted on it").arg(path);
        return false;
      }
    }
    const OpenedPhoto photo = readPhoto(photo_is_file ? path : dir.filePath(QStringLiteral("photo.png")));
    document_->reset(photo.pixels, session.value(QStringLiteral("bit_depth")).toInt(8), path);
    opened_photo_version_ = photo_is_file ? document_->photoVersion() : 0;
    for (std::size_t i = 0; i < kLayers.size(); ++i) {
      const QImage pixels(dir.filePath(QLatin1String(kLayerFiles[i])));
      if (pixels.size() == document_->size()) document_->writePixels(kLayers[i], pixels, QPoint(0, 0));
    }
  } catch (const std::exception& e) {
    last_error_ = QString::fromStdString(e.what());
    return false;
  }
  has_alpha_ = session.value(QStringLiteral("alpha")).toBool();
  const auto read = [&dir](const char* name) {
    QFile file(dir.filePath(QLatin1String(name)));
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
  };
  const auto bytes = [](const QByteArray& b) { return std::vector<std::uint8_t>(b.begin(), b.end()); };
  photo_metadata_ = {bytes(read("exif.bin")), read("xmp.xml").toStdString(), bytes(read("iptc.bin")), bytes(read("profile.icc")), nullptr};
  photo_format_.clear();
  updateImageInfo();
  current_path_ = session.value(QStringLiteral("path")).toString();
  setWindowTitle(QFileInfo(current_path_).fileName() + tr("[*] (restored) — cmedit"));
  document_->undoStack()->resetClean();  // restored work is not exported yet
  document_->markPhotoUnsaved();
  statusBar()->showMessage(tr("Restored the autosaved document"), 5000);
  return true;
}

void MainWindow::discardAutosave() {
  waitForAutosave();
  ++autosave_ticket_;  // a write that finished but is not yet reported does not count
  QDir(autosaveFolder()).removeRecursively();
  autosaved_revision_ = 0;
  autosaved_photo_version_ = 0;
}

void MainWindow::offerAutosave() {
  if (!hasAutosave()) return;
  const auto answer = QMessageBox::question(this, tr("Restore unsaved work?"),
                                            tr("cmedit did not close normally last time. Restore the document it was editing?"),
                                            QMessageBox::Yes | QMessageBox::No);
  if (answer == QMessageBox::Yes && !restoreAutosave()) warn(tr("Cannot restore"), last_error_);
  if (answer == QMessageBox::No) discardAutosave();
}
}  // namespace cm::ui
