#include "core/edit/resample.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace cm::edit {

at::Tensor resize_image(const at::Tensor& image, int64_t height, int64_t width) {
  if (image.size(2) == height && image.size(3) == width) return image;
  return at::_upsample_bicubic2d_aa(image.to(at::kFloat), {height, width}, /*align_corners=*/false).clamp(-1, 1);
}

at::Tensor resize_mask(const at::Tensor& mask, int64_t height, int64_t width) {
  if (mask.size(2) == height && mask.size(3) == width) return mask.to(at::kFloat);
  return at::_upsample_bilinear2d_aa(mask.to(at::kFloat), {height, width}, /*align_corners=*/false).clamp(0, 1);
}

at::Tensor feather_weights(const at::Tensor& mask, int grow, int feather) {
  if (grow < 0 || feather < 0) throw Error(ErrorCode::BadArgument, "grow and feather must be ≥ 0 pixels");
  at::Tensor grown = (mask > 0).to(at::kFloat);
  const int reach = grow + feather;
  // Both box filters are separable (a rows pass, then a columns pass): 2·(2r+1) reads per pixel
  // instead of (2r+1)², 10× less at the default radius; the same maxima, the same averages up to
  // rounding (the count of a clipped box is the product of its row and column counts).
  if (reach > 0) {
    grown = at::max_pool2d(grown, {2 * reach + 1, 1}, {1, 1}, {reach, 0});
    grown = at::max_pool2d(grown, {1, 2 * reach + 1}, {1, 1}, {0, reach});
  }
  if (feather == 0) return grown;
  // Inside the grown-by-`grow` mask every box of radius `feather` holds only ones: weight 1 exactly.
  const auto average = [](const at::Tensor& x, int64_t ky, int64_t kx) {
    return at::avg_pool2d(x, {2 * ky + 1, 2 * kx + 1}, {1, 1}, {ky, kx}, /*ceil_mode=*/false, /*count_include_pad=*/false);
  };
  return average(average(grown, feather, 0), 0, feather);
}

namespace {

// Box sums along one dimension via a prefix sum: out[i] = Σ x[max(0,i−r) … min(n−1,i+r)].
at::Tensor box_sum_along(const at::Tensor& x, int64_t dim, int radius) {
  const int64_t n = x.size(dim);
  std::vector<int64_t> pad_shape = x.sizes().vec();
  pad_shape[dim] = 1;
  const at::Tensor prefix = at::cat({at::zeros(pad_shape, x.options()), x.cumsum(dim)}, dim);  // n+1 entries
  const at::Tensor index = at::arange(n, x.options().dtype(at::kLong));
  const at::Tensor hi = (index + radius + 1).clamp_max(n), lo = (index - radius).clamp_min(0);
  return prefix.index_select(dim, hi) - prefix.index_select(dim, lo);
}

}  // namespace

at::Tensor box_mean(const at::Tensor& x, int radius) {
  if (radius <= 0) return x;
  // float32 prefix sums over a 4000-pixel row lose ~1e-5 of a box mean: fine for filtering,
  // and half the memory of double on a large photo.
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor ones = at::ones({1, 1, x.size(2), x.size(3)}, xf.options());
  const at::Tensor counts = box_sum_along(box_sum_along(ones, 2, radius), 3, radius);
  return box_sum_along(box_sum_along(xf, 2, radius), 3, radius) / counts;
}

namespace {

// Box means of the coefficients a, b of q = a·I + b fitted to (guide I, source p) in every box.
std::pair<at::Tensor, at::Tensor> guided_coefficients(const at::Tensor& guide, const at::Tensor& source, int radius,
                                                      double eps) {
  const at::Tensor mean_i = box_mean(guide, radius), mean_p = box_mean(source, radius);
  const at::Tensor cov_ip = box_mean(guide * source, radius) - mean_i * mean_p;
  const at::Tensor var_i = box_mean(guide * guide, radius) - mean_i * mean_i;
  const at::Tensor a = cov_ip / (var_i + eps);
  const at::Tensor b = mean_p - a * mean_i;
  return {box_mean(a, radius), box_mean(b, radius)};
}

}  // namespace

at::Tensor guided_filter(const at::Tensor& guide, const at::Tensor& source, int radius, double eps) {
  const auto [a, b] = guided_coefficients(guide, source, radius, eps);
  return a * guide + b;
}

GuidedCoefficients guided_fit(const at::Tensor& guide_low, const at::Tensor& source_low, int radius, double eps,
                              bool bounded) {
  const auto [a, b] = guided_coefficients(guide_low, source_low, radius, eps);
  if (!bounded) return {at::cat({a, b}, 1), a.size(1), false};
  // Over the pixels a result pixel's fit comes from: a box of boxes, 2r around (separably).
  const int64_t k = 4 * radius + 1, r = 2 * radius;
  const auto local_max = [&](const at::Tensor& x) {
    return at::max_pool2d(at::max_pool2d(x, {k, 1}, {1, 1}, {r, 0}), {1, k}, {1, 1}, {0, r});
  };
  const at::Tensor source = source_low.to(at::kFloat);
  return {at::cat({a, b, -local_max(-source), local_max(source)}, 1), a.size(1), true};
}

