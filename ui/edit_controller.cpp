#include "ui/edit_controller.h"

#include "core/engine/edit_registry.h"
#include "core/engine/engine.h"
#include "ui/document.h"
#include "ui/edit_inputs.h"
#include "ui/image_rows.h"
#include "ui/photo_copy.h"
#include "ui/tensor_image.h"

#include <ATen/ATen.h>
#include <QElapsedTimer>
#include <QMetaObject>
#include <QPainter>
#include <QPointer>
#include <QTimer>
#include <QUndoStack>

#include <algorithm>
#include <atomic>
#include <exception>
#include <future>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace cm::ui {

struct EditController::Impl {
  Document* document;
  std::unique_ptr<engine::Engine> engine;
  QString model_path;
  PhotoTensor photo_tensor;
  bool model_ready = false;
  int model_size = 0;  // the loaded model's image side (colour hints are thinned to it)
  EditParameters parameters;
  bool live = false;
  QTimer refine_timer;
  QTimer change_request;  // the preview a change of the inputs asks for, when the change is whole
  QImage preview;
  QRect preview_area;  // where the preview may differ from the photo (image pixels)
  QRect shown_change;  // where preview(), or the photo without one, changed since takePreviewChange
  quint64 preview_revision = 0;
  int preview_steps = 0;  // evaluations behind the preview shown
  bool preview_refined = false;  // Steps evaluations (a refinement, a variation), not the live draft
  bool apply_pending = false;    // Apply waits for the refined preview
  bool applying = false;         // inside applyPreview: its own changes ask for no new preview
  std::uint64_t refine_job = 0;  // the refinement on its way (0: none), of requested_revision
  std::uint64_t draft_job = 0;   // the live draft on its way (0: none), of requested_revision
  quint64 requested_revision = 0;  // the document revision of the latest preview request
  bool refine_after_draft = false;  // the refine delay passed while that draft was on its way
  QElapsedTimer change_clock;    // since the change whose preview the user waits for
  bool preview_complete = true;  // false while an edit along a mask is still adding windows to it
  std::uint64_t partial_job = 0;  // the job whose windows the preview shows so far
  std::uint64_t dropped_job = 0;  // a job whose preview was discarded: its late windows stay away
  QTimer partial_redraw;          // coalesces a burst of windows into one redraw of the canvas
  QPointF brush{-1, -1};
  std::function<QPointF()> view_centre;
  // The photo in the canvas's format, where a partial preview starts (a 50 MP conversion is half
  // a second; a shared copy's first window copied all 195 MB), and in the document's, where the
  // result of an edit along a mask is painted (its own copy of the photo took each result of a dab
  // on 50 MP 0.4 s and 390 MB). Each is borrowed and given back with the preview's pixels made the
  // photo's again (PhotoCopy).
  PhotoCopy photo_8888{QImage::Format_RGBA8888};
  PhotoCopy photo_64{QImage::Format_RGBA64};
  qint64 photo_key_seen = 0;  // the photo's cacheKey() after the last change the copies followed
  PhotoCopy* preview_borrows = nullptr;  // the copy `preview` is, painted over in preview_area
  std::uint64_t latest_job = 0;
  std::uint64_t latest_variations_job = 0;
  // The threads that wait for a model load and report it (loadModel). Joined by the destructor,
  // after the engine has gone (which settles every load): a detached one could still be asking
  // for this controller while it, or the application, was being destroyed.
  std::vector<std::thread> load_waiters;
  QVector<QImage> variations;
  QVector<quint64> variation_seeds;
  QVector<QRect> variation_areas;  // where each differs from the photo
  std::optional<QPoint> variation_origin;  // where variations' parts lie in the photo; none: whole pictures
  quint64 variations_revision = 0;
  int variation_steps = 0;
  int running = 0;
  double last_latency_ms = 0;
  std::vector<double> last_sigmas;  // of the last result that was the latest request's
  // The preview becomes `image`, which differs from the photo only inside `area`; a null image
  // clears it. Either way the picture changed where the old or the new preview differs from the photo.
  void set_preview(const QImage& image, QRect area) {
    if (!preview.isNull()) shown_change |= preview_area;
    if (preview_borrows) give_back();
    shown_change |= area;
    preview = image;
    preview_area = image.isNull() ? QRect() : area;
  }
  // The preview becomes `copy` of the photo, borrowed, with `part` painted at `at`: it differs
  // from the photo inside `area`.
  void set_preview_over(PhotoCopy& copy, const QImage& part, QPoint at, QRect area) {
    set_preview(QImage(), QRect());  // gives back what the preview borrowed: it may be this copy
    QImage buffer = copy.lend(document->photo());
    photo_key_seen = document->photo().cacheKey();
    if (!part.isNull()) copy_block(part.convertToFormat(buffer.format()), QPoint(0, 0), buffer, QRect(at, part.size()) & buffer.rect());
    set_preview(buffer, area);
    preview_borrows = &copy;
  }
  // The preview was a borrowed copy: it goes back, its painted pixels made the photo's again.
  void give_back() {
    PhotoCopy* copy = std::exchange(preview_borrows, nullptr);
    copy->give_back(std::exchange(preview, QImage()), preview_area, document->photo());
  }
  // The photo changed in `area`: the copies follow there.
  void photo_changed(qint64 key_before, QRect area) {
    photo_8888.follow(key_before, area, document->photo());
    photo_64.follow(key_before, area, document->photo());
  }
};

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

