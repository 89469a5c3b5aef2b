// Inpaint and sketch on photos of any size: windows along the mask (mask_windows.h).
#include "core/base/cancel.h"
#include "core/base/error.h"
#include "core/edit/estimates.h"
#include "core/edit/healing.h"
#include "core/edit/mask.h"
#include "core/edit/mask_spots.h"
#include "core/edit/pixels.h"
#include "core/edit/region.h"
#include "core/edit/region_common.h"
#include "core/edit/region_starts.h"
#include "core/edit/resample.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <thread>

namespace cm::edit::region {
namespace {

using namespace detail;

// Edits one window, prepared by prepare_window, and composites its core into `out` (the photo's
// part around the windows), reporting it to on_window.
void edit_window(const Job& job, PhotoPart& out, const WindowPlan& plan, std::size_t index, const PreparedWindow& p) {
  const MaskWindow& mw = plan.windows[index];
  const Box& window = mw.window;
  const int64_t side = window.height(), work = mw.work;
  const c10::Device device = out.pixels.device();
  const at::Tensor &weights = p.weights, &generate = p.generate, &hole = p.hole;
  const Box core = relative(mw.core, window);

  const at::Tensor pixels = to_unit(out.around(window)).to(at::kFloat);
  const bool warm = job.mode == Mode::Inpaint && job.settings.warm_start;
  // Both start from the photo's own pixels: warm inpainting from its fill of the hole, a sketch
  // from the painting itself (SDEdit). The window then adds only the model's change to them.
  const bool from_estimate = starts_from_estimate(job);
  const bool exemplar = p.exemplar;
  at::Tensor estimate;  // the start at the photo's own resolution (warm inpainting, sketch)
  if (job.mode == Mode::Sketch) {
    estimate = exemplar ? sketch_exemplar_start(pixels, generate, p.copied) : sketch_start(job, pixels, generate);
  } else if (exemplar) {
    // Its known pixels are this window's own (earlier windows' results), its hole the copy's.
    estimate = at::where(hole.expand_as(pixels), p.copied, pixels);
  } else if (warm && p.kind == HoleStart::Smooth && job.membrane.pixels.defined()) {
    // Every hole pixel lies in the membrane's box (the mask grown by `grow`, and more around).
    const Box& b = job.membrane.box;
    const at::Tensor membrane = crop_replicate(job.membrane.pixels, relative(window, b));
    estimate = at::where(hole.expand_as(pixels), membrane.to(pixels.device()), pixels);
  } else if (warm) {
    estimate = smooth_start(job, p.kind, pixels, hole);
  }

  EditSettings s = job.settings;
  if (job.o.window_schedule) s.schedule = job.o.window_schedule({exemplar, double(side) / double(work)});
  // Progress counts this schedule's steps for every window (each takes as many at the default
  // strength, engine::window_steps).
  s.control = part_control(job.settings.control, int(index), s.schedule.steps(), int(plan.windows.size()));
  // Windows at the photo's own scale share the noise plane, so where they overlap they agree.
  s.noise_y0 = job.settings.noise_y0 + window.y0 * work / side;
  s.noise_x0 = job.settings.noise_x0 + window.x0 * work / side;
  const at::Tensor image = resize_image(from_estimate ? estimate : pixels, work, work);
  const at::Tensor generate_small = (resize_mask(generate.to(at::kFloat), work, work) > 0).to(at::kFloat);
  at::Tensor edited;
  if (job.mode == Mode::Sketch) {
    edited = edit::sketch(job.f, image, s, generate_small);
  } else {
    if (warm) s.estimate = image;  // the full-size start, scaled: the residual below starts from exactly this
    edited = edit::inpaint(job.f, image, generate_small, s);
  }
  edited = edited.to(device);
  // A start from the photo's pixels comes back as the model's change on the full-size estimate: at
  // strength 0 the result is the estimate at the photo's own resolution (a sketch's strokes keep
  // their edges, not those of a window scaled down and up), and nothing the hole held bleeds out.
  at::Tensor result;
  if (!from_estimate) result = resize_image(edited, side, side);
  else if (work == side) result = edited;
  else result = with_change(estimate, image, edited);
  // The change's colour blurred over colour_blur of the model's pixels, not the photo's: the
  // model's colour speckle is at its own pixel scale, enlarged with the window. A draft of an
  // object on a 20 MP photo (windows shrunk 10×, 49 %) came back as confetti of 10-px blocks in
  // pastel colours, which two blurs of 2 photo pixels left as they were (docs/QUALITY.md,
  // "Colour at the model's scale").
  if (from_estimate) {
    const double shrink = std::max(1.0, double(side) / double(work));
    result = smooth_colour_change(estimate, result, int(std::lround(job.o.colour_blur * shrink)));
  }

  const at::Tensor w = slice(weights, core), original = slice(pixels, core), fresh = slice(result, core);
  // Where w = 1 exactly the edit's pixels, not a rounding of them.
  const at::Tensor blended = at::where(w >= 1, fresh, original + w * (fresh - original));
  at::Tensor target = out.at(mw.core);
  target.copy_(at::where(slice(generate, core), to_form_of(blended, out.pixels), target));
  if (job.o.on_window) job.o.on_window(mw.core.y0, mw.core.x0, target);
}

at::Tensor along_the_mask(const model::ConsistencyFunction& f, const at::Tensor& photo, const at::Tensor& mask,
                          const EditSettings& settings, const RegionOptions& o, Mode mode) {
  WindowRules rules;
  rules.model_size = model_size(f);
  rules.max_work = work_size(f, o, std::numeric_limits<int32_t>::max());
  rules.shrink = o.window_shrink;
  rules.context = o.context;
  rules.reach = o.grow + 2 * o.feather;
  rules.focus_y = o.focus_y, rules.focus_x = o.focus_x;
  const WindowPlan plan = plan_windows(mask, rules);
  const Box whole{0, 0, plan.height, plan.width};
  Box windows;  // their part inside the photo: all that the windows read and write
  int64_t largest_side = 0;
  for (const MaskWindow& w : plan.windows) {
    windows = windows.empty() ? intersection(w.window, whole) : hull(windows, intersection(w.window, whole));
    largest_side = std::max(largest_side, w.window.height());
  }
  if (windows.empty()) return o.reported_box_only ? slice(photo, Box{}).clone() : photo.clone();
  // A caller that wants the whole photo gets its copy made first, as the first of the edit's
  // allocations: where memory is short, that fails with a message, and a convolution that fails
  // to allocate inside oneDNN crashes (EditorOnDevice.AnEditTooLargeForTheMemory…).
  PhotoPart out(photo, o.reported_box_only ? windows : whole);
  Starts starts;
  Job job{f, mask, settings, o, mode, false, {}, {}};
  if (mode == Mode::Inpaint && settings.warm_start && o.fill == HoleFill::Auto) job.spots = spots_of(mask, o.grow);
  // Some window starts from the exemplar fill, so the fills need the photo with earlier windows'
  // starts (exemplar_estimate).
  const bool copies = (mode == Mode::Sketch || settings.warm_start) && hole_start(true, o, [&] {
                        return !job.spots.empty() || deep_somewhere(mask, o);
                      }) == HoleStart::Exemplar;
  if (copies) {
    const Box mask_box = bounding_box(mask);
    starts = Starts(photo, starts_box(job, windows, largest_side, mask_box));
    job.whole_mask_filled = fill_the_whole_mask(job, starts, mask_box);
  }
  if (mode == Mode::Inpaint && settings.warm_start && o.fill == HoleFill::Smooth) job.membrane = membrane_of_the_whole_mask(job, photo);
  // With fills to make on the CPU, they are made ahead on another thread where the model runs on
  // one (the engine's choice on 2 cores) and another core is there: where both would run a pool of
  // several, they would only take cores from each other. On a GPU a fill is milliseconds.
  const bool ahead = starts.defined() && o.prepare_ahead && photo.is_cpu() && at::get_num_threads() == 1 &&
                     std::thread::hardware_concurrency() >= 2;
  PreparedWindows prepared(job, photo, starts, plan, ahead);
  Box reported;
  for (std::size_t i = 0; i < plan.windows.size(); ++i) {
    throw_if_cancelled();
    const PreparedWindow p = prepared.take(i);
    if (!p.edits) continue;
    edit_window(job, out, plan, i, p);
    reported = reported.empty() ? plan.windows[i].core : hull(reported, plan.windows[i].core);
  }
  if (!o.reported_box_only) return out.pixels;
  return reported.empty() ? slice(photo, Box{}).clone() : out.at(reported).contiguous();
}

}  // namespace

HoleStart hole_start(bool warm, const RegionOptions& o, const std::function<bool()>& takes_patches) {
  if (!warm) return HoleStart::Noise;
  if (o.fill == HoleFill::Smooth) return HoleStart::Smooth;
  if (o.fill == HoleFill::Exemplar || takes_patches()) return HoleStart::Exemplar;
  return o.texture > 0 ? HoleStart::Healed : HoleStart::Smooth;
}

bool uses_exemplar(const at::Tensor& mask, const RegionOptions& o) {
  return hole_start(/*warm=*/true, o, [&] {
           return deep_somewhere(mask, o) || (mask.defined() && mask.dim() == 4 && !spots_of(mask, o.grow).empty());
         }) == HoleStart::Exemplar;
}

at::Tensor inpaint_photo(const model::ConsistencyFunction& f, const at::Tensor& photo, const at::Tensor& mask,
                   const EditSettings& settings, const RegionOptions& o) {
  require_photo(photo, "inpainting");
  validate_mask(photo, mask);
  return along_the_mask(f, photo, mask, settings, o, Mode::Inpaint);
}

at::Tensor sketch_photo(const model::ConsistencyFunction& f, const at::Tensor& painting, const EditSettings& settings,
                  const at::Tensor& mask, const RegionOptions& o) {
  require_photo(painting, "stroke-guided editing");
  if (mask.defined()) {
    validate_mask(painting, mask);
    return along_the_mask(f, painting, mask, settings, o, Mode::Sketch);
  }
  // Without a mask the whole picture is redrawn in one window, at most at the work size. A larger
  // picture comes back as the model's change on its own pixels, as a window along a mask does:
  // redrawn and enlarged whole, a 13.4 MP painting came back as a 256-px picture blown up 16×.
  const int64_t height = painting.size(2), width = painting.size(3), side = std::max(height, width);
  const Box window{place(0, height, side, height), place(0, width, side, width), 0, 0};
  const Box square{window.y0, window.x0, window.y0 + side, window.x0 + side};
  const int64_t size = work_size(f, o, side);
  const at::Tensor full = to_unit(crop_replicate(painting, square)).to(at::kFloat);
  const at::Tensor image = resize_image(full, size, size);
  const at::Tensor edited = edit::sketch(f, image, settings).to(painting.device());
  const at::Tensor redrawn = size == side ? edited : with_change(full, image, edited);
  const auto [in_photo, in_window] = visible_part(square, height, width);
  return to_form_of(slice(redrawn, in_window), painting).contiguous();
}

}  // namespace cm::edit::region
