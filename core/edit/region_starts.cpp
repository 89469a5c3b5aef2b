// The windows' starts along a mask (region_starts.h).
#include "core/edit/region_starts.h"

#include "core/base/cancel.h"
#include "core/base/error.h"
#include "core/edit/coherence_transport.h"
#include "core/edit/estimates.h"
#include "core/edit/exemplar_fill.h"
#include "core/edit/healing.h"
#include "core/edit/mask.h"
#include "core/edit/mask_spots.h"
#include "core/edit/pixels.h"
#include "core/edit/resample.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace cm::edit::region::detail {
namespace {

// The exemplar fill works at a scale where its window is at most this many pixels across: it
// costs about a second per 100² hole pixels on one CPU core. The window keeps the fill at its own
// size and adds only the model's change to it, so a fill made smaller is a blur on the photo: on
// the 17 held-out 768-px photos with object holes (docs/QUALITY.md, "Objects") 256 → 512 took the
// result's SWD from 113.6 to 64.4 and its gradient ratio from 0.71 to 1.14, for 0.27 dB of PSNR
// (which rewards blur) and +0.6 s a photo on 2 CPU cores. A live preview (a draft) never pays it.
constexpr int64_t kExemplarSide = 512;
// One fill for the whole mask (fill_the_whole_mask) is made on its box and surroundings at most
// this many pixels across: a window's fill is made on twice the window, kExemplarSide · 2.
constexpr int64_t kWholeMaskSide = 2 * kExemplarSide;
// A window's exemplar fill serves the windows after it while together they are at most this many
// pixels across (exemplar_estimate's stretch). The windows along a thin stroke are 64–128 px and
// each made its own fill of twice its side around it: a 36-px stroke 2,300 px long on a 20 MP
// photo took 51 fills and 64 s, 12 fills and 36 s in stretches.
constexpr int64_t kFillStretch = 384;
// A sketch's paint is carried onto the copy below the scale of two box blurs of this radius
// (carry_paint): the texture is the copy's, the colour the painting's.
constexpr int kPaintRadius = 4;
constexpr double kCompactShare = 0.25;  // of its bounding box that a mask filled at once covers
// How deep the hole must stay at the scale of one fill of the whole mask (fill_the_whole_mask), or
// the exemplar depth when that is more. A long wide stroke drawn straight is "one object" by its
// box, and filled at once at a scale where it is thin: its windows' own fills are nearer the
// photo's pixels. (The exemplar depth was 32 until strokes from 32 px across took patches.)
constexpr int kWholeFillDepth = 32;
constexpr int64_t kMembraneDepths = 4;   // the photo around one membrane's hole, in hole depths

// The exemplar fill of `hole` in `image` (a part of the photo, float), made on a copy of it
// `scale` times the size (≤ 1) and enlarged with the photo's own pixels (enlarge_fill), through
// the cache. A sketch's fill follows its painting's colours (exemplar_fill's layout).
at::Tensor fill_at_scale(const Job& job, const at::Tensor& image, const at::Tensor& hole, double scale) {
  const bool sketch = job.mode == Mode::Sketch;
  ExemplarOptions options;
  // Another seed for a sketch's fill: where a painting leaves a window's pixels as the photo's,
  // its fill and an inpainting's are two entries of the cache.
  if (sketch) options.seed = 1;
  const auto fill = [&] {
    if (scale >= 1) return exemplar_fill(image, ~hole, options, sketch ? image : at::Tensor());
    const int64_t h = std::max<int64_t>(1, std::lround(double(image.size(2)) * scale));
    const int64_t w = std::max<int64_t>(1, std::lround(double(image.size(3)) * scale));
    const at::Tensor small_hole = resize_mask(hole.to(at::kFloat), h, w) > 0;  // any hole pixel under it
    const at::Tensor small_image = resize_image(image, h, w);
    return enlarge_fill(image, ~hole, exemplar_copy(small_image, ~small_hole, options, sketch ? small_image : at::Tensor()));
  };
  return job.settings.exemplar_cache ? job.settings.exemplar_cache->get_or_fill(image, hole, options.seed, fill) : fill();
}

// The hole an exemplar fill copies into over `area`: the mask grown by `grow`. Its feathered band
// is the photo's own pixels fading into the edit (edit_window), and the fill's time grows with
// its hole.
at::Tensor exemplar_hole(const Job& job, const Box& area) { return compositing_weights(job.mask, area, job.o) >= 1; }

// Whether the mask is one object (it covers kCompactShare of its box `mask_box`), not strokes over
// the photo: strokes' windows fill from their own surroundings, nearer what each stroke hid
// (free-form strokes on the 17 held-out 768-px photos lost 0.2 dB filled as one, docs/QUALITY.md
// "One fill for an object").
bool one_object(const at::Tensor& mask, const Box& mask_box) {
  const double area = double(mask_box.height()) * double(mask_box.width());
  return !mask_box.empty() && (slice(mask, mask_box) > 0).sum().item<double>() >= kCompactShare * area;
}

// What one fill of the whole mask (fill_the_whole_mask) is made on: the box of the hole (the
// mask's box grown by its compositing's reach) with half its side around.
Box whole_mask_context(const Job& job, const Box& mask_box) {
  const int64_t height = job.mask.size(2), width = job.mask.size(3);
  const Box hole_box = grown(mask_box, job.o.grow + 2 * job.o.feather, height, width);
  return grown(hole_box, std::max(hole_box.height(), hole_box.width()) / 2, height, width);
}

}  // namespace

