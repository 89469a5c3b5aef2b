// The edit controller: the document's changes ask for previews, the model loads, Apply commits the
// preview and Discard drops it (the requests and their results: edit_controller_jobs.cpp).
#include "core/engine/edit_registry.h"
#include "ui/edit_controller_impl.h"

#include <QMetaObject>
#include <QPointer>
#include <QUndoStack>

#include <exception>
#include <future>
#include <memory>
#include <thread>
#include <utility>

namespace cm::ui {

EditController::EditController(Document* document, QObject* parent) : QObject(parent), impl_(std::make_unique<Impl>()) {
  impl_->document = document;
  impl_->refine_timer.setSingleShot(true);
  impl_->refine_timer.setInterval(400);
  // The refinement continues the wait that the change started (the draft, the refine delay). It
  // follows the draft of the same state, not supersedes it: on a large photo a draft takes longer
  // than the delay (a dab on 50 MP, 0.9 s), and it was cancelled unseen, the screen unchanged
  // until the refinement came 2-3 s after the stroke.
  connect(&impl_->refine_timer, &QTimer::timeout, this, [this] {
    const Impl& d = *impl_;
    if (d.draft_job != 0 && d.draft_job == d.latest_job && d.requested_revision == d.document->revision()) impl_->refine_after_draft = true;
    else request_preview(true, nullptr, true);
  });
  // A canvas redraw of a large photo costs a tenth of a second or more: windows arriving faster
  // than this are shown together.
  impl_->partial_redraw.setSingleShot(true);
  impl_->partial_redraw.setInterval(200);
  connect(&impl_->partial_redraw, &QTimer::timeout, this, [this] {
    if (!impl_->preview.isNull() && !impl_->preview_complete) Q_EMIT previewPartial();
  });
  connect(document, &Document::changed, this, [this](Layer layer, QRect area) {
    // A preview shown over a changed photo now differs from it there too.
    if (layer == Layer::Photo && !impl_->preview.isNull()) impl_->preview_area |= area;
    // The photo as the edits take it follows, that part only (writePixels is how the photo
    // changes in place; a new one comes with documentReset).
    if (layer == Layer::Photo) {
      impl_->photo_tensor.update(impl_->document->photo(), area);
      impl_->photo_changed(std::exchange(impl_->photo_key_seen, impl_->document->photo().cacheKey()), area);
    }
    // Apply's own changes (the new photo, the used-up inputs) ask for nothing: the canvas then
    // shows what was applied, not a preview of an edit of it.
    if (impl_->applying) return;
    set_apply_pending(false);  // the edit changed under a waiting Apply: the user applies again
    if (layer == Layer::Photo) discardPreview();
    if (!impl_->live || layer == Layer::Photo) return;
    // Asked for once the change is whole: an undo of Apply brings the mask back before the photo,
    // and a preview asked for in between held the photo, whose write then copied all of it (390 MB
    // and its 300 MB tensor at 50 MP, a second). A change that leaves nothing painted (the only
    // stroke undone) drops the preview and its work at once.
    if (has_inputs(*impl_->document, impl_->parameters.kind)) impl_->change_request.start();
    else request_after_change();
  });
  impl_->change_request.setSingleShot(true);
  impl_->change_request.setInterval(0);
  connect(&impl_->change_request, &QTimer::timeout, this, &EditController::request_after_change);
  connect(document, &Document::documentReset, this, [this] {
    impl_->photo_tensor.clear();
    impl_->photo_8888.clear();
    impl_->photo_64.clear();
    // Made while the user looks at the new photo: on 50 MP the three held the first dab's request
    // and results 1.1 s on this thread (MadeAhead).
    if (const QImage& photo = impl_->document->photo(); !photo.isNull()) {
      impl_->photo_tensor.prepare(photo);
      impl_->photo_8888.prepare(photo);
      impl_->photo_64.prepare(photo);
    }
    impl_->photo_key_seen = impl_->document->photo().cacheKey();
    discardPreview();
  });
  try {
    impl_->engine = std::make_unique<engine::Engine>();
  } catch (const std::exception& e) {  // e.g. a device that went away: the editor still opens photos
    engine::EngineOptions cpu;
    cpu.device = "cpu";
    impl_->engine = std::make_unique<engine::Engine>(cpu);
  }
}

EditController::~EditController() {
  impl_->engine.reset();  // joins the worker before the rest goes
  for (std::thread& t : impl_->load_waiters) t.join();
}

QString EditController::modelPath() const { return impl_->model_path; }

bool EditController::configureEngine(const QString& device, const QString& precision, QString* error) {
  engine::EngineOptions options;
  options.device = device.toStdString();
  options.precision = precision.toStdString();
  std::unique_ptr<engine::Engine> fresh;
  try {
    fresh = std::make_unique<engine::Engine>(options);
  } catch (const std::exception& e) {
    if (error) *error = QString::fromUtf8(e.what());
    return false;
  }
  impl_->engine = std::move(fresh);  // the old one finishes its job's step, then goes
  impl_->model_ready = false;
  discardPreview();
  if (!impl_->model_path.isEmpty()) loadModel(impl_->model_path);
  return true;
}

void EditController::loadModel(const QString& path) {
  impl_->model_path = path;
  auto future = std::make_shared<std::future<engine::ModelInfo>>(impl_->engine->load_model(path.toStdString()));
  // Wait for the load off the UI thread, then report on it.
  QPointer<EditController> self(this);
  impl_->load_waiters.emplace_back([self, future] {
    QString name, error;
    int size = 0;
    try {
      const engine::ModelInfo info = future->get();
      name = QString::fromStdString(info.name);
      size = info.image_size;
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    }
    if (!self) return;
    QMetaObject::invokeMethod(self.data(), [self, name, error, size] {
      if (!self) return;
      if (!error.isEmpty()) {
        Q_EMIT self->failed(error);
        return;
      }
      self->impl_->model_ready = true;
      self->impl_->model_size = size;
      Q_EMIT self->modelLoaded(name);
    }, Qt::QueuedConnection);
  });
}

void EditController::request_after_change() {
  impl_->change_request.stop();
  if (!impl_->live) return;
  if (!request_preview(false, nullptr, false)) {
    // Nothing left to preview (the last stroke undone or cleared): the preview of what was there
    // goes, and so does its work; on a large photo a refinement would run on for a minute.
    impl_->refine_timer.stop();
    discardPreview();
    return;
  }
  impl_->refine_timer.start();
}

bool EditController::modelReady() const { return impl_->model_ready; }
void EditController::setParameters(const EditParameters& p) { impl_->parameters = p; }
const EditParameters& EditController::parameters() const { return impl_->parameters; }
void EditController::setLivePreview(bool on) { impl_->live = on; }
void EditController::setRefineDelay(int ms) { impl_->refine_timer.setInterval(ms); }
bool EditController::hasPreview() const { return !impl_->preview.isNull(); }
bool EditController::previewComplete() const { return hasPreview() && impl_->preview_complete; }
void EditController::setBrushPosition(QPointF position) { impl_->brush = position; }

void EditController::setViewCentreSource(std::function<QPointF()> source) { impl_->view_centre = std::move(source); }
const QImage& EditController::preview() const { return impl_->preview; }

QImage EditController::takePreviewInCanvasFormat() {
  QImage made = std::exchange(impl_->preview_canvas, QImage());
  const qint64 of = std::exchange(impl_->preview_canvas_of, 0);
  return !impl_->preview.isNull() && of == impl_->preview.cacheKey() ? made : QImage();
}

QRect EditController::takePreviewChange() {
  return std::exchange(impl_->shown_change, QRect());
}
QRect EditController::previewArea() const { return impl_->preview.isNull() ? QRect() : impl_->preview_area; }
quint64 EditController::previewRevision() const { return impl_->preview_revision; }
double EditController::lastLatencyMs() const { return impl_->last_latency_ms; }

std::vector<double> EditController::lastSigmas() const { return impl_->last_sigmas; }

void EditController::requestPreview(bool refine) { request_preview(refine, nullptr, false); }

void EditController::requestProvisionalPreview(Layer layer, const QImage& provisional, QRect ink) {
  if (provisional.isNull() || provisional.size() != impl_->document->size()) return;
  const LayerOverride over{layer, provisional, ink};
  request_preview(false, &over, false);
}

bool EditController::livePreview() const { return impl_->live; }

void EditController::requestLivePreview() {
  requestPreview(false);
  impl_->refine_timer.start();
}

void EditController::cancelJobs() {
  set_apply_pending(false);
  impl_->change_request.stop();
  impl_->refine_timer.stop();
  impl_->refine_after_draft = false;
  impl_->engine->cancel_all();
}

int EditController::previewSteps() const { return hasPreview() ? impl_->preview_steps : 0; }


bool EditController::refinement_coming() const {
  const Impl& d = *impl_;
  return d.refine_job != 0 && d.refine_job == d.latest_job && d.requested_revision == d.document->revision();
}

bool EditController::refinement_shown() const {
  return previewComplete() && impl_->preview_refined && impl_->preview_revision == impl_->document->revision();
}

bool EditController::applyPreview() {
  if (!refinement_shown()) return false;
  set_apply_pending(false);
  impl_->refine_timer.stop();
  const QRect area = impl_->preview_area;  // where it differs from the photo
  // A preview painted over a copy of the photo (Impl::set_preview_over) gives its part: the copy
  // goes back as the preview does, and a shallow copy of all of it would then be copied whole.
  const bool part = impl_->preview_borrows != nullptr;
  const QImage result = !part ? impl_->preview : area.isEmpty() ? QImage() : impl_->preview.copy(area);
  impl_->set_preview(QImage(), QRect());
  impl_->applying = true;
  const struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{impl_->applying};
  const EditParameters& p = impl_->parameters;
  const int n = impl_->preview_steps;
  // At the auto strength an inpainting's or a sketch's windows, and a super-resolution's tiles,
  // take one evaluation each.
  const bool per_window = engine::one_step_a_part(engine::spec_of(p.kind), p.strength);
  const bool tiles = engine::spec_of(p.kind).one_step_at_default;
  const QString name = QString::fromUtf8(edit::to_string(p.kind).data());
  // An edit of one evaluation draws no noise: its seed and steps say nothing, where it went does.
  const QString what = engine::spec_of(p.kind).one_evaluation
                           ? tr("Apply %1 (%2)").arg(name, has_inputs(*impl_->document, p.kind) ? tr("where masked") : tr("whole photo"))
                           : tr("Apply %1 (seed %2, %3%4)")
                           .arg(name)
                           .arg(p.seed)
                           .arg(per_window ? (tiles ? tr("one step a tile") : tr("one step a window")) : n == 1 ? tr("1 step") : tr("%1 steps").arg(n))
                           .arg(!engine::spec_of(p.kind).has_strength ? QString()
                                : p.strength < 0                          ? tr(", strength auto")
                                                                          : tr(", strength %1 %").arg(qRound(100 * p.strength)));
  if (!part && result.size() != impl_->document->size()) {  // super-resolution or a generated image: a new size
    impl_->document->replaceWithResized(result, what);
    return true;
  }
  impl_->document->undoStack()->beginMacro(what);  // one undo step: the new pixels and the used-up inputs
  if (part) impl_->document->replacePhotoPart(result, area.topLeft(), what);
  else impl_->document->replacePhoto(result, what, area);
  clear_inputs(*impl_->document, p.kind);
  impl_->document->undoStack()->endMacro();
  return true;
}

EditController::ApplyOutcome EditController::requestApply() {
  if (impl_->change_request.isActive()) request_after_change();  // the change's draft first: Apply follows it
  if (applyPreview()) return ApplyOutcome::Applied;
  Impl& d = *impl_;
  if (!d.model_ready || d.document->isEmpty()) return ApplyOutcome::Nothing;
  // The refinement of this state may already be on its way (latest wins: it is the latest job).
  if (!refinement_coming()) {
    d.refine_timer.stop();  // no need to wait for the hand to rest: the user asked for the result
    if (!request_preview(true, nullptr, true)) return ApplyOutcome::Nothing;
  }
  set_apply_pending(true);
  return ApplyOutcome::WhenReady;
}

bool EditController::applyPending() const { return impl_->apply_pending; }

void EditController::set_apply_pending(bool pending) {
  if (impl_->apply_pending == pending) return;
  impl_->apply_pending = pending;
  Q_EMIT applyPendingChanged(pending);
}

void EditController::discardEdit() {
  discardPreview();
  Document& doc = *impl_->document;
  if (doc.isEmpty() || !has_inputs(doc, impl_->parameters.kind)) return;
  doc.undoStack()->beginMacro(tr("Discard %1").arg(QString::fromUtf8(edit::to_string(impl_->parameters.kind).data())));
  clear_inputs(doc, impl_->parameters.kind);
  doc.undoStack()->endMacro();
}

void EditController::discardPreview() {
  set_apply_pending(false);
  impl_->refine_after_draft = false;
  impl_->dropped_job = impl_->latest_job;  // its windows still on their way stay away
  if (impl_->latest_job != 0) impl_->engine->cancel(impl_->latest_job);  // and its work stops
  impl_->partial_redraw.stop();
  if (impl_->preview.isNull()) return;
  impl_->set_preview(QImage(), QRect());
  Q_EMIT previewCleared();
}

EngineStatus EditController::status() const {
  const engine::EngineStats s = impl_->engine->stats();
  return {QString::fromStdString(s.model), QString::fromStdString(s.device), s.last_step_ms, s.queue_depth, s.busy,
          s.memory_bytes};
}

}  // namespace cm::ui
