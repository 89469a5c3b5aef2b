#include "core/edit/region.h"

#include "core/base/error.h"
#include "core/edit/estimates.h"
#include "core/edit/exemplar_fill.h"
#include "core/edit/linear_operator.h"
#include "core/edit/mask.h"
#include "core/edit/resample.h"
#include "core/model/state_dict.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

namespace cm::edit::region {
namespace {

struct Box {  // half-open rows [y0, y1), columns [x0, x1)
  int64_t y0, x0, y1, x1;
  int64_t height() const { return y1 - y0; }
  int64_t width() const { return x1 - x0; }
};

Box grown(const Box& b, int64_t by, int64_t height, int64_t width) {
  return {std::max<int64_t>(0, b.y0 - by), std::max<int64_t>(0, b.x0 - by), std::min(height, b.y1 + by),
          std::min(width, b.x1 + by)};
}

// Bounding box of the pixels where mask > 0; nullopt-like empty box (y1 == y0) when none.
Box bounding_box(const at::Tensor& mask) {
  // A plain scan of the rows: tensor reductions cost ~100 instructions a pixel here (callgrind),
  // and this runs on every preview over the whole photo.
  const at::Tensor m = (mask.size(0) == 1 ? mask[0][0] : mask.amax({0, 1})).to(at::kCPU, at::kFloat).contiguous();
  const int64_t height = m.size(0), width = m.size(1);
  const float* p = m.data_ptr<float>();
  Box box{height, width, 0, 0};
  for (int64_t y = 0; y < height; ++y, p += width) {
    int64_t first = 0;
    while (first < width && !(p[first] > 0.f)) ++first;
    if (first == width) continue;
    int64_t last = width - 1;
    while (!(p[last] > 0.f)) --last;
    box = {std::min(box.y0, y), std::min(box.x0, first), y + 1, std::max(box.x1, last + 1)};
  }
  if (box.y1 == 0) return {0, 0, 0, 0};
  return box;
}

at::Tensor slice(const at::Tensor& x, const Box& b) { return x.narrow(2, b.y0, b.height()).narrow(3, b.x0, b.width()); }

// A square window of `side` pixels at (y0, x0); it may reach past the photo (then it is padded).
struct Window {
  int64_t y0, x0, side;
};

// Start of a window of `side` centred on [lo, hi) inside [0, n): inside whenever it fits.
int64_t place(int64_t lo, int64_t hi, int64_t side, int64_t n) {
  if (side >= n) return (n - side) / 2;
  return std::clamp((lo + hi) / 2 - side / 2, int64_t(0), n - side);
}

// The square the model sees around `target`: the target plus context, at least the model's size
// (so small edits run at the photo's own resolution) unless the photo itself is smaller.
Window window_around(const Box& target, int64_t height, int64_t width, int64_t model_size, double context) {
  const int64_t extent = std::max(target.height(), target.width());
  const int64_t with_context = extent + 2 * int64_t(std::ceil(context * double(extent)));
  const int64_t side = std::max(with_context, std::min(model_size, std::min(height, width)));
  return {place(target.y0, target.y1, side, height), place(target.x0, target.x1, side, width), side};
}

// Pixels that replace the photo's own inside `box` (photo coordinates), e.g. a filled hole.
struct Overlay {
  Box box;
  at::Tensor pixels;  // [1,C,box.height(),box.width()]
};

// The window's pixels, edge pixels repeated where it reaches past the photo; the overlay's pixels
// where it has them (also where they are repeated).
at::Tensor crop_replicate(const at::Tensor& x, int64_t y0, int64_t x0, int64_t height, int64_t width,
                          const Overlay* overlay = nullptr) {
  const auto opts = at::TensorOptions().dtype(at::kLong).device(x.device());
  const at::Tensor rows = (at::arange(height, opts) + y0).clamp(0, x.size(2) - 1);
  const at::Tensor cols = (at::arange(width, opts) + x0).clamp(0, x.size(3) - 1);
  const at::Tensor out = x.index_select(2, rows).index_select(3, cols);
  if (!overlay) return out;
  const Box& b = overlay->box;
  const at::Tensor over = overlay->pixels.to(x.device(), x.scalar_type())
                              .index_select(2, (rows - b.y0).clamp(0, b.height() - 1))
                              .index_select(3, (cols - b.x0).clamp(0, b.width() - 1));
  const at::Tensor inside = ((rows >= b.y0) & (rows < b.y1)).view({1, 1, -1, 1}) & ((cols >= b.x0) & (cols < b.x1)).view({1, 1, 1, -1});
  return at::where(inside, over, out);
}
at::Tensor crop_replicate(const at::Tensor& x, const Window& w, const Overlay* overlay = nullptr) {
  return crop_replicate(x, w.y0, w.x0, w.side, w.side, overlay);
}

// The part of the window inside the photo, in photo coordinates and in window coordinates.
std::pair<Box, Box> visible_part(const Window& w, int64_t height, int64_t width) {
  const Box in_photo{std::max<int64_t>(0, w.y0), std::max<int64_t>(0, w.x0), std::min(height, w.y0 + w.side),
                     std::min(width, w.x0 + w.side)};
  const Box in_window{in_photo.y0 - w.y0, in_photo.x0 - w.x0, in_photo.y1 - w.y0, in_photo.x1 - w.x0};
  return {in_photo, in_window};
}

void require_photo(const at::Tensor& photo, const char* what) {
  if (!photo.defined() || photo.dim() != 4 || photo.size(0) != 1 || !photo.is_floating_point())
    throw Error(ErrorCode::ShapeMismatch, fmt::format("{} works on one [1,C,H,W] photo, got {}", what,
                                                      photo.defined() ? model::shape_string(photo.sizes()) : "nothing"));
  if (photo.size(2) < 1 || photo.size(3) < 1) throw Error(ErrorCode::BadArgument, "the photo is empty");
}

int64_t model_size(const model::ConsistencyFunction& f) { return f.spec().image_size; }

// The side a window of `side` photo pixels is edited at (RegionOptions::max_work_size).
int64_t work_size(const model::ConsistencyFunction& f, const RegionOptions& o, int64_t side) {
  const int64_t model = model_size(f);
  if (o.max_work_size <= model) return model;
  const int64_t cap = (o.max_work_size + 7) / 8 * 8;
  return std::clamp((side + 7) / 8 * 8, model, cap);
}

// Weights in [0, 1] over the whole photo: 1 on the mask grown by `grow`, fading to 0 over
// 2·feather. Computed only on the box the mask can reach, so a dab on a large photo stays cheap.
at::Tensor compositing_weights(const at::Tensor& mask, const Box& mask_box, const RegionOptions& o) {
  const int64_t height = mask.size(2), width = mask.size(3);
  const Box reach = grown(mask_box, o.grow + 3 * o.feather, height, width);  // a box radius beyond the fade
  at::Tensor weights = at::zeros({1, 1, height, width}, mask.options().dtype(at::kFloat));
  slice(weights, reach).copy_(feather_weights(slice(mask, reach), o.grow, o.feather));
  return weights;
}

// Edits a window of the photo at the work size and composites it back by `weights`. edit() gets
// the window scaled to the work size and the mask of what to generate there.
using WindowEdit = std::function<at::Tensor(const at::Tensor& image, const at::Tensor& generate, int64_t y0, int64_t x0)>;
// A warm start's estimate of the window at the photo's own resolution, from the window and where
// to generate (> 0) in it.
using Prefill = std::function<at::Tensor(const Window& window, const at::Tensor& generate)>;

at::Tensor edit_in_window(const model::ConsistencyFunction& f, const at::Tensor& photo, const at::Tensor& weights,
                          const Box& edited, const RegionOptions& o, const WindowEdit& edit, const Prefill& prefill = nullptr) {
  const int64_t height = photo.size(2), width = photo.size(3);
  const Window window = window_around(edited, height, width, model_size(f), o.context);
  const int64_t size = work_size(f, o, window.side);
  const at::Tensor window_weights = crop_replicate(weights, window);
  // With a prefill the estimate is made before scaling down, so what the hole held never bleeds
  // into the pixels around it, and the model's change comes back as a residual on the full-size
  // estimate: at strength 0 the result is the estimate at the photo's own resolution.
  const at::Tensor estimate = prefill ? prefill(window, window_weights) : at::Tensor();
  const at::Tensor image = resize_image(prefill ? estimate : crop_replicate(photo, window), size, size);
  const at::Tensor generate = resize_mask(window_weights, size, size) > 0;
  const at::Tensor edited_small = edit(image, generate, window.y0, window.x0).to(photo.device());
  at::Tensor result;
  if (!prefill) result = resize_image(edited_small, window.side, window.side);
  else if (size == window.side) result = edited_small;
  else result = (estimate + at::upsample_bilinear2d(edited_small - image.to(photo.device()), {window.side, window.side}, false)).clamp(-1, 1);

  const auto [in_photo, in_window] = visible_part(window, height, width);
  at::Tensor out = photo.clone();
  const at::Tensor original = slice(photo, in_photo), w = slice(weights, in_photo);
  const at::Tensor fresh = slice(result, in_window);  // where w = 1 exactly the edit's pixels, not a rounding of them
  const at::Tensor blended = at::where(w >= 1, fresh, at::where(w > 0, original + w * (fresh - original), original));
  slice(out, in_photo).copy_(blended);
  return out;
}

}  // namespace

namespace {

// The exemplar fill works on the hole's box and as much again on every side (texture to copy
// from), at a scale where the hole is at most this many pixels across: it costs about a second
// per 100² hole pixels on one CPU core, and the model sees the window at ≤ 256 pixels anyway.
constexpr int64_t kExemplarSide = 256;

Overlay exemplar_overlay(const at::Tensor& photo, const at::Tensor& weights, const Box& edited, const RegionOptions& o,
                         const sampling::LoopControl& control) {
  const int64_t height = photo.size(2), width = photo.size(3), extent = std::max(edited.height(), edited.width());
  const Box box = grown(edited, std::max<int64_t>(extent, 32), height, width);
  const at::Tensor image = slice(photo, box).to(at::kFloat).contiguous(), hole = (slice(weights, box) > 0).contiguous();
  ExemplarOptions options;
  options.poll = [&control] { sampling::throw_if_cancelled(control); };
  const auto fill = [&] {
    const double scale = std::min(1.0, double(kExemplarSide) / double(extent));
    if (scale >= 1) return exemplar_fill(image, ~hole, options);
    const int64_t h = std::max<int64_t>(1, std::lround(double(box.height()) * scale));
    const int64_t w = std::max<int64_t>(1, std::lround(double(box.width()) * scale));
    const at::Tensor small_hole = resize_mask(hole.to(at::kFloat), h, w) > 0;  // any hole pixel under it
    const at::Tensor small = exemplar_fill(resize_image(image, h, w), ~small_hole, options);
    return at::where(hole, resize_image(small, box.height(), box.width()), image);
  };
  return {box, o.exemplar_cache ? o.exemplar_cache->get_or_fill(image, hole, options.seed, fill) : fill()};
}

}  // namespace

bool uses_exemplar(const at::Tensor& mask, const RegionOptions& o) {
  if (o.fill != HoleFill::Auto) return o.fill == HoleFill::Exemplar;
  if (!mask.defined() || mask.dim() != 4) return false;
  const Box box = bounding_box(mask);
  if (box.height() == 0) return false;
  // The mask grown as the compositing grows it, on its box plus a margin (the photo's edge counts
  // as hole, as in hole_depth).
  const at::Tensor around = slice(mask, grown(box, o.grow + 1, mask.size(2), mask.size(3))).to(at::kFloat);
  const int64_t g = o.grow;
  const at::Tensor hole = g > 0 ? at::max_pool2d(around, {2 * g + 1, 2 * g + 1}, {1, 1}, {g, g}) > 0 : around > 0;
  return hole_depth(~hole, kLargeHoleDepth) >= kLargeHoleDepth;
}

at::Tensor inpaint(const model::ConsistencyFunction& f, const at::Tensor& photo, const at::Tensor& mask,
                   const EditSettings& settings, const RegionOptions& o) {
  require_photo(photo, "inpainting");
  validate_mask(photo, mask);
  const Box box = bounding_box(mask);
  if (box.height() == 0) return photo.clone();
  const at::Tensor weights = compositing_weights(mask, box, o);
  const Box edited = grown(box, o.grow + 2 * o.feather, photo.size(2), photo.size(3));
  if (!settings.warm_start)
    return edit_in_window(f, photo, weights, edited, o, [&](const at::Tensor& image, const at::Tensor& generate, int64_t, int64_t) {
      return edit::inpaint(f, image, generate.to(at::kFloat), settings);
    });
  const auto from_estimate = [&](const at::Tensor& image, const at::Tensor& generate, int64_t, int64_t) {
    EditSettings s = settings;
    s.estimate = image;  // the full-size fill, scaled: the residual above starts from exactly this
    return edit::inpaint(f, image, generate.to(at::kFloat), s);
  };
  if (!uses_exemplar(mask, o))
    return edit_in_window(f, photo, weights, edited, o, from_estimate, [&](const Window& w, const at::Tensor& generate) {
      return fill_holes(crop_replicate(photo, w), generate <= 0);
    });
  const Overlay filled = exemplar_overlay(photo, weights, edited, o, settings.control);
  return edit_in_window(f, photo, weights, edited, o, from_estimate,
                        [&](const Window& w, const at::Tensor&) { return crop_replicate(photo, w, &filled); });
}

at::Tensor sketch(const model::ConsistencyFunction& f, const at::Tensor& painting, const EditSettings& settings,
                  const at::Tensor& mask, const RegionOptions& o) {
  require_photo(painting, "stroke-guided editing");
  const int64_t height = painting.size(2), width = painting.size(3);
  if (!mask.defined()) {  // redraw everything: the weights are 1 on the whole picture
    const at::Tensor ones = at::ones({1, 1, height, width}, painting.options().dtype(at::kFloat));
    RegionOptions whole;  // no grow, feather or context: the window is the picture
    whole.context = 0.0;
    whole.max_work_size = o.max_work_size;
    return edit_in_window(f, painting, ones, Box{0, 0, height, width}, whole,
                          [&](const at::Tensor& image, const at::Tensor&, int64_t, int64_t) {
                            return edit::sketch(f, image, settings);
                          });
  }
  validate_mask(painting, mask);
  const Box box = bounding_box(mask);
  if (box.height() == 0) return painting.clone();
  const at::Tensor weights = compositing_weights(mask, box, o);
  const Box edited = grown(box, o.grow + 2 * o.feather, height, width);
  return edit_in_window(f, painting, weights, edited, o, [&](const at::Tensor& image, const at::Tensor& generate, int64_t, int64_t) {
    return edit::sketch(f, image, settings, generate.to(at::kFloat));
  });
}

namespace {

// Weighted downscale of sparse hints: the average colour of the hinted pixels under each model pixel.
std::pair<at::Tensor, at::Tensor> hints_at_model_size(const at::Tensor& hints, const at::Tensor& hint_mask,
                                                      const Window& window, int64_t size) {
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
  const at::Tensor photo = colorization_input(photo_in);
  check_colour_hints(photo, hints, hint_mask);
  const int64_t height = photo.size(2), width = photo.size(3), side = std::max(height, width);
  const Window window{place(0, height, side, height), place(0, width, side, width), side};
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
  if (window.side == size) {
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
      const at::Tensor tile_in = crop_replicate(input, ys[i], xs[j], g.tile, g.tile);
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

// Progress of tile `index` inside the whole job.
sampling::LoopControl tile_control(const sampling::LoopControl& job, int index, int steps_per_tile, int tiles) {
  sampling::LoopControl c = job;
  c.step_offset = job.step_offset + index * steps_per_tile;
  c.total_steps = job.total_steps > 0 ? job.total_steps : tiles * steps_per_tile;
  return c;
}

}  // namespace

at::Tensor super_resolve(const model::ConsistencyFunction& f, const at::Tensor& low_res, int factor,
                         const EditSettings& settings, const RegionOptions& o) {
  require_photo(low_res, "super-resolution");
  check_super_resolution_factor(factor);
  const TileGrid grid = grid_for(f, factor, o);
  const int tiles = tile_count(low_res.size(2), low_res.size(3), grid);
  return blend_tiles(low_res.to(at::kFloat), grid, [&](const at::Tensor& tile, int64_t y0, int64_t x0, int index) {
    EditSettings s = settings;
    s.noise_y0 = settings.noise_y0 + y0 * factor;  // one noise plane in output pixels for all tiles
    s.noise_x0 = settings.noise_x0 + x0 * factor;
    s.control = tile_control(settings.control, index, settings.schedule.steps(), tiles);
    return edit::super_resolve(f, tile, factor, s);
  });
}

at::Tensor denoise(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                   const EditSettings& settings, const RegionOptions& o) {
  require_photo(noisy, "denoising");
  if (!(sigma > 0)) sigma = estimate_noise_sigma(noisy);
  const TileGrid grid = grid_for(f, 1, o);
  const int tiles = tile_count(noisy.size(2), noisy.size(3), grid);
  return blend_tiles(noisy.to(at::kFloat), grid, [&](const at::Tensor& tile, int64_t, int64_t, int index) {
    const sampling::LoopControl c = tile_control(settings.control, index, 1, tiles);
    sampling::throw_if_cancelled(c);
    at::Tensor out = edit::denoise(f, tile, sigma, settings.labels);
    if (c.on_step) c.on_step(sampling::StepInfo{c.step_offset + 1, c.total_steps, sigma, out});
    return out;
  });
}

}  // namespace cm::edit::region
