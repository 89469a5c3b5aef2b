// Super-resolve and denoise on photos of any size: overlapping model-size tiles (region.h).
#include "core/base/cancel.h"
#include "core/base/error.h"
#include "core/edit/mask.h"
#include "core/edit/pixels.h"
#include "core/edit/region.h"
#include "core/edit/region_common.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

namespace cm::edit::region {

using namespace detail;

std::vector<int64_t> tile_starts(int64_t n, int64_t tile, int64_t overlap) {
  if (tile < 1 || overlap < 0 || overlap >= tile) throw Error(ErrorCode::BadArgument, "tiles must overlap by less than a tile");
  std::vector<int64_t> starts{0};
  if (n <= tile) return starts;
  while (starts.back() + tile < n) starts.push_back(std::min(starts.back() + tile - overlap, n - tile));
  return starts;
}

namespace {

// Blending weights along one tile axis: ramps of `overlap` steps where a neighbour overlaps.
at::Tensor ramp(int64_t length, int64_t overlap, bool before, bool after) {
  const at::Tensor i = at::arange(length, at::kFloat);
  at::Tensor w = at::ones({length}, at::kFloat);
  if (before) w = at::minimum(w, (i + 1) / float(overlap + 1));
  if (after) w = at::minimum(w, (float(length) - i) / float(overlap + 1));
  return w;
}

struct TileGrid {
  int64_t factor;        // output pixels per input pixel
  int64_t tile;          // input pixels per tile side
  int64_t overlap;       // input pixels
};

// The tiles a job runs, in groups evaluated together, in the order they run: nearest the focus
// first (RegionOptions::focus_y, focus_x, in the input's pixels), so the part of a live preview
// under the user's eye comes first (a 16 MP photo is 7,000 tiles, minutes on a CPU); in rows
// without a focus (ties keep the row order). Only the tiles whose input pixels `wanted` accepts,
// when given (a denoise where the user painted). A group is `batch` consecutive tiles in row
// order whatever the focus, so what is evaluated together, and so the result, does not depend on
// where the user looks.
using TileIndex = std::pair<std::size_t, std::size_t>;  // (row, column) into TilePlan::ys, xs

struct TilePlan {
  std::vector<int64_t> ys, xs;                 // tile_starts of each axis
  std::vector<std::vector<TileIndex>> groups;  // in the order they run
  Box box;                                     // the input pixels the tiles cover, together
  std::size_t tiles = 0;
};

Box tile_box(const TilePlan& p, const TileIndex& t, int64_t tile, int64_t height, int64_t width) {
  return Box{p.ys[t.first], p.xs[t.second], std::min(height, p.ys[t.first] + tile), std::min(width, p.xs[t.second] + tile)};
}

TilePlan plan_tiles(int64_t height, int64_t width, const TileGrid& g, const RegionOptions& o,
                    const std::function<bool(const Box&)>& wanted = {}) {
  TilePlan p{tile_starts(height, g.tile, g.overlap), tile_starts(width, g.tile, g.overlap), {}, {height, width, 0, 0}};
  const std::size_t batch = std::size_t(std::max(1, o.tile_batch));
  for (std::size_t i = 0; i < p.ys.size(); ++i)
    for (std::size_t j = 0; j < p.xs.size(); ++j) {
      const Box b = tile_box(p, {i, j}, g.tile, height, width);
      if (wanted && !wanted(b)) continue;
      if (p.groups.empty() || p.groups.back().size() == batch) p.groups.emplace_back();
      p.groups.back().emplace_back(i, j);
      p.box = Box{std::min(p.box.y0, b.y0), std::min(p.box.x0, b.x0), std::max(p.box.y1, b.y1), std::max(p.box.x1, b.x1)};
      ++p.tiles;
    }
  if (o.focus_y < 0 || o.focus_x < 0) return p;
  const auto distance = [&](const std::vector<TileIndex>& group) {
    int64_t nearest = std::numeric_limits<int64_t>::max();
    for (const auto& [i, j] : group) {  // from a tile's centre, doubled to stay in integers
      const int64_t dy = 2 * p.ys[i] + g.tile - 2 * o.focus_y, dx = 2 * p.xs[j] + g.tile - 2 * o.focus_x;
      nearest = std::min(nearest, dy * dy + dx * dx);
    }
    return nearest;
  };
  std::vector<std::pair<int64_t, std::vector<TileIndex>>> keyed;
  for (auto& group : p.groups) keyed.emplace_back(distance(group), std::move(group));
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t k = 0; k < keyed.size(); ++k) p.groups[k] = std::move(keyed[k].second);
  return p;
}

// Blended sums are kept in fixed point, 2⁻²⁴ a unit: integer sums do not depend on the order of
// their terms, so the result is the same bit for bit whichever tile ran first (float sums of the
// ≤ 4 overlapping tiles rounded differently by order). Tile outputs stay far from the int32
// range: it holds four of |x| < 32.
constexpr double kFixedPoint = 16777216.0;

at::Tensor to_fixed(const at::Tensor& x) { return (x * kFixedPoint).round().to(at::kInt); }

// Runs `run(tiles, origins, first)` on each group of the plan (tiles: [n,C,t,t], the group's
// inputs; origins: their top-left input pixels; first: the place of the group's first tile in
// the order they run) and blends the [n,C,k·t,k·t] outputs with weights constant on each k×k
// block. The result covers the plan's box times k. Memory: that, its weight sum and one group.
using RunTiles = std::function<at::Tensor(const at::Tensor&, const std::vector<std::pair<int64_t, int64_t>>&, int)>;

at::Tensor blend_tiles(const at::Tensor& input, const TileGrid& g, const TilePlan& plan, const RunTiles& run,
                       const RegionOptions& o) {
  const int64_t height = input.size(2), width = input.size(3), k = g.factor;
  const Box out_box{plan.box.y0 * k, plan.box.x0 * k, plan.box.y1 * k, plan.box.x1 * k};
  at::Tensor sum = at::zeros({1, input.size(1), out_box.height(), out_box.width()}, input.options().dtype(at::kInt));
  at::Tensor weight_sum = at::zeros({1, 1, out_box.height(), out_box.width()}, sum.options());
  const auto blended = [](const at::Tensor& s, const at::Tensor& w) { return s.to(at::kFloat) / w.to(at::kFloat); };
  int index = 0;
  for (const std::vector<TileIndex>& group : plan.groups) {
    std::vector<at::Tensor> inputs;
    std::vector<std::pair<int64_t, int64_t>> origins;
    for (const auto& [i, j] : group) {
      origins.emplace_back(plan.ys[i], plan.xs[j]);
      inputs.push_back(crop_replicate(input, Box{plan.ys[i], plan.xs[j], plan.ys[i] + g.tile, plan.xs[j] + g.tile}));
    }
    const at::Tensor outputs = run(at::cat(inputs, 0), origins, index).to(sum.device(), at::kFloat);
    index += int(group.size());
    for (std::size_t n = 0; n < group.size(); ++n) {
      const auto [i, j] = group[n];
      const at::Tensor w = at::outer(ramp(g.tile, g.overlap, i > 0, i + 1 < plan.ys.size()),
                                     ramp(g.tile, g.overlap, j > 0, j + 1 < plan.xs.size()))
                               .repeat_interleave(k, 0)
                               .repeat_interleave(k, 1)
                               .view({1, 1, g.tile * k, g.tile * k})
                               .to(sum.device());
      const Box b = tile_box(plan, group[n], g.tile, height, width);
      const Box in_out{b.y0 * k, b.x0 * k, b.y1 * k, b.x1 * k};
      const Box in_tile{0, 0, in_out.height(), in_out.width()}, in_sum = relative(in_out, out_box);
      const at::Tensor w_here = slice(w, in_tile);
      slice(sum, in_sum).add_(to_fixed(slice(outputs.narrow(0, int64_t(n), 1), in_tile) * w_here));
      slice(weight_sum, in_sum).add_(to_fixed(w_here));
      if (o.on_window) o.on_window(in_out.y0, in_out.x0, blended(slice(sum, in_sum), slice(weight_sum, in_sum)));  // so far
    }
  }
  return blended(sum, weight_sum);
}

TileGrid grid_for(const model::ConsistencyFunction& f, int factor, const RegionOptions& o) {
  const int64_t out_tile = o.tile_size > 0 ? o.tile_size : work_size(f, o, o.max_work_size);
  if (out_tile % factor)
    throw Error(ErrorCode::BadArgument, fmt::format("a tile of {} pixels does not split into {}×{} patches", out_tile, factor, factor));
  const int64_t tile = out_tile / factor;
  const int64_t overlap_out = o.tile_overlap > 0 ? o.tile_overlap : out_tile / 4;
  const int64_t overlap = std::clamp<int64_t>(overlap_out / factor, 1, std::max<int64_t>(tile - 1, 0));
  if (tile < 2) throw Error(ErrorCode::BadArgument, "tiles must span at least 2 input pixels");
  return {factor, tile, overlap};
}

}  // namespace

