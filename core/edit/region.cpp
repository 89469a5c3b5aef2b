#include "core/edit/region.h"

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

namespace cm::edit::region {

using namespace detail;

namespace {

// Weighted downscale of sparse hints: the average colour of the hinted pixels under each model pixel.
std::pair<at::Tensor, at::Tensor> hints_at_model_size(const at::Tensor& hints, const at::Tensor& hint_mask,
                                                      const Box& window, int64_t size) {
  const at::Tensor m = (crop_replicate(hint_mask, window) > 0).to(at::kFloat);
  const at::Tensor coloured = crop_replicate(hints.to(at::kFloat), window) * m;
  const auto shrink = [size](const at::Tensor& x) {
    return x.size(2) == size ? x : at::_upsample_bilinear2d_aa(x, {size, size}, false);
  };
  const at::Tensor weight = shrink(m).clamp(0, 1);
  const at::Tensor colour = (shrink(coloured) / weight.clamp_min(1e-6)).clamp(-1, 1);
  return {colour, (weight > 0).to(at::kFloat)};
}

}  // namespace

at::Tensor colorize(const model::ConsistencyFunction& f, const at::Tensor& photo_in, const EditSettings& settings,
                    const at::Tensor& hints, const at::Tensor& hint_mask, const RegionOptions& o) {
  require_photo(photo_in, "colorization");
  const at::Tensor photo = colorization_input(to_unit(photo_in));
  check_colour_hints(photo, hints, hint_mask);
  const int64_t height = photo.size(2), width = photo.size(3), side = std::max(height, width);
  const int64_t wy0 = place(0, height, side, height), wx0 = place(0, width, side, width);
  const Box window{wy0, wx0, wy0 + side, wx0 + side};
  const int64_t size = work_size(f, o, side);
  const at::Tensor small = resize_image(crop_replicate(photo, window), size, size);
  at::Tensor coloured;
  if (hints.defined()) {
    const auto [colour, where] = hints_at_model_size(hints, hint_mask, window, size);
    coloured = edit::colorize(f, small, settings, colour, where);
  } else {
    coloured = edit::colorize(f, small, settings);
  }

  // Chroma comes up from the model's size; luma stays the photo's own. What comes up is the
  // colour's offset from grey (the grey of a luma has chroma coefficients luma·c, since the basis's
  // luma axis is not (1, 1, 1)), so an uncoloured result stays exactly grey at any size. The offset
  // is fitted locally as a linear function of luma at the model's size and that fit is applied to
  // the photo's full-resolution luma, so colour edges land on the photo's own edges.
  const LumaChromaOperator op;
  const at::Tensor q0 = luma_direction().to(photo.device(), at::kFloat);
  const at::Tensor c = op.forward((at::ones({1, 3, 1, 1}, photo.options()) / q0.sum())).narrow(1, 1, 2);
  const at::Tensor luma = op.forward(photo).narrow(1, 0, 1);
  const at::Tensor small_luma = op.forward(small.to(photo.device())).narrow(1, 0, 1);
  const at::Tensor small_chroma = op.forward(coloured.to(photo.device())).narrow(1, 1, 2);
  const auto [in_photo, in_window] = visible_part(window, height, width);
  at::Tensor chroma;
  if (side == size) {
    chroma = slice(small_chroma, in_window);
  } else {
    const at::Tensor window_luma = crop_replicate(luma, window);  // the guide, padded like the model's input
    const at::Tensor offset = guided_upsample(small_luma, small_chroma - small_luma * c, window_luma, 2, 1e-3);
    chroma = slice(window_luma * c + offset, in_window);
  }
  if (hints.defined()) {
    const at::Tensor hinted = (hint_mask > 0).expand({1, 2, height, width});
    chroma = at::where(hinted, op.forward(hints.to(at::kFloat)).narrow(1, 1, 2), chroma);
  }
  const at::Tensor out = op.inverse(at::cat({luma, chroma}, 1));
  if (!settings.keep_in_range) return out;
  return fit_range_keeping_luma(out, hints.defined() ? hint_mask : at::Tensor());
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

// Runs `run(tile_input, y0, x0, index)` on every tile of `input` and blends the [1,C,k·t,k·t]
// outputs with weights constant on each k×k block. Memory: the output, its weight sum and one tile.
at::Tensor blend_tiles(const at::Tensor& input, const TileGrid& g,
                       const std::function<at::Tensor(const at::Tensor&, int64_t, int64_t, int)>& run) {
  const int64_t height = input.size(2), width = input.size(3), k = g.factor;
  const std::vector<int64_t> ys = tile_starts(height, g.tile, g.overlap), xs = tile_starts(width, g.tile, g.overlap);
  at::Tensor sum = at::zeros({1, input.size(1), height * k, width * k}, input.options().dtype(at::kFloat));
  at::Tensor weight_sum = at::zeros({1, 1, height * k, width * k}, sum.options());
  int index = 0;
  for (std::size_t i = 0; i < ys.size(); ++i)
    for (std::size_t j = 0; j < xs.size(); ++j, ++index) {
      const at::Tensor tile_in = crop_replicate(input, Box{ys[i], xs[j], ys[i] + g.tile, xs[j] + g.tile});
      const at::Tensor tile_out = run(tile_in, ys[i], xs[j], index).to(sum.device());
      const at::Tensor w = at::outer(ramp(g.tile, g.overlap, i > 0, i + 1 < ys.size()),
                                     ramp(g.tile, g.overlap, j > 0, j + 1 < xs.size()))
                               .repeat_interleave(k, 0)
                               .repeat_interleave(k, 1)
                               .view({1, 1, g.tile * k, g.tile * k})
                               .to(sum.device());
      const Box in_out{ys[i] * k, xs[j] * k, std::min(height, ys[i] + g.tile) * k, std::min(width, xs[j] + g.tile) * k};
      const Box in_tile{0, 0, in_out.height(), in_out.width()};
      slice(sum, in_out).add_(slice(tile_out, in_tile) * slice(w, in_tile));
      slice(weight_sum, in_out).add_(slice(w, in_tile));
    }
  return sum / weight_sum;
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

at::Tensor super_resolve(const model::ConsistencyFunction& f, const at::Tensor& low_res, int factor,
                         const EditSettings& settings, const RegionOptions& o) {
  require_photo(low_res, "super-resolution");
  check_super_resolution_factor(factor);
  const TileGrid grid = grid_for(f, factor, o);
  const int tiles = tile_count(low_res.size(2), low_res.size(3), grid);
  return blend_tiles(to_unit(low_res).to(at::kFloat), grid, [&](const at::Tensor& tile, int64_t y0, int64_t x0, int index) {
    EditSettings s = settings;
    s.noise_y0 = settings.noise_y0 + y0 * factor;  // one noise plane in output pixels for all tiles
    s.noise_x0 = settings.noise_x0 + x0 * factor;
    s.control = part_control(settings.control, index, settings.schedule.steps(), tiles);
    return edit::super_resolve(f, tile, factor, s);
  });
}

at::Tensor denoise(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                   const EditSettings& settings, const RegionOptions& o) {
  require_photo(noisy, "denoising");
  const at::Tensor unit = to_unit(noisy).to(at::kFloat);
  if (!(sigma > 0)) sigma = estimate_noise_sigma(unit);
  const TileGrid grid = grid_for(f, 1, o);
  const int tiles = tile_count(noisy.size(2), noisy.size(3), grid);
  return blend_tiles(unit, grid, [&](const at::Tensor& tile, int64_t, int64_t, int index) {
    const sampling::LoopControl c = part_control(settings.control, index, 1, tiles);
    sampling::throw_if_cancelled(c);
    at::Tensor out = edit::denoise(f, tile, sigma, settings.labels);
    if (c.on_step) c.on_step(sampling::StepInfo{c.step_offset + 1, c.total_steps, sigma, out});
    return out;
  });
}

}  // namespace cm::edit::region
