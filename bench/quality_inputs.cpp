#include "bench/quality_inputs.h"

#include "core/edit/linear_operator.h"
#include "core/edit/resample.h"

#include <ATen/ATen.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <random>

namespace cm::bench {
namespace {

at::Tensor square_photo(const at::Tensor& rgb8, int size) {
  const int64_t h = rgb8.size(0), w = rgb8.size(1), s = std::min(h, w);
  const at::Tensor crop = rgb8.slice(0, (h - s) / 2, (h - s) / 2 + s).slice(1, (w - s) / 2, (w - s) / 2 + s);
  const at::Tensor x = crop.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) / 127.5 - 1;
  return edit::resize_image(x, size, size);
}

// Free-form brush strokes, as a user paints them: a few random walks with thick round brushes.
at::Tensor brush_mask(int size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  cv::Mat m = cv::Mat::zeros(size, size, CV_8U);
  const int strokes = 2 + int(u(rng) * 3);
  for (int s = 0; s < strokes; ++s) {
    cv::Point p(int(size * (0.2 + 0.6 * u(rng))), int(size * (0.2 + 0.6 * u(rng))));
    const int width = int(size * (0.04 + 0.06 * u(rng)));
    const int vertices = 3 + int(u(rng) * 5);
    double angle = u(rng) * 2 * M_PI;
    for (int v = 0; v < vertices; ++v) {
      angle += (u(rng) - 0.5) * 2.0;
      const double length = size * (0.08 + 0.12 * u(rng));
      cv::Point q(std::clamp(int(p.x + length * std::cos(angle)), 0, size - 1), std::clamp(int(p.y + length * std::sin(angle)), 0, size - 1));
      cv::line(m, p, q, 255, width, cv::LINE_AA);
      p = q;
    }
  }
  return (at::from_blob(m.data, {1, 1, size, size}, at::kByte) > 127).to(at::kFloat);  // a copy: m dies here
}

at::Tensor box_mask(int size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int side = size / 2;
  std::uniform_int_distribution<int> at_(size / 8, size - side - size / 8);  // inside, with context around it
  at::Tensor m = at::zeros({1, 1, size, size});
  m.narrow(2, at_(rng), side).narrow(3, at_(rng), side).fill_(1);
  return m;
}

}  // namespace

Photo make_photo(const at::Tensor& rgb8, int size, std::uint64_t mask_seed, Hole hole) {
  Photo p;
  p.truth = square_photo(rgb8, size);
  p.mask = hole == Hole::Box ? box_mask(size, mask_seed) : brush_mask(size, mask_seed);
  p.holed = at::where(p.mask.expand_as(p.truth) > 0, at::zeros_like(p.truth), p.truth);
  p.low = at::avg_pool2d(p.truth, {4, 4});
  p.grey = edit::grey_of(p.truth).contiguous();
  return p;
}

}  // namespace cm::bench
