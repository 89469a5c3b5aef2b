// A denoise of a photo of any size (region.h): tiles (region_tiling.h) in one or two passes, the
// first over each tile's four 2-strided sub-images, only where the user painted when asked.
#include "core/base/cancel.h"
#include "core/base/error.h"
#include "core/edit/mask.h"
#include "core/edit/pixels.h"
#include "core/edit/region.h"
#include "core/edit/region_common.h"
#include "core/edit/region_tiling.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <utility>
#include <vector>

namespace cm::edit::region {

using namespace detail;

namespace {

// Where a denoise goes: the whole photo, or the mask's compositing weights (compositing_weights:
// the mask grown by `grow`, fading out over 2·feather) over `box`, the pixels they reach.
struct DenoiseArea {
  Box box;
  at::Tensor weights;  // [1,1,h,w] float over box; undefined: the whole photo, fully

  DenoiseArea(const at::Tensor& photo, const at::Tensor& mask, const RegionOptions& o)
      : box{0, 0, photo.size(2), photo.size(3)} {
    if (!mask.defined()) return;
    validate_mask(photo, mask);
    const Box painted = bounding_box(mask);
    box = painted.empty() ? Box{} : grown(painted, o.grow + 2 * o.feather, photo.size(2), photo.size(3));
    if (!box.empty()) weights = compositing_weights(mask, box, o).to(photo.device());
  }
  bool whole() const { return !weights.defined() && !box.empty(); }
  // The same area in the coordinates of `b`'s top-left corner (b holds box).
  DenoiseArea within(const Box& b) const {
    DenoiseArea moved = *this;
    moved.box = relative(box, b);
    return moved;
  }
  // Whether any pixel of `b` (in the photo) is denoised at all.
  bool reaches(const Box& b) const {
    if (whole()) return true;
    const Box part = intersection(b, box);
    return !part.empty() && slice(weights, relative(part, box)).gt(0).any().item<bool>();
  }
  // `denoised` over `at` (inside the photo) faded into `photo` by the weights: exactly the photo
  // where they are 0, exactly `denoised` where they are 1.
  at::Tensor composite(const at::Tensor& photo, const Box& at, const at::Tensor& denoised) const {
    if (whole()) return denoised;
    at::Tensor out = slice(photo, at).clone();
    const Box part = intersection(at, box);
    if (part.empty()) return out;
    const at::Tensor w = slice(weights, relative(part, box)), kept = slice(out, relative(part, at));
    kept.copy_(at::where(w > 0, at::lerp(kept, slice(denoised, relative(part, at)), w), kept));
    return out;
  }
};

// The first `count` of a batch's mirrors (itself, left-right, up-down, both), each undoing
// itself: mirrored(mirrored(x)) is x's. With `each`, x is `count` such batches one after another
// (a denoise of the mirrors), each mirrored back.
std::vector<at::Tensor> mirrored(const at::Tensor& x, int count, int64_t each = 0) {
  static const std::vector<std::vector<int64_t>> axes = {{}, {3}, {2}, {2, 3}};
  std::vector<at::Tensor> out;
  for (int m = 0; m < count; ++m) {
    const at::Tensor part = each > 0 ? x.narrow(0, m * each, each) : x;
    out.push_back(axes[m].empty() ? part : part.flip(axes[m]));
  }
  return out;
}

// The noise of what is denoised fully (the grown mask), or of the whole photo when that holds no
// 32-px block (estimate_flat_noise), or at the finest scale of a photo under 32 px. `photo`: float
// or stored, the whole photo or the part of it that `area` is relative to.
FlatNoise flat_noise(const at::Tensor& photo, const DenoiseArea& area) {
  if (!area.whole()) {
    const at::Tensor part = slice(photo, area.box);  // stored pixels are read a band at a time, as floats
    if (const auto there = estimate_flat_noise(is_stored(part) ? part : part.to(at::kFloat), area.weights >= 1)) return *there;
  }
  if (const auto all = estimate_flat_noise(photo)) return *all;
  const double finest = estimate_noise_sigma(to_unit(photo).to(at::kFloat));
  return {finest, finest};
}

// The four 2-strided sub-images of each tile, [n,C,2t,2t] → [4n,C,t,t] (sub-image (dy, dx) of every
// tile, then the next), and back.
at::Tensor to_strided(const at::Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), t = x.size(2) / 2;
  return x.reshape({n, c, t, 2, t, 2}).permute({3, 5, 0, 1, 2, 4}).reshape({4 * n, c, t, t});
}
at::Tensor from_strided(const at::Tensor& x) {
  const int64_t n = x.size(0) / 4, c = x.size(1), t = x.size(2);
  return x.reshape({2, 2, n, c, t, t}).permute({2, 3, 4, 0, 5, 1}).reshape({n, c, 2 * t, 2 * t});
}

// One pass of a denoise: its tiles, the groups they run in, and whether each tile of 2t photo
// pixels is evaluated as its four 2-strided sub-images of t (the model's tile): there a camera's
// noise, which neighbouring pixels share, is nearly white, and a flat sky's blotches are fine grain.
struct DenoisePass {
  bool strided = false;
  TileGrid grid{1, 1, 0};
  TilePlan plan;
  int group = 1;  // photo tiles a group; the last is filled up to it
  std::function<double(const Box&)> sigma;                   // a tile's level
  std::function<double(const Box&, const at::Tensor&)> share;  // a strided tile's (tile_share); else 1
};

DenoisePass plan_pass(const model::ConsistencyFunction& f, const at::Tensor& photo, const RegionOptions& o,
                      const std::function<bool(const Box&)>& wanted, bool strided) {
  const int64_t side = o.tile_size > 0 ? o.tile_size : work_size(f, o, o.max_work_size);
  const int64_t span = strided ? 2 * side : side;  // photo pixels a tile covers
  RegionOptions tiling = o;
  tiling.tile_size = int(span);
  // A denoise's tiles overlap by an eighth of a tile, not a quarter: a quarter fewer tiles (a
  // 12 MP photo's 5,251 at 64 px become 3,927) for 0.03–0.07 dB less, and no seam that a high-pass
  // of a denoised sky shows (bench/denoise_quality, docs/QUALITY.md "Denoising").
  tiling.tile_overlap = o.tile_overlap > 0 ? int(o.tile_overlap * (span / side)) : int(std::max<int64_t>(1, span / 8));
  // A group holds tile_batch tiles' worth of 64² pixels: a 256-px model's tiles go two at a time.
  if (o.tile_batch > 1) tiling.tile_batch = int(std::max<int64_t>(1, int64_t(o.tile_batch) * 64 * 64 / (span * span)));
  DenoisePass p;
  p.strided = strided;
  p.grid = grid_for(f, 1, tiling);
  p.plan = plan_tiles(photo.size(2), photo.size(3), p.grid, tiling, wanted);
  p.group = std::max(1, tiling.tile_batch);
  return p;
}

// A pass over `input`, blended; progress counts from `first` of the job's `total`. A tile whose
// share is 0 is not evaluated: it is its input.
at::Tensor run_pass(const model::ConsistencyFunction& f, const at::Tensor& input, const DenoisePass& p,
                    const EditSettings& settings, int mirrors, int first, int total, const RegionOptions& shown) {
  return blend_tiles(input, p.grid, p.plan, [&](const at::Tensor& batch, const std::vector<std::pair<int64_t, int64_t>>& origins, int index) {
    throw_if_cancelled();
    const int64_t n = batch.size(0), side = batch.size(2);
    std::vector<double> sigmas, shares;
    for (const auto& [y0, x0] : origins) {
      const Box b{y0, x0, y0 + side, x0 + side};
      const at::Tensor tile = batch.narrow(0, int64_t(sigmas.size()), 1);
      sigmas.push_back(p.sigma(b));
      shares.push_back(p.share ? p.share(b, tile) : 1.0);
    }
    at::Tensor out = batch;
    if (std::any_of(shares.begin(), shares.end(), [](double w) { return w > 0; })) {
      // The last group is filled up with its last tile, so every group has one shape (a GPU replays
      // a recorded graph per shape: model::GraphedFunction); each tile's mirrors go in the same batch.
      const int64_t full = std::max<int64_t>(n, p.group);
      const at::Tensor filled = n == full ? batch : at::cat({batch, batch.narrow(0, n - 1, 1).expand({full - n, -1, -1, -1})}, 0);
      at::Tensor levels = at::tensor(sigmas, at::kDouble);
      if (full > n) levels = at::cat({levels, levels.narrow(0, n - 1, 1).expand({full - n})});
      const at::Tensor tiles = p.strided ? to_strided(filled) : filled;
      if (p.strided) levels = levels.repeat({4});  // to_strided's order: each sub-image of every tile
      const at::Tensor inputs = at::cat(mirrored(tiles, mirrors), 0);
      const at::Tensor labels = settings.labels.defined() ? settings.labels.expand({inputs.size(0)}) : settings.labels;
      const std::vector<at::Tensor> back = mirrored(edit::denoise(f, inputs, levels.repeat({mirrors}), labels), mirrors, tiles.size(0));
      const at::Tensor mean = mirrors == 1 ? back.front() : at::stack(back).mean(0);
      out = (p.strided ? from_strided(mean) : mean).narrow(0, 0, n).to(batch.device());
      if (p.share) out = at::lerp(batch, out, at::tensor(shares, at::kFloat).to(batch.device()).view({n, 1, 1, 1}));
    }
    // Progress counts the model's 64-px evaluations, four a strided tile, so the time left that
    // the editor tells from its pace is not four times too long while the strided pass runs.
    const int weight = p.strided ? 4 : 1;
    for (int64_t t = 0; t < n; ++t)
      if (const sampling::LoopControl c = part_control(settings.control, first + (index + int(t)) * weight, 1, total); c.on_step)
        c.on_step(sampling::StepInfo{c.step_offset + weight, c.total_steps, sigmas[std::size_t(t)], out.narrow(0, t, 1)});
    return out;
  }, shown);
}

// How much of a strided tile is taken: all of it where neighbouring pixels share the noise (a
// camera's), and for white noise only where the photo is flat: its own finest reading (texture
// and noise) up to kFlatTile times the photo's flattest reading, none from kTexturedTile times,
// between them a ramp. On a forest with white noise the strided pass cost up to 2.4 dB, on a sky
// it gained 3.4 (docs/QUALITY.md, "Denoising in two passes").
double tile_share(const FlatNoise& photo, const at::Tensor& tile) {
  if (photo.strided >= kSharedNoiseRatio * photo.finest) return 1;
  const double r = estimate_noise_sigma(tile) / std::max(photo.finest, 1e-6);
  return std::clamp((kTexturedTile - r) / (kTexturedTile - kFlatTile), 0.0, 1.0);
}

// What the strided pass left: the noise at the finest scale (estimate_noise_sigma) where it took
// its tiles at least half and the area is denoised fully; on its flattest blocks when that is too
// small to say (which read a flat photo's noise 5–10 % low: on a sky at 20 levels, 0.8 dB less).
double left_level(const at::Tensor& input, const DenoiseArea& area, const std::vector<std::pair<Box, double>>& taken) {
  at::Tensor where = at::zeros({1, 1, area.box.height(), area.box.width()}, input.options().dtype(at::kBool));
  for (const auto& [b, share] : taken)
    if (const Box part = intersection(b, area.box); share >= 0.5 && !part.empty()) slice(where, relative(part, area.box)).fill_(true);
  if (!area.whole()) where = where.logical_and(area.weights >= 1);
  if (const auto there = estimate_noise_sigma(slice(input, area.box), where)) return *there;
  return flat_noise(input, area).finest;
}

// A plan in the coordinates of `b`'s top-left corner (b holds every tile of it): tile_box and
// blend_tiles then read a crop of the photo, with the photo's grid and edges.
TilePlan within(TilePlan p, const Box& b) {
  for (int64_t& y : p.ys) y -= b.y0;
  for (int64_t& x : p.xs) x -= b.x0;
  p.box = relative(p.box, b);
  return p;
}

// denoise_photo, and the levels its passes run at into `levels` when given (denoise_recording_level).
at::Tensor denoise_tiles(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                         const EditSettings& settings, const RegionOptions& o, const at::Tensor& mask,
                         std::vector<double>* levels) {
  require_photo(noisy, "denoising");
  const int mirrors = std::max(1, o.mirrors);
  if (mirrors != 1 && mirrors != 2 && mirrors != 4)
    throw Error(ErrorCode::BadArgument, fmt::format("a denoise averages 1, 2 or 4 mirrors of a tile, not {}", mirrors));
  if (o.denoise_passes < 0 || o.denoise_passes > 2)
    throw Error(ErrorCode::BadArgument, fmt::format("a denoise takes 1 or 2 passes (0: chosen by the level), not {}", o.denoise_passes));
  const DenoiseArea painted(noisy, mask, o);
  if (painted.box.empty()) {  // an empty mask: nothing to denoise
    if (levels) *levels = {sigma};
    return noisy.clone();
  }
  const FlatNoise reading = flat_noise(noisy, painted);
  const double noise = estimates_noise_sigma(sigma) ? reading.strided : sigma;
  const bool two = o.denoise_passes == 2 || (o.denoise_passes == 0 && noise >= kStridedPassLevel);
  DenoisePass fine = plan_pass(f, noisy, o, [&](const Box& b) { return painted.reaches(b); }, false);
  // The strided pass covers every pixel that the photo's tiles read, so that under the grown mask
  // the result is the whole photo's denoise.
  DenoisePass coarse = two ? plan_pass(f, noisy, o, [&](const Box& b) { return !intersection(b, fine.plan.box).empty(); }, true)
                           : DenoisePass{};
  if (levels) *levels = {noise};
  if (fine.plan.tiles == 0) return noisy.clone();  // a mask faint enough to fade to nothing
  // The job works on the pixels it reads (its tiles and the mask's fade), in float: with a mask, a
  // crop of the photo (a sky on a 50 MP photo held the whole photo as floats three times, 3.3 GB).
  // The tiles keep the photo's grid, so the result is the same as on the whole photo.
  const Box work = painted.whole() ? painted.box : hull(two ? coarse.plan.box : fine.plan.box, painted.box);
  const DenoiseArea area = painted.within(work);
  fine.plan = within(fine.plan, work);
  if (two) coarse.plan = within(coarse.plan, work);
  at::Tensor unit = to_unit(slice(noisy, work)).to(at::kFloat);
  const bool shared = unit.is_alias_of(noisy);  // the caller's float photo: never written
  const int total = int(fine.plan.tiles + 4 * coarse.plan.tiles);
  RegionOptions shown = o;  // a preview's parts as the result will have them: faded into the photo
  if (o.on_window && !area.whole())
    shown.on_window = [&](int64_t y0, int64_t x0, const at::Tensor& pixels) {
      o.on_window(work.y0 + y0, work.x0 + x0, area.composite(unit, Box{y0, x0, y0 + pixels.size(2), x0 + pixels.size(3)}, pixels));
    };
  fine.sigma = [noise](const Box&) { return noise; };
  at::Tensor input = unit;
  std::vector<std::pair<Box, double>> taken;  // each strided tile's share, for the second pass's levels
  if (two) {  // the strided pass first, then the photo's own at what it left
    coarse.sigma = fine.sigma;
    coarse.share = [&](const Box& b, const at::Tensor& tile) { return taken.emplace_back(b, tile_share(reading, tile)).second; };
    const at::Tensor first = run_pass(f, unit, coarse, settings, mirrors, 0, total, shown);
    if (!area.whole() || shared) input = unit.clone();  // unit: the photo, to fade into
    slice(input, coarse.plan.box).copy_(first);
    // A tile of the second pass runs at what the strided pass left where it was taken, at the
    // noise's level where it was not, and between by the share of its pixels that the strided
    // tiles covering it took.
    const double left = left_level(input, area, taken);
    if (levels) levels->push_back(left);
    fine.sigma = [&taken, noise, left](const Box& b) {
      double sum = 0, weight = 0;
      for (const auto& [c, share] : taken) {
        const Box both = intersection(b, c);
        const double a = both.empty() ? 0.0 : double(both.height() * both.width());
        sum += a * share, weight += a;
      }
      const double s = weight > 0 ? sum / weight : 0.0;
      return s * left + (1 - s) * noise;
    };
  }
  const at::Tensor denoised = run_pass(f, input, fine, settings, mirrors, int(4 * coarse.plan.tiles), total, shown);
  // In the photo's own form, like inpainting's windows; with a mask, beyond the fade its pixels.
  if (area.whole()) return to_form_of(denoised, noisy);
  const Box changed = fine.plan.box;
  at::Tensor out = noisy.clone();
  slice(out, Box{work.y0 + changed.y0, work.x0 + changed.x0, work.y0 + changed.y1, work.x0 + changed.x1})
      .copy_(to_form_of(area.composite(unit, changed, denoised), noisy));
  return out;
}

}  // namespace

at::Tensor denoise_photo(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                   const EditSettings& settings, const RegionOptions& o, const at::Tensor& mask) {
  return denoise_tiles(f, noisy, sigma, settings, o, mask, nullptr);
}

at::Tensor denoise_recording_level(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                                   EditSettings& settings, const RegionOptions& o, const at::Tensor& mask) {
  // The levels are written as the passes start; they read settings' labels and control, not its schedule.
  return denoise_tiles(f, noisy, sigma, settings, o, mask, &settings.schedule.sigmas);
}


}  // namespace cm::edit::region
