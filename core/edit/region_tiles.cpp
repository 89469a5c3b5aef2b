// Super-resolve on photos of any size, and the tiles it shares with a denoise (region_tiling.h):
// overlapping model-size tiles (region.h).
#include "core/base/error.h"
#include "core/edit/pixels.h"
#include "core/edit/region.h"
#include "core/edit/region_common.h"
#include "core/edit/region_tiling.h"

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


// Blended sums are kept in fixed point, 2⁻²⁴ a unit: integer sums do not depend on the order of
// their terms, so the result is the same bit for bit whichever tile ran first (float sums of the
// ≤ 4 overlapping tiles rounded differently by order). Tile outputs stay far from the int32
// range: it holds four of |x| < 32.
constexpr double kFixedPoint = 16777216.0;

at::Tensor to_fixed(const at::Tensor& x) { return (x * kFixedPoint).round().to(at::kInt); }

}  // namespace

namespace detail {

Box tile_box(const TilePlan& p, const TileIndex& t, int64_t tile, int64_t height, int64_t width) {
  return Box{p.ys[t.first], p.xs[t.second], std::min(height, p.ys[t.first] + tile), std::min(width, p.xs[t.second] + tile)};
}

TilePlan plan_tiles(int64_t height, int64_t width, const TileGrid& g, const RegionOptions& o,
                    const std::function<bool(const Box&)>& wanted) {
  TilePlan p{tile_starts(height, g.tile, g.overlap), tile_starts(width, g.tile, g.overlap), {}, {height, width, 0, 0}};
  const std::size_t batch = std::size_t(std::max(1, o.tile_batch));
  for (std::size_t i = 0; i < p.ys.size(); ++i)
    for (std::size_t j = 0; j < p.xs.size(); ++j) {
      const Box b = tile_box(p, {i, j}, g.tile, height, width);
      if (wanted && !wanted(b)) continue;
      if (p.groups.empty() || p.groups.back().size() == batch) p.groups.emplace_back();
      p.groups.back().emplace_back(i, j);
      p.box = hull(p.box, b);
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
  // The blend, band by band into the sum's own memory (a float has an int32's four bytes): a
  // whole photo's denoise held the sum, its float copy and the result at once (1.7 GB on 50 MP).
  const at::Tensor out = sum.view(at::kFloat);
  constexpr int64_t kRows = 64;
  for (int64_t y = 0; y < out.size(2); y += kRows) {
    const int64_t rows = std::min(kRows, out.size(2) - y);
    out.narrow(2, y, rows).copy_(blended(sum.narrow(2, y, rows), weight_sum.narrow(2, y, rows)));  // read before written
  }
  return out;
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

}  // namespace detail

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

}  // namespace cm::edit::region