bool EditController::request_preview(bool refine, const LayerOverride* over, bool same_wait) {
  if (!impl_->model_ready) return false;
  const EditParameters& p = impl_->parameters;
  // An edit of one evaluation (engine::EditSpec::one_evaluation), or a super-resolution at the auto
  // strength (one a tile, EditSpec::one_step_at_default), has no draft: its first preview is the
  // refined one, and a refinement asked for while it comes or after it came is that one.
  const engine::EditSpec& spec = engine::spec_of(p.kind);
  const bool one_evaluation = spec.one_evaluation || (spec.one_step_at_default && p.strength < 0);  // as engine's schedule_for
  if (refine && one_evaluation && !over && (refinement_coming() || refinement_shown())) return true;
  const bool refined = refine || one_evaluation;
  auto built = build_request(*impl_->document, p, one_evaluation ? 1 : refined ? p.refine_steps : p.preview_steps,
                             impl_->photo_tensor, impl_->model_size, over);
  if (!built) return false;
  auto& [r, source] = *built;
  r.preview = true;
  // The live preview is a draft (on the CPU at the model's size, to keep up with the brush); the
  // refined one, which Apply commits, is interactive (engine::EditRequest::Use).
  r.use = refined ? engine::EditRequest::Use::Interactive : engine::EditRequest::Use::Draft;
  const quint64 revision = impl_->document->revision();
  const int steps = r.steps;
  if (!refine) set_apply_pending(false);  // a new draft: the edit changed (its settings, the model) under a waiting Apply
  if (!same_wait || !impl_->change_clock.isValid()) impl_->change_clock.start();
  const QElapsedTimer clock = impl_->change_clock;  // what the user has waited so far, and waits on
  // An edit shows its parts as they come (region.h: windows along a mask, the brush's first;
  // strips of a colorization; tiles of a super-resolution over its enlarged start, and of a
  // denoise, both from where the user looks): on a large photo the whole edit takes seconds or
  // minutes (a denoise of 16 MP, 7,000 tiles, five minutes on 2 cores), its first part a fraction
  // of a second.
  auto job = std::make_shared<std::atomic<std::uint64_t>>(0);
  std::shared_ptr<QRect> changed;  // where the result may differ from the source, when known
  const bool along_mask = r.mask.defined() && (r.kind == edit::EditKind::Inpaint || r.kind == edit::EditKind::Sketch);
  const bool tiled = r.kind == edit::EditKind::SuperResolve || r.kind == edit::EditKind::Denoise;
  if (along_mask || r.kind == edit::EditKind::Colorize || tiled) {
    // A denoise where the user painted starts where the brush last was, as a mask's windows do.
    const bool from_view = tiled && !r.mask.defined();
    if (from_view && impl_->view_centre) {
      // In the input's pixels: a super-resolution's is its selection.
      const QRect input = r.kind == edit::EditKind::SuperResolve && !p.selection.isEmpty()
                              ? p.selection & QRect(QPoint(0, 0), impl_->document->size())
                              : QRect(QPoint(0, 0), impl_->document->size());
      const QPointF centre = impl_->view_centre() - QPointF(input.topLeft());
      r.region.focus_y = std::clamp<int64_t>(qRound(centre.y()), 0, std::max(0, input.height() - 1));
      r.region.focus_x = std::clamp<int64_t>(qRound(centre.x()), 0, std::max(0, input.width() - 1));
    } else if (!from_view && impl_->brush.x() >= 0) {
      r.region.focus_y = qRound(impl_->brush.y()), r.region.focus_x = qRound(impl_->brush.x());
    }
    QPointer<EditController> self(this);
    // A super-resolution reports its whole enlarged start first (region.h).
    auto starts_whole = std::make_shared<std::atomic<bool>>(r.kind == edit::EditKind::SuperResolve);
    const bool opaque = impl_->document->photoIsOpaque();
    // An edit along a mask changes its windows' cores and nothing else (region.h's on_window): the
    // result is converted, and compared with the photo, there.
    if (along_mask) changed = std::make_shared<QRect>();
    r.region.reported_box_only = along_mask;  // the result is then that rectangle (submit)
    r.region.on_window = [self, job, revision, source, opaque, clock, steps, starts_whole, changed](int64_t y0, int64_t x0,
                                                                                                  const at::Tensor& pixels) {
      const QRect where(int(x0), int(y0), int(pixels.size(3)), int(pixels.size(2)));
      if (changed) *changed |= where;  // on the worker's thread, as is the result's conversion
      // On the worker thread, in the canvas's 8 bits; a photo with alpha keeps its own where the
      // part lies in it (not in an enlargement).
      const QImage tile = !opaque && source.rect().contains(where) ? rgba64_like(pixels.to(at::kCPU), source.copy(where))
                                                                    : rgba8888_image(pixels);
      const double ms = double(clock.elapsed());
      const bool whole = starts_whole->exchange(false);
      QMetaObject::invokeMethod(self.data(), [self, job, revision, at = where.topLeft(), tile, ms, steps, whole] {
        if (self) self->paste_window(job->load(), revision, at, tile, ms, steps, whole);
      }, Qt::QueuedConnection);
    };
  }
  submit(std::move(r), [this, revision, steps, clock, refined, along_mask](const QVector<QImage>& images, const QVector<QRect>& areas,
                                                                           QPoint origin, const QString& error, double) {
    if (refined) impl_->refine_job = 0;
    else impl_->draft_job = 0;
    const bool refine_next = !refined && std::exchange(impl_->refine_after_draft, false);
    if (!error.isEmpty()) {
      set_apply_pending(false);
      Q_EMIT failed(error);
      return;
    }
    // Stale: the document changed after this request was built; its own preview will follow.
    if (images.isEmpty() || revision != impl_->document->revision()) return;
    impl_->partial_redraw.stop();
    if (along_mask) impl_->set_preview_over(impl_->photo_64, images.front(), origin, areas.front());  // its part (submit)
    else impl_->set_preview(images.front(), areas.front());
    impl_->preview_complete = true;
    impl_->preview_refined = refined;
    impl_->preview_revision = revision;
    impl_->preview_steps = steps;
    impl_->last_latency_ms = double(clock.elapsed());  // what the user waited for the whole of it
    Q_EMIT previewReady();
    if (refined && impl_->apply_pending && applyPreview()) Q_EMIT applied();
    if (refine_next) request_preview(true, nullptr, true);  // the draft is on screen; the hand rested meanwhile
  }, source, &impl_->latest_job, changed);
  job->store(impl_->latest_job);
  impl_->refine_job = refined ? impl_->latest_job : 0;
  impl_->draft_job = refined || over ? 0 : impl_->latest_job;  // a provisional preview is no draft of the document
  impl_->requested_revision = revision;
  impl_->refine_after_draft = false;  // a new request: the refinement of an older draft is not this one's
  return true;
}

