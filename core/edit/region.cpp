#include "core/edit/region.h"

#include "core/base/cancel.h"
#include "core/base/error.h"
#include "core/edit/estimates.h"
#include "core/edit/linear_operator.h"
#include "core/edit/mask.h"
#include "core/edit/pixels.h"
#include "core/edit/region_common.h"
#include "core/edit/resample.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>
#include <vector>

namespace cm::edit::region {

using namespace detail;

namespace {

constexpr int64_t kStrip = 256;  // rows of a large photo made float at a time

using ReadRows = std::function<at::Tensor(int64_t y, int64_t rows)>;

// An image read a strip of rows at a time through `read` (the rows as float), as the means of its
// k × k blocks (partial ones at the bottom and right edges): no float copy of a large photo.
at::Tensor pooled(int64_t height, const ReadRows& read, int64_t k) {
  std::vector<at::Tensor> strips;
  for (int64_t y = 0; y < height; y += kStrip * k) {
    const at::Tensor rows = read(y, std::min(kStrip * k, height - y));
    strips.push_back(k == 1 ? rows : at::avg_pool2d(rows, {k, k}, {k, k}, {0, 0}, /*ceil_mode=*/true, /*count_include_pad=*/false));
  }
  return at::cat(strips, 2);
}

// The square `window` of an image (its edges repeated beyond it) shrunk to size × size: first
// pooled by the integer factor that leaves at least 4× the size, then the antialiased resize.
at::Tensor shrunk_window(int64_t height, const ReadRows& read, const Box& window, int64_t size) {
  const int64_t side = window.height(), k = std::max<int64_t>(1, side / (4 * size));
  const int64_t y0 = window.y0 >= 0 ? window.y0 / k : -((-window.y0 + k - 1) / k);
  const int64_t x0 = window.x0 >= 0 ? window.x0 / k : -((-window.x0 + k - 1) / k);
  const int64_t pooled_side = (side + k - 1) / k;
  const at::Tensor square = crop_replicate(pooled(height, read, k), Box{y0, x0, y0 + pooled_side, x0 + pooled_side});
  return square.size(2) == size ? square : at::_upsample_bilinear2d_aa(square, {size, size}, false);
}

// Sparse hints made smaller by `shrink` (of a reader of rows): the mean colour of the hinted
// pixels under each pixel, and where there is any.
std::pair<at::Tensor, at::Tensor> smaller_hints(const at::Tensor& hints, const at::Tensor& hint_mask,
                                                const std::function<at::Tensor(const ReadRows&)>& shrink) {
  const auto hinted = [&](int64_t y, int64_t rows) { return (hint_mask.narrow(2, y, rows) > 0).to(at::kFloat); };
  const at::Tensor weight = shrink(hinted).clamp(0, 1);
  const at::Tensor coloured = shrink([&](int64_t y, int64_t rows) {
    const at::Tensor where = hinted(y, rows);
    // Most rows of a photo have no hint: their colours are not read (a 12 MP photo's are 144 MB as floats).
    if (!where.any().item<bool>()) return at::zeros({1, hints.size(1), rows, hints.size(3)}, where.options());
    return to_unit(hints.narrow(2, y, rows)).to(at::kFloat) * where;
  });
  const at::Tensor colour = (coloured / weight.clamp_min(1e-6)).clamp(-1, 1);
  return {colour, (weight > 0).to(at::kFloat)};
}

// The colour of a photo with hints that is larger than the model's size, made on the photo
// pooled by k (at most RegionOptions::hint_side a side): the hints' colour where it reaches
// (spread_hints) and the model's own colour (`model`, of the pooled luma) where it does not,
// carried up to the photo as it is when k = 1, else by a bounded guided fit on the luma.
struct FineColour {
  at::Tensor chroma;  // [1,2,h,w]: chroma coefficients' offset from grey
  int64_t k = 1;
  GuidedCoefficients fit;