// The exemplar fill of this window's hole. Where an earlier fill covers it, that fill (in
// `starts`). Else one is made for a stretch of the mask, this window and the next ones (the plan
// follows a stroke), copied from the stretch's surroundings (half the window on every side), and
// written into `starts` over the stretch and a quarter of the window around it, where its patches
// had the photo on every side. Every pixel of the mask that no window has composited and no
// earlier fill covers is hole there too, so what the photo held under the mask is never copied;
// an earlier fill is known, and the texture goes on from it. When the whole mask was filled at
// once (fill_the_whole_mask), that fill.
at::Tensor exemplar_estimate(const Job& job, Starts& starts, const WindowPlan& plan, std::size_t index) {
  const Box& window = plan.windows[index].window;
  const Box photo{0, 0, plan.height, plan.width};
  const auto unfilled = [&](const Box& area) {
    const at::Tensor hole = exemplar_hole(job, area) & plan.owned_before(index, area).logical_not();
    return starts.copied.defined() ? hole & slice(starts.copied, relative(area, starts.box)).logical_not() : hole;
  };
  if (job.whole_mask_filled || !unfilled(intersection(window, photo)).any().item<bool>()) {
    // A copy, not a view of `starts`: the windows after this one write into it while this one's
    // start waits for the model (PreparedWindows).
    const at::Tensor here = to_unit(starts.around(window)).to(at::kFloat);
    return here.is_alias_of(starts.pixels) ? here.clone() : here;
  }
  // The stretch: this window and the next ones, while together they are at most kFillStretch across.
  const int64_t side = window.height();
  Box stretch = intersection(window, photo);
  for (std::size_t next = index + 1; next < plan.windows.size(); ++next) {
    const Box with_next = hull(stretch, intersection(plan.windows[next].window, photo));
    if (std::max(with_next.height(), with_next.width()) > kFillStretch) break;
    stretch = with_next;
  }
  const Box context = grown(stretch, side / 2, plan.height, plan.width);
  const at::Tensor image = to_unit(starts.at(context)).to(at::kFloat).contiguous();
  const at::Tensor hole = unfilled(context).to(image.device()).contiguous();
  const at::Tensor copy = fill_at_scale(job, image, hole, std::min(1.0, double(kExemplarSide) / double(side)));
  // A sketch's fill is written with its paint carried onto it (as sketch_exemplar_start does; in
  // the hole `image` is the painting). Written bare, the next fill went on from a bare copy beside
  // painted pixels, its brightness stepped where the two fills met, and the step's detail, carried
  // with the paint, was a dark and a light line across the stroke
  // (StrokeFill.ASketchedStrokeHasNoLineWhereTwoFillsMeet).
  const at::Tensor filled = job.mode == Mode::Sketch
                                ? at::where(hole.expand_as(copy), carry_paint(image, copy, hole, kPaintRadius), copy)
                                : copy;
  const Box kept = grown(stretch, side / 4, plan.height, plan.width), in_kept = relative(kept, context);
  const at::Tensor written = slice(hole, in_kept);
  at::Tensor target = starts.at(kept);
  target.copy_(at::where(written, to_form_of(slice(filled, in_kept), starts.pixels), target));
  if (!starts.copied.defined()) starts.copied = at::zeros({1, 1, starts.box.height(), starts.box.width()}, at::kBool);
  slice(starts.copied, relative(kept, starts.box)).logical_or_(written.to(at::kCPU));
  return crop_replicate(filled, relative(window, context));
}

bool starts_from_estimate(const Job& job) { return job.mode == Mode::Sketch || job.settings.warm_start; }

