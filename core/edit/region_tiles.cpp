// Super-resolve and denoise on photos of any size: overlapping model-size tiles (region.h).
#include "core/base/cancel.h"
#include "core/base/error.h"
#include "core/edit/pixels.h"
#include "core/edit/region.h"
#include "core/edit/region_common.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
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

// The order tiles run in: nearest the focus first (RegionOptions::focus_y, focus_x, in the
// input's pixels), so the part of a live preview under the user's eye comes first (a 16 MP photo
// is 7,000 tiles, minutes on a CPU); in rows without a focus. Ties keep the row order.
std::vector<std::pair<std::size_t, std::size_t>> tile_order(const std::vector<int64_t>& ys, const std::vector<int64_t>& xs,
                                                            int64_t tile, const RegionOptions& o) {
  std::vector<std::pair<std::size_t, std::size_t>> order;
  for (std::size_t i = 0; i < ys.size(); ++i)
    for (std::size_t j = 0; j < xs.size(); ++j) order.emplace_back(i, j);
  if (o.focus_y < 0 || o.focus_x < 0) return order;
  const auto distance = [&](const std::pair<std::size_t, std::size_t>& t) {
    const int64_t dy = 2 * ys[t.first] + tile - 2 * o.focus_y, dx = 2 * xs[t.second] + tile - 2 * o.focus_x;
    return dy * dy + dx * dx;  // from the tile's centre, doubled to stay in integers
  };
  std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) { return distance(a) < distance(b); });
  return order;
}

// Blended sums are kept in fixed point, 2⁻²⁴ a unit: integer sums do not depend on the order of
// their terms, so the result is the same bit for bit whichever tile ran first (float sums of the
// ≤ 4 overlapping tiles rounded differently by order). Tile outputs stay far from the int32
// range: it holds four of |x| < 32.
constexpr double kFixedPoint = 16777216.0;

at::Tensor to_fixed(const at::Tensor& x) { return (x * kFixedPoint).round().to(at::kInt); }

// Runs `run(tile_input, y0, x0, index)` on every tile of `input` (index: the tile's place in the
// order they run, tile_order) and blends the [1,C,k·t,k·t] outputs with weights constant on each
// k×k block. Memory: the output, its weight sum and one tile.
at::Tensor blend_tiles(const at::Tensor& input, const TileGrid& g,
                       const std::function<at::Tensor(const at::Tensor&, int64_t, int64_t, int)>& run,
                       const RegionOptions& o) {
  const int64_t height = input.size(2), width = input.size(3), k = g.factor;
  const std::vector<int64_t> ys = tile_starts(height, g.tile, g.overlap), xs = tile_starts(width, g.tile, g.overlap);
  at::Tensor sum = at::zeros({1, input.size(1), height * k, width * k}, input.options().dtype(at::kInt));
  at::Tensor weight_sum = at::zeros({1, 1, height * k, width * k}, sum.options());
  const auto blended = [](const at::Tensor& s, const at::Tensor& w) { return s.to(at::kFloat) / w.to(at::kFloat); };
  int index = 0;
  for (const auto& [i, j] : tile_order(ys, xs, g.tile, o)) {
    const at::Tensor tile_in = crop_replicate(input, Box{ys[i], xs[j], ys[i] + g.tile, xs[j] + g.tile});
    const at::Tensor tile_out = run(tile_in, ys[i], xs[j], index++).to(sum.device(), at::kFloat);
    const at::Tensor w = at::outer(ramp(g.tile, g.overlap, i > 0, i + 1 < ys.size()),
                                   ramp(g.tile, g.overlap, j > 0, j + 1 < xs.size()))
                             .repeat_interleave(k, 0)
                             .repeat_interleave(k, 1)
                             .view({1, 1, g.tile * k, g.tile * k})
                             .to(sum.device());
    const Box in_out{ys[i] * k, xs[j] * k, std::min(height, ys[i] + g.tile) * k, std::min(width, xs[j] + g.tile) * k};
    const Box in_tile{0, 0, in_out.height(), in_out.width()};
    const at::Tensor w_here = slice(w, in_tile);
    slice(sum, in_out).add_(to_fixed(slice(tile_out, in_tile) * w_here));
    slice(weight_sum, in_out).add_(to_fixed(w_here));
    if (o.on_window) o.on_window(in_out.y0, in_out.x0, blended(slice(sum, in_out), slice(weight_sum, in_out)));  // so far
  }
  return blended(sum, weight_sum);
}

int tile_count(int64_t height, int64_t width, const TileGrid& g) {
  return int(tile_starts(height, g.tile, g.overlap).size() * tile_starts(width, g.tile, g.overlap).size());
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
  const int tiles = tile_count(low_res.size(2), low_res.size(3), grid);
  const at::Tensor unit = to_unit(low_res).to(at::kFloat);
  // A live preview shows a quick enlargement at once (bilinear: the tiles' own start, back-projected
  // bicubic, costs seconds at this size), then each tile over it (a 1000-px selection ×2 is
  // thousands of tiles on a CPU).
  if (o.on_window)
    o.on_window(0, 0, at::upsample_bilinear2d(unit, {unit.size(2) * factor, unit.size(3) * factor}, /*align_corners=*/false));
  return blend_tiles(unit, grid, [&](const at::Tensor& tile, int64_t y0, int64_t x0, int index) {
    EditSettings s = settings;
    s.noise_y0 = settings.noise_y0 + y0 * factor;  // one noise plane in output pixels for all tiles
    s.noise_x0 = settings.noise_x0 + x0 * factor;
    s.control = part_control(settings.control, index, settings.schedule.steps(), tiles);
    return edit::super_resolve(f, tile, factor, s);
  }, o);
}

at::Tensor denoise_photo(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                   const EditSettings& settings, const RegionOptions& o) {
  require_photo(noisy, "denoising");
  const at::Tensor unit = to_unit(noisy).to(at::kFloat);
  sigma = denoise_sigma(sigma, unit);
  const TileGrid grid = grid_for(f, 1, o);
  const int tiles = tile_count(noisy.size(2), noisy.size(3), grid);
  return blend_tiles(unit, grid, [&](const at::Tensor& tile, int64_t, int64_t, int index) {
    const sampling::LoopControl c = part_control(settings.control, index, 1, tiles);
    throw_if_cancelled();
    at::Tensor out = edit::denoise(f, tile, sigma, settings.labels);
    if (c.on_step) c.on_step(sampling::StepInfo{c.step_offset + 1, c.total_steps, sigma, out});
    return out;
  }, o);
}

at::Tensor denoise_recording_level(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                                   EditSettings& settings, const RegionOptions& o) {
  sigma = denoise_sigma(sigma, to_unit(noisy));
  settings.schedule.sigmas = {sigma};
  return denoise_photo(f, noisy, sigma, settings, o);
}

}  // namespace cm::edit::region