void EditController::paste_window(std::uint64_t job, quint64 revision, QPoint at, const QImage& pixels, double ms, int steps,
                                  bool whole) {
  Impl& d = *impl_;
  if (job == 0 || job != d.latest_job || job == d.dropped_job || revision != d.document->revision()) return;
  const bool first = d.partial_job != job;
  if (first) {  // the photo, until the parts cover what the edit changes
    d.partial_job = job;
    if (whole) {
      d.set_preview(pixels.convertToFormat(QImage::Format_RGBA8888), pixels.rect());  // an enlargement's start
    } else if (d.preview_complete && d.preview_revision == revision && !d.preview.isNull()) {
      // A refinement of the whole preview on screen (the same document): its parts replace that
      // draft's one by one, and the draft shows until they come, not the photo (a wide sketch's
      // refinement takes half a minute on a 12 MP photo, and its paint vanished meanwhile). The
      // whole result replaces it all when it comes. A draft painted over a copy of the photo is
      // its part over the other copy (the same picture, in the canvas's format).
      if (d.preview_borrows) {
        const QRect area = d.preview_area;
        d.set_preview_over(d.photo_8888, area.isEmpty() ? QImage() : d.preview.copy(area), area.topLeft(), area);
      } else {
        d.preview = d.preview.convertToFormat(QImage::Format_RGBA8888);  // the same picture
      }
    } else {
      // In the canvas's own format (no conversion of 12 megapixels per redraw), borrowed: a
      // preview still holding it gives it back first.
      d.set_preview_over(d.photo_8888, QImage(), QPoint(), QRect());
    }
    d.preview_complete = false;
    d.preview_refined = false;
    d.preview_revision = revision;
    d.preview_steps = steps;
    d.last_latency_ms = ms;
  }
  if (d.preview_complete) return;  // the whole result came first
  QPainter painter(&d.preview);
  painter.setCompositionMode(QPainter::CompositionMode_Source);
  painter.drawImage(at, pixels);
  painter.end();
  const QRect part = QRect(at, pixels.size()) & d.preview.rect();
  d.preview_area |= part;
  d.shown_change |= part;
  if (first) Q_EMIT previewPartial();
  else if (!d.partial_redraw.isActive()) d.partial_redraw.start();
}

