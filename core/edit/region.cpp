// Colorize on photos of any size (region.h): the model on a small copy, hints on a larger one, the
// colour carried up onto the photo's own luma.
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
  // The hints pooled over the rows that hold one only, in whole blocks of k (the same means): the
  // editor sends them at the photo's size, mostly zeros, and pooling a 12 MP photo's was 0.6 s of
  // the 0.8 s before its first strips.
  const at::Tensor rows_hinted = (hint_mask > 0).any(3).reshape({-1}).nonzero();
  const int64_t first = rows_hinted.numel() ? rows_hinted[0].item<int64_t>() : 0;
  const int64_t last = rows_hinted.numel() ? rows_hinted[-1].item<int64_t>() + 1 : 1;
  const int64_t y0 = first / k * k, y1 = std::min(height, (last + k - 1) / k * k);
  const auto [colour, where] = smaller_hints(hints, hint_mask, [&](const ReadRows& read) {
    const at::Tensor band = pooled(y1 - y0, [&](int64_t y, int64_t rows) { return read(y0 + y, rows); }, k);
    at::Tensor all = at::zeros({band.size(0), band.size(1), (height + k - 1) / k, band.size(3)}, band.options());
    all.narrow(2, y0 / k, band.size(2)).copy_(band);
    return all;
  });
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

}  // namespace cm::edit::region
