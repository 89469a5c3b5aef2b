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
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageBox>
#include <QSaveFile>
#include <QStatusBar>
#include <QTimer>
#include <QUndoStack>

#include <array>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cm::ui {

// What one autosave writes, taken on the UI thread (a QImage shares its pixels: nothing is
// copied, and the document's next change copies its own) and written on any thread.
struct MainWindow::AutosaveSet {
  quint64 ticket = 0;          // MainWindow::autosave_ticket_ when taken: a discard makes it stale
  quint64 revision = 0;        // the document's revision it holds
  AutosavedPhoto::Plan plan;   // what it writes of the photo
  QImage photo;                // the photo, when the plan writes it or a part of it
  std::array<QImage, 3> layers;  // mask, sketch, hints; null: nothing painted, no file
  std::array<QRect, 3> painted;  // the part of each that is written: where it holds paint
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
  using Kind = AutosavedPhoto::Plan::Kind;
  if (s.plan.kind == Kind::File || s.plan.kind == Kind::Whole) {  // a new base: the parts over the old one go
    for (const QString& part : dir.entryList({QStringLiteral("photo-part-*.png")}, QDir::Files)) dir.remove(part);
    dir.remove(QStringLiteral("photo.png"));
  }
  if (s.plan.kind == Kind::Whole || s.plan.kind == Kind::Part) {
    PhotoWrite sixteen;  // the working sRGB, untagged: the metadata goes beside it as it came
    sixteen.bit_depth = 16;
    sixteen.alpha = true;
    if (s.plan.kind == Kind::Whole) writePhoto(dir.filePath(QStringLiteral("photo.png")), s.photo, {}, sixteen);
    else writePhoto(dir.filePath(s.plan.file), s.photo.copy(s.plan.part), {}, sixteen);
  }
  for (const auto& [name, bytes] : s.metadata)
    if (!write_file(dir.filePath(name), bytes)) return false;
  // A layer with nothing painted is no file (restoreAutosave leaves it empty): an unused layer of
  // a 50 MP photo is a 195 MB image to compress.
  for (std::size_t i = 0; i < kLayerFiles.size(); ++i) {
    const QString path = dir.filePath(QLatin1String(kLayerFiles[i]));
    if (s.layers[i].isNull() ? QFile::exists(path) && !QFile::remove(path) : !s.layers[i].copy(s.painted[i]).save(path)) return false;
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
  // The photo only where its pixels changed since the last autosave, and not at all while it is
  // the opened file's (undo and redo bring back a version, Document::photoVersion).
  const QFileInfo opened(current_path_);
  const bool is_file = opened_photo_version_ != 0 && document_->photoVersion() == opened_photo_version_ && opened.isFile();
  if (autosaved_photo_.base() == AutosavedPhoto::Base::Png && !QFileInfo::exists(QDir(autosaveFolder()).filePath(QStringLiteral("photo.png"))))
    autosaved_photo_.forget();  // gone from under it: written whole again
  s->plan = autosaved_photo_.take(document_->size(), is_file);
  using Kind = AutosavedPhoto::Plan::Kind;
  if (s->plan.kind == Kind::Whole || s->plan.kind == Kind::Part) s->photo = document_->photo();
  const auto bytes = [](const auto& v) { return QByteArray(reinterpret_cast<const char*>(v.data()), qsizetype(v.size())); };
  // The opened file's metadata beside it, as it came (the photo is the working sRGB).
  s->metadata = {{QStringLiteral("exif.bin"), bytes(photo_metadata_.exif)},
                 {QStringLiteral("xmp.xml"), QByteArray::fromStdString(photo_metadata_.xmp)},
                 {QStringLiteral("iptc.bin"), bytes(photo_metadata_.iptc)},
                 {QStringLiteral("profile.icc"), bytes(photo_metadata_.icc)}};
  QJsonObject painted_at;  // where each layer's file goes in it
  for (std::size_t i = 0; i < kLayers.size(); ++i)
    if (const QRect ink = document_->inkRect(kLayers[i]); !ink.isEmpty()) {
      // Only the painted part: a mask of 50 MP is a 0.8 s PNG, its stroke's box a few ms.
      s->layers[i] = document_->layer(kLayers[i]);
      s->painted[i] = ink;
      painted_at.insert(QLatin1String(kLayerFiles[i]), QJsonArray{ink.x(), ink.y()});
    }
  s->session = QJsonObject{{QStringLiteral("path"), current_path_},
                           {QStringLiteral("bit_depth"), document_->bitDepth()},
                           {QStringLiteral("alpha"), has_alpha_},
                           {QStringLiteral("saved"), QDateTime::currentDateTime().toString(Qt::ISODate)}};
  if (autosaved_photo_.base() == AutosavedPhoto::Base::File) {  // the opened file's pixels, while the file is the same
    s->session.insert(QStringLiteral("photo_is_file"), true);
    s->session.insert(QStringLiteral("file_size"), double(opened.size()));
    s->session.insert(QStringLiteral("file_modified"), double(opened.lastModified().toMSecsSinceEpoch()));
  }
  s->session.insert(QStringLiteral("photo_parts"), autosaved_photo_.parts());
  s->session.insert(QStringLiteral("layers_at"), painted_at);
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
  if (!ok) {  // what is on disk is not known: the photo is written whole next time
    autosaved_photo_.forget();
    return;
  }
  autosaved_revision_ = s.revision;
  using Kind = AutosavedPhoto::Plan::Kind;
  spdlog::debug("autosaved in {} ms{}", ms,
                s.plan.kind == Kind::Whole  ? " (the photo too)"
                : s.plan.kind == Kind::Part ? fmt::format(" (the photo's {} x {} changed)", s.plan.part.width(), s.plan.part.height())
                                            : std::string());
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
  auto s = takeAutosaveSet();
  if (!s) return;
  autosave_writing_ = std::async(std::launch::async, [this, s]() mutable {
    qint64 ms = 0;
    const bool ok = writeAutosaveSet(*s, &ms);
    // The report without the pixels, and this task's hold on them let go: kept in the future's
    // state until the next autosave, the photo and layers stayed shared, and the next Apply,
    // stroke or undo copied the whole of what it wrote to (390 MB for a 50 MP photo, 0.6 s).
    auto report = std::make_shared<AutosaveSet>();
    report->ticket = s->ticket, report->revision = s->revision, report->plan = s->plan;
    s.reset();
    QMetaObject::invokeMethod(this, [this, report, ok, ms] { finishAutosave(*report, ok, ms); }, Qt::QueuedConnection);
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
    if (photo_is_file) {  // the opened file (and any parts over it), if it is still the one opened
      const QFileInfo file(path);
      if (!file.isFile() || double(file.size()) != session.value(QStringLiteral("file_size")).toDouble() ||
          double(file.lastModified().toMSecsSinceEpoch()) != session.value(QStringLiteral("file_modified")).toDouble()) {
        last_error_ = tr("%1 changed or went away since it was opened; the autosaved work was painted on it").arg(path);
        return false;
      }
    }
    const OpenedPhoto photo = readPhoto(photo_is_file ? path : dir.filePath(QStringLiteral("photo.png")));
    document_->reset(photo.pixels, session.value(QStringLiteral("bit_depth")).toInt(8), path);
    // The parts written over it since, in order.
    const QJsonArray parts = session.value(QStringLiteral("photo_parts")).toArray();
    for (const QJsonValue& part : parts) {
      const QImage pixels = readPhoto(dir.filePath(part[QStringLiteral("file")].toString())).pixels;
      const QRect where(part[QStringLiteral("x")].toInt(), part[QStringLiteral("y")].toInt(), pixels.width(), pixels.height());
      if (!QRect(QPoint(0, 0), document_->size()).contains(where))
        throw std::runtime_error(tr("the autosave's %1 does not fit its photo").arg(part[QStringLiteral("file")].toString()).toStdString());
      document_->writePixels(Layer::Photo, pixels, where.topLeft());
    }
    opened_photo_version_ = photo_is_file && parts.isEmpty() ? document_->photoVersion() : 0;
    autosaved_photo_.restored(photo_is_file ? AutosavedPhoto::Base::File : AutosavedPhoto::Base::Png, parts);
    for (std::size_t i = 0; i < kLayers.size(); ++i) {
      const QImage pixels(dir.filePath(QLatin1String(kLayerFiles[i])));
      const QJsonArray at = session.value(QStringLiteral("layers_at"))[QLatin1String(kLayerFiles[i])].toArray();
      const QPoint where(at.at(0).toInt(), at.at(1).toInt());  // (0, 0): a whole layer
      if (!pixels.isNull() && QRect(QPoint(0, 0), document_->size()).contains(QRect(where, pixels.size())))
        document_->writePixels(kLayers[i], pixels, where);
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
  autosaved_photo_.forget();
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