at::Tensor super_resolve_photo(const model::ConsistencyFunction& f, const at::Tensor& low_res, int factor,
                         const EditSettings& settings, const RegionOptions& o) {
  require_photo(low_res, "super-resolution");
  check_super_resolution_factor(factor);
  const TileGrid grid = grid_for(f, factor, o);
  RegionOptions one_at_a_time = o;  // each tile draws its own noise (its place in the noise plane)
  one_at_a_time.tile_batch = 1;
  const TilePlan plan = plan_tiles(low_res.size(2), low_res.size(3), grid, one_at_a_time);
  const int tiles = int(plan.tiles);
  const at::Tensor unit = to_unit(low_res).to(at::kFloat);
  // A live preview shows a quick enlargement at once (bilinear: the tiles' own start, back-projected
  // bicubic, costs seconds at this size), then each tile over it (a 1000-px selection ×2 is
  // thousands of tiles on a CPU).
  if (o.on_window)
    o.on_window(0, 0, at::upsample_bilinear2d(unit, {unit.size(2) * factor, unit.size(3) * factor}, /*align_corners=*/false));
  return blend_tiles(unit, grid, plan, [&](const at::Tensor& tile, const std::vector<std::pair<int64_t, int64_t>>& origins, int index) {
    const auto [y0, x0] = origins.front();
    EditSettings s = settings;
    s.noise_y0 = settings.noise_y0 + y0 * factor;  // one noise plane in output pixels for all tiles
    s.noise_x0 = settings.noise_x0 + x0 * factor;
    s.control = part_control(settings.control, index, settings.schedule.steps(), tiles);
    return edit::super_resolve(f, tile, factor, s);
  }, o);
}

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

