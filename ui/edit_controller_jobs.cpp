// The requests the edit controller sends the engine (a preview: its draft and refinement; the
// variations) and what comes back: results converted on the worker, windows pasted into the
// preview as they come (edit_controller_impl.h holds the state).
#include "core/engine/edit_registry.h"
#include "ui/edit_controller_impl.h"
#include "ui/tensor_image.h"

#include <ATen/ATen.h>
#include <QMetaObject>
#include <QPainter>
#include <QPointer>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <utility>

namespace cm::ui {

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
  }, source, &impl_->latest_job, changed, /*for_canvas=*/true);
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

namespace {

// A whole result of at least this many pixels is also made in the canvas's format on the worker.
constexpr qint64 kCanvasOnWorker = qint64(1) << 20;

}  // namespace

void EditController::submit(engine::EditRequest request, ResultHandler handle, const QImage& source,
                            std::uint64_t* latest, std::shared_ptr<const QRect> changed, bool for_canvas) {
  QPointer<EditController> self(this);
  engine::JobCallbacks callbacks;
  callbacks.on_progress = [self](const engine::Progress& progress) {
    if (!self) return;
    QMetaObject::invokeMethod(self.data(), [self, step = progress.step, total = progress.total] {
      if (self) Q_EMIT self->progress(step, total);
    }, Qt::QueuedConnection);
  };
  const QImage photo = impl_->document->photo();  // shared, not copied: the document's next change copies its own
  callbacks.on_result = [self, source = QImage(source), photo = QImage(photo), handle, latest, changed,
                         for_canvas](const engine::EditResult& result) mutable {
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
    QImage canvas;  // what the canvas shows of it, made here too: see takePreviewInCanvasFormat
    if (for_canvas && !changed && !images.isEmpty() && qint64(images.front().width()) * images.front().height() >= kCanvasOnWorker)
      canvas = images.front().convertToFormat(QImage::Format_RGBA8888);
    const qint64 canvas_of = canvas.isNull() ? 0 : images.front().cacheKey();
    source = photo = QImage();  // let go before the UI thread sees the result: an Apply writes into the photo
    const QString error = result.status == engine::JobStatus::Failed ? QString::fromStdString(result.error) : QString();
    const std::uint64_t id = result.id;
    const double ms = result.timings.total_ms;
    if (!self) return;
    QMetaObject::invokeMethod(self.data(), [self, images, areas, origin, error, id, ms, handle, latest, sigmas = result.sigmas,
                                            canvas = std::move(canvas), canvas_of]() mutable {
      if (!self) return;
      if (--self->impl_->running == 0) Q_EMIT self->busyChanged(false);
      if (id != *latest) return;  // a newer request of the same kind is on its way
      self->impl_->last_sigmas = sigmas;
      self->impl_->preview_canvas = std::move(canvas);  // the handler's preview, if it takes this result
      self->impl_->preview_canvas_of = canvas_of;
      handle(images, areas, origin, error, ms);
    }, Qt::QueuedConnection);
  };
  std::uint64_t id = 0;
  impl_->engine->submit(std::move(request), std::move(callbacks), &id);
  *latest = id;
  if (impl_->running++ == 0) Q_EMIT busyChanged(true);
}

}  // namespace cm::ui
