#include "ui/edit_controller.h"

#include "core/engine/engine.h"
#include "ui/document.h"
#include "ui/tensor_image.h"

#include <ATen/ATen.h>
#include <QMetaObject>
#include <QPainter>
#include <QPointer>
#include <QTimer>
#include <QUndoStack>

#include <cstring>
#include <exception>
#include <future>
#include <thread>

namespace cm::ui {
namespace {

// The photo with the sketch painted over it: what SDEdit starts from.
QImage painting_of(const Document& doc) {
  QImage painting = doc.photo().copy();
  QPainter painter(&painting);
  painter.drawImage(0, 0, doc.layer(Layer::Strokes));
  painter.end();
  return painting;
}

}  // namespace

struct EditController::Impl {
  Document* document;
  std::unique_ptr<engine::Engine> engine;
  bool model_ready = false;
  EditParameters parameters;
  bool live = false;
  QTimer refine_timer;
  QImage preview;
  quint64 preview_revision = 0;
  int preview_steps = 0;  // evaluations behind the preview shown
  std::uint64_t latest_job = 0;
  int running = 0;
  double last_latency_ms = 0;
};

EditController::EditController(Document* document, QObject* parent) : QObject(parent), impl_(std::make_unique<Impl>()) {
  impl_->document = document;
  impl_->refine_timer.setSingleShot(true);
  impl_->refine_timer.setInterval(400);
  connect(&impl_->refine_timer, &QTimer::timeout, this, [this] { requestPreview(true); });
  connect(document, &Document::changed, this, [this](Layer layer, QRect) {
    if (layer == Layer::Photo) discardPreview();
    if (!impl_->live || layer == Layer::Photo) return;
    requestPreview(false);
    impl_->refine_timer.start();
  });
  connect(document, &Document::documentReset, this, [this] { discardPreview(); });
  try {
    impl_->engine = std::make_unique<engine::Engine>();
  } catch (const std::exception& e) {  // e.g. a device that went away: the editor still opens photos
    engine::EngineOptions cpu;
    cpu.device = "cpu";
    impl_->engine = std::make_unique<engine::Engine>(cpu);
  }
}

EditController::~EditController() { impl_->engine.reset(); }  // joins the worker before the rest goes

void EditController::loadModel(const QString& path) {
  auto future = std::make_shared<std::future<engine::ModelInfo>>(impl_->engine->load_model(path.toStdString()));
  // Wait for the load off the UI thread, then report on it.
  QPointer<EditController> self(this);
  std::thread([self, future] {
    QString name, error;
    try {
      name = QString::fromStdString(future->get().name);
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    }
    if (!self) return;
    QMetaObject::invokeMethod(self.data(), [self, name, error] {
      if (!self) return;
      if (!error.isEmpty()) {
        Q_EMIT self->failed(error);
        return;
      }
      self->impl_->model_ready = true;
      Q_EMIT self->modelLoaded(name);
    }, Qt::QueuedConnection);
  }).detach();
}

bool EditController::modelReady() const { return impl_->model_ready; }
void EditController::setParameters(const EditParameters& p) { impl_->parameters = p; }
const EditParameters& EditController::parameters() const { return impl_->parameters; }
void EditController::setLivePreview(bool on) { impl_->live = on; }
void EditController::setRefineDelay(int ms) { impl_->refine_timer.setInterval(ms); }
bool EditController::hasPreview() const { return !impl_->preview.isNull(); }
const QImage& EditController::preview() const { return impl_->preview; }
quint64 EditController::previewRevision() const { return impl_->preview_revision; }
double EditController::lastLatencyMs() const { return impl_->last_latency_ms; }

void EditController::requestPreview(bool refine) {
  const Document& doc = *impl_->document;
  if (doc.isEmpty() || !impl_->model_ready) return;
  const EditParameters& p = impl_->parameters;
  engine::EditRequest r;
  r.kind = p.kind;
  r.preview = true;
  r.steps = refine ? p.refine_steps : p.preview_steps;
  r.strength = p.strength;
  r.sigma = p.sigma_8bit * 2.0 / 255.0;
  r.seed = p.seed;
  r.seed_b = p.seed_b;
  r.blend_seeds = p.blend > 0;
  r.blend = p.blend;
  r.class_label = p.class_label;
  r.region.grow = p.grow;
  r.region.feather = p.feather;
  r.scale = p.scale;
  using edit::EditKind;
  QImage source = p.kind == EditKind::Sketch ? painting_of(doc) : doc.photo();
  if (p.kind == EditKind::SuperResolve && !p.region.isEmpty()) source = source.copy(p.region & source.rect());
  if (p.kind != EditKind::Generate) r.image = rgb_tensor(source);
  if (p.kind == EditKind::Inpaint || p.kind == EditKind::Sketch) {
    r.mask = mask_tensor(doc.mask());
    if (p.kind == EditKind::Inpaint && r.mask.max().item<float>() == 0) return;  // nothing painted yet
    if (p.kind == EditKind::Sketch && r.mask.max().item<float>() == 0) r.mask = at::Tensor();
  }
  if (p.kind == EditKind::Colorize) {
    const QImage hints = doc.layer(Layer::Hints).convertToFormat(QImage::Format_RGBA64);
    at::Tensor alpha = at::empty({1, 1, hints.height(), hints.width()}, at::kFloat);
    float* a = alpha.data_ptr<float>();
    for (int y = 0; y < hints.height(); ++y) {
      const auto* row = reinterpret_cast<const quint16*>(hints.constScanLine(y));
      for (int x = 0; x < hints.width(); ++x) a[y * hints.width() + x] = row[x * 4 + 3] >= 32768 ? 1.f : 0.f;
    }
    if (alpha.max().item<float>() > 0) {
      r.hints = rgb_tensor(hints);
      r.hint_mask = alpha;
    }
  }
  const quint64 revision = doc.revision();
  const int steps = r.steps;
  QPointer<EditController> self(this);
  engine::JobCallbacks callbacks;
  callbacks.on_progress = [self](const engine::Progress& progress) {
    if (!self) return;
    QMetaObject::invokeMethod(self.data(), [self, step = progress.step, total = progress.total] {
      if (self) Q_EMIT self->progress(step, total);
    }, Qt::QueuedConnection);
  };
  const QImage photo = source;  // whose alpha the result keeps (enlarged by repetition for super-resolution)
  callbacks.on_result = [self, revision, photo, steps](const engine::EditResult& result) {
    // Convert on the worker thread; only the UI thread touches the controller.
    QImage image;
    if (result.status == engine::JobStatus::Done) {
      const int64_t k = photo.height() > 0 ? result.image.size(2) / photo.height() : 1;
      image = k > 1 ? rgba64_image(result.image, alpha_tensor(photo).repeat_interleave(k, 2).repeat_interleave(k, 3))
          : result.image.size(2) == photo.height() && result.image.size(3) == photo.width() ? rgba64_like(result.image, photo)
                                                                                              : rgba64_image(result.image);
    }
    const QString error = result.status == engine::JobStatus::Failed ? QString::fromStdString(result.error) : QString();
    const std::uint64_t id = result.id;
    const double ms = result.timings.total_ms;
    if (!self) return;
    QMetaObject::invokeMethod(self.data(), [self, image, error, id, revision, ms, steps] {
      if (!self) return;
      Impl& d = *self->impl_;
      if (--d.running == 0) Q_EMIT self->busyChanged(false);
      if (id != d.latest_job) return;  // a newer request is on its way
      if (!error.isEmpty()) {
        Q_EMIT self->failed(error);
        return;
      }
      // Stale: the document changed after this request was built; its own preview will follow.
      if (image.isNull() || revision != d.document->revision()) return;
      d.preview = image;
      d.preview_revision = revision;
      d.preview_steps = steps;
      d.last_latency_ms = ms;
      Q_EMIT self->previewReady();
    }, Qt::QueuedConnection);
  };
  std::uint64_t id = 0;
  impl_->engine->submit(std::move(r), std::move(callbacks), &id);
  impl_->latest_job = id;
  if (impl_->running++ == 0) Q_EMIT busyChanged(true);
}

bool EditController::applyPreview() {
  if (!hasPreview() || impl_->preview_revision != impl_->document->revision()) return false;
  const QImage result = impl_->preview;
  impl_->preview = QImage();
  const EditParameters& p = impl_->parameters;
  const int n = impl_->preview_steps;
  const QString what = tr("Apply %1 (seed %2, %3%4)")
                           .arg(QString::fromUtf8(edit::to_string(p.kind).data()))
                           .arg(p.seed)
                           .arg(n == 1 ? tr("1 step") : tr("%1 steps").arg(n))
                           .arg(p.kind == edit::EditKind::Sketch ? tr(", strength %1").arg(p.strength) : QString());
  if (result.size() != impl_->document->size()) {  // super-resolution or a generated image: a new size
    impl_->document->replaceWithResized(result, what);
    return true;
  }
  impl_->document->undoStack()->beginMacro(what);  // one undo step: the new pixels and the used-up mask
  impl_->document->replacePhoto(result, what);
  impl_->document->clearLayer(Layer::Mask);
  impl_->document->undoStack()->endMacro();
  return true;
}

void EditController::discardPreview() {
  if (impl_->preview.isNull()) return;
  impl_->preview = QImage();
  Q_EMIT previewCleared();
}

EngineStatus EditController::status() const {
  const engine::EngineStats s = impl_->engine->stats();
  return {QString::fromStdString(s.model), QString::fromStdString(s.device), s.last_step_ms, s.queue_depth, s.busy,
          s.memory_bytes};
}

}  // namespace cm::ui