PreparedWindow prepare_window(const Job& job, const at::Tensor& photo, Starts& starts, const WindowPlan& plan,
                              std::size_t index) {
  const MaskWindow& mw = plan.windows[index];
  const Box& window = mw.window;
  const c10::Device device = photo.device();
  PreparedWindow p;
  p.weights = compositing_weights(job.mask, window, job.o).to(device);
  const at::Tensor unowned = plan.owned_before(index, window).to(device).logical_not();
  p.generate = (p.weights > 0) & unowned;
  // What inpainting's start fills: the mask grown by `grow`. Its feathered band keeps the photo's
  // own pixels, as a sketch's exemplar fill leaves them, and fades from the model's change into
  // the photo. Filled as hole, the band of the editor's default feather (8) turned a 22-px stroke
  // across a castle into a 58-px smear, with the roof's windows mirrored into the sky
  // (docs/QUALITY.md, "Feather").
  p.hole = (p.weights >= 1) & unowned;
  const Box core = relative(mw.core, window);
  p.edits = slice(p.generate, core).any().item<bool>();  // else its core only holds pixels others own
  if (!p.edits) return p;
  // `starts` exists when some window of the mask starts from the exemplar fill (along_the_mask).
  p.kind = hole_start(starts_from_estimate(job), job.o, [&] {
    return starts.defined() && window_takes_patches(job, mw, p.hole);
  });
  p.exemplar = p.kind == HoleStart::Exemplar && starts.defined();
  // Against the photo with the earlier windows' starts, not their results: the fills then depend
  // on the photo and the mask alone, and a new seed, strength or step count (variations, a
  // refinement) takes every window's fill from the cache.
  if (p.exemplar) p.copied = exemplar_estimate(job, starts, plan, index).to(device);
  if (!starts.defined()) return p;
  at::Tensor start;
  if (p.exemplar) {
    // No earlier window wrote where this one regenerates (those pixels are no earlier window's),
    // so inside the photo that is the photo (a sketch's painting) as the edit's result holds it
    // when the window is edited, and the start over the core is the one edit_window makes. Where
    // a mask reaches the photo's edge, the window's pixels beyond it repeat the edge: a sketch
    // carries its paint from there too, and here that is the painting's edge, not an earlier
    // window's result there (which edit_window's own start reads).
    const at::Tensor own = to_unit(crop_replicate(photo, window)).to(at::kFloat);
    start = job.mode == Mode::Sketch ? sketch_exemplar_start(own, p.generate, p.copied)
                                     : at::where(p.hole.expand_as(own), p.copied, own);
  } else {
    const at::Tensor in_starts = to_unit(starts.around(window)).to(at::kFloat);
    start = job.mode == Mode::Sketch ? sketch_start(job, in_starts, p.generate) : smooth_start(job, p.kind, in_starts, p.hole);
  }
  at::Tensor target = starts.at(mw.core);
  target.copy_(at::where(slice(p.generate, core), to_form_of(slice(start, core), starts.pixels), target));
  return p;
}

// How many windows the thread prepares beyond the last one taken: each holds its weights and its
// fill (5 MB for a 544-px window), and a cable across a 50 MP photo has hundreds of windows.
constexpr std::size_t kMostAhead = 8;

std::atomic<std::size_t> prepared_ahead{0};  // windows_prepared_ahead

struct PreparedWindows::Thread {
  std::vector<std::promise<PreparedWindow>> made;
  std::vector<std::future<PreparedWindow>> taken;
  std::mutex mutex;  // guards taken_count and stop's wake-up
  std::condition_variable one_taken;
  std::size_t taken_count = 0;
  std::atomic<bool> stop{false};
  std::thread thread;
};

PreparedWindows::PreparedWindows(const Job& job, const at::Tensor& photo, Starts& starts, const WindowPlan& plan,
                                 bool ahead)
    : job_(job), photo_(photo), starts_(starts), plan_(plan) {
  if (!ahead) return;
  ++prepared_ahead;
  thread_ = std::make_unique<Thread>();
  Thread& t = *thread_;
  t.made.resize(plan.windows.size());
  for (std::promise<PreparedWindow>& p : t.made) t.taken.push_back(p.get_future());
  t.thread = std::thread([this, &t, job_stops = cancel_check()] {
    at::init_num_threads();  // the engine's thread count, not OpenMP's default of every core
    const at::NoGradGuard no_grad;
    const CancelScope stops([&] { return t.stop.load() || (job_stops && job_stops()); });
    for (std::size_t i = 0; i < t.made.size(); ++i) {
      try {
        {
          std::unique_lock<std::mutex> lock(t.mutex);
          t.one_taken.wait(lock, [&] { return t.stop.load() || i < t.taken_count + kMostAhead; });
        }
        throw_if_cancelled();
        t.made[i].set_value(prepare_window(job_, photo_, starts_, plan_, i));
      } catch (...) {
        t.made[i].set_exception(std::current_exception());
        return;
      }
    }
  });
}