void EditController::requestVariations(int count) {
  if (impl_->change_request.isActive()) request_after_change();
  if (!impl_->model_ready || count < 1) return;
  const EditParameters& p = impl_->parameters;
  auto built = build_request(*impl_->document, p, p.refine_steps, impl_->photo_tensor, impl_->model_size);
  if (!built) return;
  auto& [r, source] = *built;
  r.group = "variations";
  r.use = engine::EditRequest::Use::Interactive;
  QVector<quint64> seeds;
  for (int i = 1; i <= count; ++i) seeds.push_back(p.seed + quint64(i));
  r.variation_seeds.assign(seeds.begin(), seeds.end());
  const quint64 revision = impl_->document->revision();
  const int steps = r.steps;
  // Along a mask each variation comes back as the box of the windows it reported (submit).
  std::shared_ptr<QRect> changed;
  const bool along_mask = r.mask.defined() && (r.kind == edit::EditKind::Inpaint || r.kind == edit::EditKind::Sketch);
  if (along_mask) {
    changed = std::make_shared<QRect>();
    r.region.reported_box_only = true;
    r.region.on_window = [changed](int64_t y0, int64_t x0, const at::Tensor& pixels) {
      *changed |= QRect(int(x0), int(y0), int(pixels.size(3)), int(pixels.size(2)));  // the same windows for every seed
    };
  }
  submit(std::move(r), [this, revision, seeds, steps, along_mask](const QVector<QImage>& images, const QVector<QRect>& areas,
                                                                   QPoint origin, const QString& error, double) {
    if (!error.isEmpty()) {
      Q_EMIT failed(error);
      return;
    }
    if (images.size() != seeds.size() || revision != impl_->document->revision()) return;
    impl_->variations = images;
    impl_->variation_areas = areas;
    impl_->variation_origin = along_mask ? std::optional<QPoint>(origin) : std::nullopt;
    impl_->variation_seeds = seeds;
    impl_->variations_revision = revision;
    impl_->variation_steps = steps;
    Q_EMIT variationsReady();
  }, source, &impl_->latest_variations_job, changed);
}