  // [1,2,rows,width]: the offset on the photo's rows y.. (luma: theirs).
  at::Tensor rows(const at::Tensor& luma, int64_t y) const {
    if (k == 1) return chroma.narrow(2, y, luma.size(2));
    return guided_apply(fit, luma, double(chroma.size(2) * k), double(chroma.size(3) * k), double(y), 0.0);
  }
};

FineColour fine_colour(const at::Tensor& photo, const at::Tensor& hints, const at::Tensor& hint_mask, int64_t k,
                       const std::function<at::Tensor(const at::Tensor& luma)>& model) {
  const int64_t height = photo.size(2);
  const auto shrink = [&](const ReadRows& read) { return pooled(height, read, k); };
  const at::Tensor grey = shrink([&](int64_t y, int64_t rows) {
    return colorization_input(to_unit(photo.narrow(2, y, rows)));
  }).clamp(-1, 1).to(photo.device());
  const auto [colour, where] = smaller_hints(hints, hint_mask, shrink);
  const ChromaSpread spread = spread_hints(grey, colour.to(photo.device()), where.to(photo.device()));
  const LumaChromaOperator op;
  const at::Tensor luma = op.forward(grey).narrow(1, 0, 1);
  FineColour fine;
  fine.chroma = op.forward(spread.amount * spread.colour).narrow(1, 1, 2) + model(luma) * (1 - spread.amount);
  fine.k = k;
  if (k > 1) fine.fit = guided_fit(luma, fine.chroma, 2, 1e-3, /*bounded=*/true);
  return fine;
}

}  // namespace

at::Tensor colorize_photo(const model::ConsistencyFunction& f, const at::Tensor& photo, const EditSettings& settings,
                    const at::Tensor& hints, const at::Tensor& hint_mask, const RegionOptions& o) {
  require_photo(photo, "colorization");
  if (photo.size(1) != 1 && photo.size(1) != 3) throw Error(ErrorCode::ShapeMismatch, "colorization needs a grey or RGB image");
  check_colour_hints(photo, hints, hint_mask);
  const int64_t height = photo.size(2), width = photo.size(3), side = std::max(height, width);
  const int64_t wy0 = place(0, height, side, height), wx0 = place(0, width, side, width);
  const Box window{wy0, wx0, wy0 + side, wx0 + side};
  const int64_t size = work_size(f, o, side);
  const at::Tensor small = shrunk_window(height, [&](int64_t y, int64_t rows) {
    return colorization_input(to_unit(photo.narrow(2, y, rows)));
  }, window, size).clamp(-1, 1);
  // Progress: the model's steps, then the strips of the photo.
  const int strips = int((height + kStrip - 1) / kStrip), steps = settings.schedule.steps();
  EditSettings s = settings;
  if (s.control.total_steps <= 0) s.control.total_steps = steps + strips;
  // Hints on a photo larger than the model's size are not given to the model: at its size a 12 MP
  // photo's white pole was part of a pixel of sky, and a blue sky's hint made the pole blue, through
  // the model's colour too. They are spread on the photo pooled to at most o.hint_side, where thin
  // things keep edges that stop them (fine_colour), and the model's own colour comes where they
  // do not reach.
  if (o.hint_side < 1) throw Error(ErrorCode::BadArgument, "colour hints need a side of at least one pixel to be spread at");
  const int64_t hint_pool = (side + o.hint_side - 1) / o.hint_side;
  const bool hints_apart = hints.defined() && (side + hint_pool - 1) / hint_pool > size;
  at::Tensor coloured;
  if (hints.defined() && !hints_apart) {
    const auto [colour, where] = smaller_hints(hints, hint_mask, [&](const ReadRows& read) {
      return shrunk_window(height, read, window, size);
    });
    coloured = edit::colorize(f, small, s, colour, where);
  } else {
    coloured = edit::colorize(f, small, s);
  }

  // Chroma comes up from the model's size; luma stays the photo's own. What comes up is the
  // colour's offset from grey (the grey of a luma has chroma coefficients luma·c, since the basis's
  // luma axis is not (1, 1, 1)), so an uncoloured result stays exactly grey at any size. The offset
  // is fitted locally as a linear function of luma at the model's size and that fit is applied to
  // the photo's full-resolution luma, so colour edges land on the photo's own edges; held within
  // the offsets near each pixel (bounded), so a thin bright or dark thing the model's size did not
  // see takes no colour beyond them. A strip of rows at a time, written in the photo's form: memory
  // follows the strip, not the photo.
  const LumaChromaOperator op;
  const at::Tensor q0 = luma_direction().to(photo.device(), at::kFloat);
  const at::Tensor c = op.forward((at::ones({1, 3, 1, 1}, q0.options()) / q0.sum())).narrow(1, 1, 2);
  const at::Tensor small_luma = op.forward(small.to(photo.device())).narrow(1, 0, 1);
  const at::Tensor small_chroma = op.forward(coloured.to(photo.device())).narrow(1, 1, 2);
  const GuidedCoefficients fit = guided_fit(small_luma, small_chroma - small_luma * c, 2, 1e-3, /*bounded=*/true);
  FineColour fine;
  if (hints_apart) {
    // The model's offset on the pooled photo's pixels: k photo pixels each, so the window is
    // side / k of them.
    const double k = double(hint_pool);
    fine = fine_colour(photo, hints, hint_mask, hint_pool, [&](const at::Tensor& luma) {
      return guided_apply(fit, luma, side / k, side / k, -wy0 / k, -wx0 / k);
    });
  }
  at::Tensor out = at::empty({1, 3, height, width}, photo.options().dtype(is_stored(photo) ? photo.scalar_type() : at::kFloat));
  for (int64_t y = 0; y < height; y += kStrip) {
    throw_if_cancelled();
    const int64_t rows = std::min(kStrip, height - y);
    const at::Tensor grey_rows = colorization_input(to_unit(photo.narrow(2, y, rows)));
    const at::Tensor luma = op.forward(grey_rows).narrow(1, 0, 1);
    at::Tensor chroma = hints_apart   ? luma * c + fine.rows(luma, y)
                        : side == size ? small_chroma.narrow(2, y - wy0, rows).narrow(3, -wx0, width)
                                       : luma * c + guided_apply(fit, luma, side, side, y - wy0, -wx0);
    const at::Tensor hinted = hints.defined() ? hint_mask.narrow(2, y, rows).to(photo.device()) > 0 : at::Tensor();
    if (hinted.defined() && hinted.any().item<bool>()) {
      const at::Tensor hint_rows = to_unit(hints.narrow(2, y, rows)).to(photo.device(), at::kFloat);
      const at::Tensor hint_chroma = op.forward(hint_at_luma(grey_rows, hint_rows)).narrow(1, 1, 2);
      chroma = at::where(hinted.expand_as(chroma), hint_chroma, chroma);
    }
    at::Tensor rgb = op.inverse(at::cat({luma, chroma}, 1));
    if (settings.keep_in_range) rgb = fit_range_keeping_luma(rgb);
    at::Tensor target = out.narrow(2, y, rows);
    target.copy_(to_form_of(rgb, out));
    if (o.on_window) o.on_window(y, 0, target);
    if (s.control.on_step) s.control.on_step({s.control.step_offset + steps + int(y / kStrip) + 1, s.control.total_steps, 0.0, rgb});
  }
  return out;
}

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