PreparedWindows::~PreparedWindows() {
  if (!thread_) return;
  {
    const std::lock_guard<std::mutex> lock(thread_->mutex);
    thread_->stop = true;  // it stops at its next check: a fill's search round at most
  }
  thread_->one_taken.notify_one();
  thread_->thread.join();
}

std::size_t windows_prepared_ahead() { return prepared_ahead.load(); }

PreparedWindow PreparedWindows::take(std::size_t index) {
  if (!thread_) return prepare_window(job_, photo_, starts_, plan_, index);
  {
    const std::lock_guard<std::mutex> lock(thread_->mutex);
    ++thread_->taken_count;
  }
  thread_->one_taken.notify_one();
  return thread_->taken[index].get();
}

// The part of the photo that Starts holds: the windows' part of the photo with half the largest
// window's side around it (exemplar_estimate's contexts), and the whole mask's fill's context.
Box starts_box(const Job& job, const Box& windows, int64_t largest_side, const Box& mask_box) {
  const int64_t height = job.mask.size(2), width = job.mask.size(3);
  return hull(grown(windows, largest_side / 2, height, width), whole_mask_context(job, mask_box));
}

// One exemplar fill of the whole mask, written into `starts`, when the mask is one object (it
// covers kCompactShare of its box) and at the scale of one fill (its box and half its side
// around, at most kWholeMaskSide px across) the hole is still kWholeFillDepth deep. Window by
// window, each fill met the earlier windows' fills in seams of texture along their cores: a
// sundial removed from a 12 MP photo came back as four blocks. One fill is one texture, and one
// search instead of one per window. A long stroke keeps its windows' own fills, made closer to
// the photo's pixels.
bool fill_the_whole_mask(const Job& job, Starts& starts, const Box& mask_box) {
  if (!one_object(job.mask, mask_box)) return false;
  const Box context = whole_mask_context(job, mask_box);
  const double scale = std::min(1.0, double(kWholeMaskSide) / double(std::max(context.height(), context.width())));
  const int depth = std::max(job.o.exemplar_depth, kWholeFillDepth);
  const int needed = int(std::ceil(depth / scale)) - job.o.grow;  // growing a hole by g deepens it by g
  if (needed > 1 && max_hole_depth(job.mask, needed, /*outside_is_hole=*/true) < needed) return false;
  const at::Tensor image = to_unit(starts.at(context)).to(at::kFloat).contiguous();
  const at::Tensor hole = exemplar_hole(job, context).to(image.device()).contiguous();
  at::Tensor in_starts = starts.at(context);
  in_starts.copy_(to_form_of(fill_at_scale(job, image, hole, scale), starts.pixels));
  return true;
}

WholeMembrane membrane_of_the_whole_mask(const Job& job, const at::Tensor& photo) {
  const Box mask_box = bounding_box(job.mask);
  if (!one_object(job.mask, mask_box)) return {};
  // With a quarter of its side around: the membrane is solved coarse to fine (fill_holes), and its
  // coarse levels need the photo around the hole, not a ring of it. No further than a few times
  // the hole's depth, though: from the level whose pixels are wider than the hole every coarse
  // pixel is known, and nothing beyond reaches the fill. A 24-px stroke 2,100 px long on a 50 MP
  // photo was membrane-filled on 3.4 MP, 1.4 s of every draft before its first window.
  const int64_t longest = std::max(mask_box.height(), mask_box.width());
  const Box depth_area = grown(mask_box, 1, job.mask.size(2), job.mask.size(3));
  const int64_t depth = hole_depths(job.mask, depth_area, int(std::min<int64_t>(longest, 1 << 20)), false).max().item<int>();
  const int64_t around = job.o.grow + std::min(longest / 4, kMembraneDepths * (depth + job.o.grow)) + 8;
  const Box box = grown(mask_box, around, photo.size(2), photo.size(3));
  const at::Tensor image = to_unit(slice(photo, box)).to(at::kFloat);
  const at::Tensor hole = exemplar_hole(job, box).to(image.device());
  return {fill_holes(image, hole.logical_not().to(at::kFloat)), box};
}