// The level: `sigma`, or estimated on what is denoised fully (the grown mask), or on the whole
// photo when that is too small to say (estimate_noise_sigma), from the photo in any form.
double denoise_level(double sigma, const at::Tensor& photo, const DenoiseArea& area) {
  if (!estimates_noise_sigma(sigma)) return sigma;
  if (!area.whole())
    if (const auto there = estimate_noise_sigma(to_unit(slice(photo, area.box)).to(at::kFloat), area.weights >= 1)) return *there;
  return estimate_noise_sigma(to_unit(photo).to(at::kFloat));
}

// denoise_photo, and the level it runs at into `level` when given (denoise_recording_level).
at::Tensor denoise_tiles(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                         const EditSettings& settings, const RegionOptions& o, const at::Tensor& mask,
                         std::vector<double>* level) {
  require_photo(noisy, "denoising");
  const int mirrors = std::max(1, o.mirrors);
  if (mirrors != 1 && mirrors != 2 && mirrors != 4)
    throw Error(ErrorCode::BadArgument, fmt::format("a denoise averages 1, 2 or 4 mirrors of a tile, not {}", mirrors));
  const DenoiseArea area(noisy, mask, o);
  at::Tensor unit = to_unit(noisy).to(at::kFloat);
  if (!area.whole() && unit.is_same(noisy)) unit = unit.clone();  // composited in place below
  if (area.box.empty()) {  // an empty mask: nothing to denoise
    if (level) *level = {sigma};
    return unit;
  }
  sigma = denoise_level(sigma, unit, area);  // the float photo made above, not a second one
  if (level) *level = {sigma};
  // A denoise's tiles overlap by an eighth of a tile, not a quarter: a quarter fewer tiles (a
  // 12 MP photo's 5,251 at 64 px become 3,927) for 0.03–0.07 dB less, and no seam that a high-pass
  // of a denoised sky shows (bench/denoise_quality, docs/QUALITY.md "Denoising").
  RegionOptions tiling = o;
  const int64_t side = o.tile_size > 0 ? o.tile_size : work_size(f, o, o.max_work_size);
  if (tiling.tile_overlap <= 0) tiling.tile_overlap = int(std::max<int64_t>(1, side / 8));
  // A group holds tile_batch tiles' worth of 64² pixels: a 256-px model's tiles go two at a time.
  if (o.tile_batch > 1) tiling.tile_batch = int(std::max<int64_t>(1, int64_t(o.tile_batch) * 64 * 64 / (side * side)));
  const TileGrid grid = grid_for(f, 1, tiling);
  const TilePlan plan = plan_tiles(noisy.size(2), noisy.size(3), grid, tiling, [&](const Box& b) { return area.reaches(b); });
  const int tiles = int(plan.tiles);
  if (tiles == 0) return unit;  // a mask faint enough to fade to nothing
  RegionOptions shown = o;  // a preview's parts as the result will have them: faded into the photo
  if (o.on_window && !area.whole())
    shown.on_window = [&](int64_t y0, int64_t x0, const at::Tensor& pixels) {
      o.on_window(y0, x0, area.composite(unit, Box{y0, x0, y0 + pixels.size(2), x0 + pixels.size(3)}, pixels));
    };
  const at::Tensor denoised = blend_tiles(unit, grid, plan, [&](const at::Tensor& batch, const auto&, int first) {
    throw_if_cancelled();
    // The last group is filled up with its last tile, so every group has one shape (a GPU replays
    // a recorded graph per shape: model::GraphedFunction); each tile's mirrors go in the same batch.
    const int64_t n = batch.size(0), full = std::max<int64_t>(n, std::max(1, tiling.tile_batch));
    const at::Tensor filled = n == full ? batch : at::cat({batch, batch.narrow(0, n - 1, 1).expand({full - n, -1, -1, -1})}, 0);
    const at::Tensor inputs = at::cat(mirrored(filled, mirrors), 0);
    const at::Tensor labels = settings.labels.defined() ? settings.labels.expand({inputs.size(0)}) : settings.labels;
    const std::vector<at::Tensor> back = mirrored(edit::denoise(f, inputs, sigma, labels), mirrors, full);
    const at::Tensor out = (mirrors == 1 ? back.front() : at::stack(back).mean(0)).narrow(0, 0, n);
    for (int64_t t = 0; t < n; ++t)
      if (const sampling::LoopControl c = part_control(settings.control, first + int(t), 1, tiles); c.on_step)
        c.on_step(sampling::StepInfo{c.step_offset + 1, c.total_steps, sigma, out.narrow(0, t, 1)});
    return out;
  }, shown);
  if (area.whole()) return denoised;
  slice(unit, plan.box).copy_(area.composite(unit, plan.box, denoised));
  return unit;
}

}  // namespace

at::Tensor denoise_photo(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                   const EditSettings& settings, const RegionOptions& o, const at::Tensor& mask) {
  return denoise_tiles(f, noisy, sigma, settings, o, mask, nullptr);
}

at::Tensor denoise_recording_level(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                                   EditSettings& settings, const RegionOptions& o, const at::Tensor& mask) {
  // The level is written before the tiles run; they read settings' labels and control, not its schedule.
  return denoise_tiles(f, noisy, sigma, settings, o, mask, &settings.schedule.sigmas);
}

}  // namespace cm::edit::region