const QVector<QImage>& EditController::variations() const { return impl_->variations; }
std::optional<QPoint> EditController::variationOrigin() const { return impl_->variation_origin; }
const QVector<quint64>& EditController::variationSeeds() const { return impl_->variation_seeds; }
const QVector<QRect>& EditController::variationAreas() const { return impl_->variation_areas; }

bool EditController::adoptVariation(int index) {
  Impl& d = *impl_;
  if (index < 0 || index >= d.variations.size() || d.variations_revision != d.document->revision()) return false;
  d.parameters.seed = d.variation_seeds[index];
  const QRect area = d.variation_areas.value(index, d.variations[index].rect());
  if (d.variation_origin) d.set_preview_over(d.photo_64, d.variations[index], *d.variation_origin, area);
  else d.set_preview(d.variations[index], area);
  d.preview_revision = d.variations_revision;
  d.preview_steps = d.variation_steps;
  d.preview_complete = true;
  d.preview_refined = true;  // at the refine step count
  Q_EMIT previewReady();
  return true;
}

void EditController::submit(engine::EditRequest request, ResultHandler handle, const QImage& source,
                            std::uint64_t* latest, std::shared_ptr<const QRect> changed) {
  QPointer<EditController> self(this);
  engine::JobCallbacks callbacks;
  callbacks.on_progress = [self](const engine::Progress& progress) {
    if (!self) return;
    QMetaObject::invokeMethod(self.data(), [self, step = progress.step, total = progress.total] {
      if (self) Q_EMIT self->progress(step, total);
    }, Qt::QueuedConnection);
  };
  const QImage photo = impl_->document->photo();  // shared, not copied: the document's next change copies its own
  callbacks.on_result = [self, source = QImage(source), photo = QImage(photo), handle, latest, changed](const engine::EditResult& result) mutable {
    // Convert on the worker thread; only the UI thread touches the controller. Where each result
    // differs from the photo is found here too: a masked edit of 50 MP changes a small part of it,
    // and the canvas redraws that part only. An edit along a mask says what it changed, and its
    // result is only that (RegionOptions::reported_box_only), which the UI thread paints over a
    // copy of the photo: a sketch's source is the photo with its strokes, which lie in its mask.
    QVector<QImage> images;
    QVector<QRect> areas;
    QPoint origin;
    if (changed) {
      const QRect within = *changed & photo.rect();
      origin = within.topLeft();
      const QImage photo_part = within.isEmpty() ? QImage() : photo.copy(within).convertToFormat(QImage::Format_RGBA64);
      for (QImage& part : result_parts(result, source, within)) {  // a part of nothing where nothing changed
        areas.push_back(part.isNull() ? QRect() : differing_rect(part, photo_part).translated(origin));
        images.push_back(std::move(part));
      }
    } else {
      images = result_images(result, source);
      for (const QImage& image : images) areas.push_back(differing_rect(image, photo));
    }
    source = photo = QImage();  // let go before the UI thread sees the result: an Apply writes into the photo
    const QString error = result.status == engine::JobStatus::Failed ? QString::fromStdString(result.error) : QString();
    const std::uint64_t id = result.id;
    const double ms = result.timings.total_ms;
    if (!self) return;
    QMetaObject::invokeMethod(self.data(), [self, images, areas, origin, error, id, ms, handle, latest, sigmas = result.sigmas] {
      if (!self) return;
      if (--self->impl_->running == 0) Q_EMIT self->busyChanged(false);
      if (id != *latest) return;  // a newer request of the same kind is on its way
      self->impl_->last_sigmas = sigmas;
      handle(images, areas, origin, error, ms);
    }, Qt::QueuedConnection);
  };
  std::uint64_t id = 0;
  impl_->engine->submit(std::move(request), std::move(callbacks), &id);
  *latest = id;
  if (impl_->running++ == 0) Q_EMIT busyChanged(true);
}

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