// hole_start's question under HoleFill::Auto: whether the hole this window regenerates fully (the
// mask grown by `grow`, less what earlier windows own) is exemplar_depth deep somewhere, or the
// window holds a whole spot that reaches into its core.
bool window_takes_patches(const Job& job, const MaskWindow& mw, const at::Tensor& full_weights_free) {
  for (const Box& spot : job.spots)
    if (contains(mw.window, spot) && !intersection(spot, mw.core).empty()) return true;
  return hole_depth(full_weights_free.logical_not().to(at::kFloat), job.o.exemplar_depth) >= job.o.exemplar_depth;
}

// Whether the hole grown by `grow` is exemplar_depth deep anywhere.
bool deep_somewhere(const at::Tensor& mask, const RegionOptions& o) {
  if (!mask.defined() || mask.dim() != 4) return false;
  // Growing a hole by g pixels (Chebyshev) deepens it by g.
  const int needed = std::max(1, o.exemplar_depth - o.grow);
  return max_hole_depth(mask, needed, /*outside_is_hole=*/true) >= needed;
}

// A thin hole's start: the membrane fill of `hole` in `pixels`; when hole_start says Healed, with
// the edges that cross the hole carried on (transport_crossing_edges) and the photo's mirrored
// texture added (healing.h). The texture's detail is taken over the membrane, where a slope has none.
at::Tensor smooth_start(const Job& job, HoleStart start, const at::Tensor& pixels, const at::Tensor& hole) {
  const at::Tensor membrane = fill_holes(pixels, hole.logical_not().to(at::kFloat));
  if (start != HoleStart::Healed) return membrane;
  at::Tensor distance;
  const at::Tensor detail = mirrored_detail(membrane, hole, &distance);
  const at::Tensor smooth = transport_crossing_edges(pixels, hole, membrane, distance);
  return heal(smooth, detail, hole.to(at::kFloat) * texture_amount(distance, job.o.texture, job.o.texture_reach));
}

// A thin sketch's start: the painting, with the luminance detail of the photo around its strokes
// mirrored in (mirrored_detail, as a thin hole's) where the painting lacks detail of its own
// (heal_missing), fading with the distance from the stroke's edge as a thin hole's start does. A
// painting keeps the edges of what it shows, so it takes two thirds of a thin hole's texture: on
// the 17 held-out 768-px photos with painted brush strokes (docs/QUALITY.md, "Sketch" and
// "Wires") half of it kept 25.16 dB but lost texture (SWD 51.0), two thirds 25.08 dB and 44.7, as
// the mirror before the detail had (25.07, 44.2), without its fold's lines.
constexpr double kSketchTexture = 2.0 / 3.0;

at::Tensor sketch_start(const Job& job, const at::Tensor& pixels, const at::Tensor& generate) {
  if (job.o.texture <= 0) return pixels;
  // The photo's detail around the strokes, taken over its membrane across them (not the paint's).
  const at::Tensor around = fill_holes(pixels, generate.logical_not().to(at::kFloat));
  at::Tensor distance;
  const at::Tensor detail = mirrored_detail(around, generate, &distance);
  const at::Tensor amount = generate.to(at::kFloat) * texture_fade(distance, job.o.texture_reach) * (job.o.texture * kSketchTexture);
  return heal_missing(pixels, detail, amount);
}

// A deep sketch's start: the photo's own patches laid out as painted (exemplar_estimate), with the
// painting's colour below the scale of two box blurs of radius 4 carried over: the texture is
// the copy's, the colour the person painted, even one the photo has nowhere. On the 17 held-out
// 768-px photos with painted objects (docs/QUALITY.md, "Sketch") this kept the copy's texture
// (SWD 84.9 against its 80.2, the coarsest level then guided at 0.5) at 0.8 dB more PSNR, and
// without the copy's colours where they stray.
at::Tensor sketch_exemplar_start(const at::Tensor& pixels, const at::Tensor& generate, const at::Tensor& copied) {
  return at::where(generate.expand_as(pixels), carry_paint(pixels, copied, generate, kPaintRadius), pixels);
}

// A full-size start with the model's change on its scaled-down copy added, enlarged: at strength 0
// the start itself, at its own resolution.
at::Tensor with_change(const at::Tensor& full, const at::Tensor& scaled, const at::Tensor& edited) {
  return (full + at::upsample_bilinear2d(edited - scaled.to(edited.device()), {full.size(2), full.size(3)}, false)).clamp(-1, 1);
}

}  // namespace cm::edit::region::detail