namespace {

// Where each of n_out pixels, the first at `offset` of an image `length` long, reads a row or
// column of n_in: the unaligned bilinear read of upsample_bilinear2d, (i + ½)·n_in/length − ½, held
// within the edge pixels as grid_sample's border padding does.
struct Reads {
  std::vector<int64_t> below, above;
  std::vector<float> t;
};
Reads reads(int64_t n_out, double offset, double length, int64_t n_in) {
  Reads r;
  r.below.resize(std::size_t(n_out)), r.above.resize(std::size_t(n_out)), r.t.resize(std::size_t(n_out));
  for (int64_t i = 0; i < n_out; ++i) {
    const double pos = std::clamp((double(i) + offset + 0.5) * (double(n_in) / length) - 0.5, 0.0, double(n_in - 1));
    const int64_t below = int64_t(std::floor(pos));
    r.below[std::size_t(i)] = below, r.above[std::size_t(i)] = std::min(below + 1, n_in - 1), r.t[std::size_t(i)] = float(pos - double(below));
  }
  return r;
}

// guided_apply on the CPU: each output pixel reads its coefficients' four neighbours itself and
// writes a·guide + b (held within [low, high]), so nothing of the coefficients' size at the
// output's is made. As grid_sample it made eight planes of the output's size first: 1.5 s of a
// 20 MP colorization's strips.
at::Tensor guided_apply_cpu(const GuidedCoefficients& c, const at::Tensor& guide_part, double height, double width,
                            double y0, double x0) {
  const at::Tensor planes = c.planes.to(at::kFloat).contiguous(), guide = guide_part.to(at::kFloat).contiguous();
  const int64_t batch = guide.size(0), h = guide.size(2), w = guide.size(3), n = c.channels;
  const int64_t hi = planes.size(2), wi = planes.size(3), k = planes.size(1);
  if (guide.size(1) != 1) throw Error(ErrorCode::ShapeMismatch, "a guided fit's guide has one channel");
  if (planes.size(0) != batch && planes.size(0) != 1)
    throw Error(ErrorCode::ShapeMismatch, "guided coefficients need one set, or one per image of the guide");
  const Reads ys = reads(h, y0, height, hi), xs = reads(w, x0, width, wi);
  at::Tensor out = at::empty({batch, n, h, w}, guide.options());
  const float* p = planes.data_ptr<float>();
  const float* g = guide.data_ptr<float>();
  float* o = out.data_ptr<float>();
  at::parallel_for(0, batch * h, 16, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / h, y = row % h;
      const float* set = p + (planes.size(0) == 1 ? 0 : b) * k * hi * wi;
      const int64_t top = ys.below[std::size_t(y)] * wi, bottom = ys.above[std::size_t(y)] * wi;
      const float ty = ys.t[std::size_t(y)];
      const float* guide_row = g + (b * h + y) * w;
      const int64_t* left = xs.below.data();
      const int64_t* right = xs.above.data();
      const float* tx = xs.t.data();
      // This row of every plane at the coefficients' width (the two rows blended), then each
      // output pixel blends two of its columns.
      std::vector<float> blended(std::size_t(k * wi));
      for (int64_t plane = 0; plane < k; ++plane)
        for (int64_t x = 0; x < wi; ++x) {
          const float* q = set + plane * hi * wi;
          blended[std::size_t(plane * wi + x)] = q[top + x] + (q[bottom + x] - q[top + x]) * ty;
        }
      const auto read = [&](const float* q, int64_t x) { return q[left[x]] + (q[right[x]] - q[left[x]]) * tx[x]; };
      for (int64_t ch = 0; ch < n; ++ch) {
        const float *a = blended.data() + ch * wi, *offset = blended.data() + (n + ch) * wi;
        float* out_row = o + ((b * n + ch) * h + y) * w;
        if (c.bounded) {
          const float *low = blended.data() + (2 * n + ch) * wi, *high = blended.data() + (3 * n + ch) * wi;
          for (int64_t x = 0; x < w; ++x)
            out_row[x] = std::min(std::max(read(a, x) * guide_row[x] + read(offset, x), read(low, x)), read(high, x));
        } else {
          for (int64_t x = 0; x < w; ++x) out_row[x] = read(a, x) * guide_row[x] + read(offset, x);
        }
      }
    }
  });
  return out;
}

}  // namespace

at::Tensor guided_apply(const GuidedCoefficients& c, const at::Tensor& guide_part, double height, double width,
                        double y0, double x0) {
  if (guide_part.device().is_cpu()) return guided_apply_cpu(c, guide_part, height, width, y0, x0);
  return guided_apply_by_grid(c, guide_part, height, width, y0, x0);
}

at::Tensor guided_apply_by_grid(const GuidedCoefficients& c, const at::Tensor& guide_part, double height, double width,
                                double y0, double x0) {
  // Sampling positions of the part's pixels in the coefficients, normalised as grid_sample takes
  // them: its unaligned bilinear reads (y + ½)·h/height − ½, exactly what upsample_bilinear2d reads,
  // and its border padding repeats the edge as that does.
  const int64_t h = guide_part.size(2), w = guide_part.size(3);
  const auto opts = guide_part.options().dtype(at::kFloat);
  const at::Tensor ys = (at::arange(h, opts) + y0 + 0.5) * (2.0 / height) - 1.0;
  const at::Tensor xs = (at::arange(w, opts) + x0 + 0.5) * (2.0 / width) - 1.0;
  const at::Tensor grid = at::stack({xs.view({1, w}).expand({h, w}), ys.view({h, 1}).expand({h, w})}, 2)
                              .unsqueeze(0)
                              .expand({c.planes.size(0), h, w, 2});
  // All planes enlarged in one pass.
  const at::Tensor planes = at::grid_sampler(c.planes.to(opts.dtype()), grid, /*bilinear*/ 0, /*border*/ 1, /*align_corners=*/false);
  const int64_t n = c.channels;
  const at::Tensor out = planes.narrow(1, 0, n) * guide_part + planes.narrow(1, n, n);
  return c.bounded ? at::clamp(out, planes.narrow(1, 2 * n, n), planes.narrow(1, 3 * n, n)) : out;
}

}  // namespace cm::edit
