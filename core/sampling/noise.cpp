#include "core/sampling/noise.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace cm::sampling {
namespace {

// splitmix64 (Steele, Lea, Flood 2014): a fast bijective mixer, good enough to decorrelate the
// seeds of neighbouring blocks.
std::uint64_t splitmix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t block_seed(std::uint64_t seed, int draw, int64_t image, int64_t block_row, int64_t block_col) {
  std::uint64_t h = splitmix64(seed);
  for (std::uint64_t part : {std::uint64_t(draw), std::uint64_t(image), std::uint64_t(block_row), std::uint64_t(block_col)})
    h = splitmix64(h ^ part);
  return h;
}

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

at::Tensor NoiseField::crop(int draw, const NoiseWindow& w) const {
  if (w.batch < 1 || w.channels < 1 || w.height < 1 || w.width < 1)
    throw Error(ErrorCode::Internal, "a noise window needs a positive size");
  const int64_t row0 = floor_div(w.y0, kBlock), row1 = floor_div(w.y0 + w.height - 1, kBlock);
  const int64_t col0 = floor_div(w.x0, kBlock), col1 = floor_div(w.x0 + w.width - 1, kBlock);
  at::Tensor blocks = at::empty({w.batch, w.channels, (row1 - row0 + 1) * kBlock, (col1 - col0 + 1) * kBlock}, at::kFloat);
  for (int64_t b = 0; b < w.batch; ++b)
    for (int64_t r = row0; r <= row1; ++r)
      for (int64_t c = col0; c <= col1; ++c) {
        at::Generator generator = at::detail::createCPUGenerator(block_seed(seed_, draw, w.first_image + b, r, c));
        blocks[b]
            .narrow(1, (r - row0) * kBlock, kBlock)
            .narrow(2, (c - col0) * kBlock, kBlock)
            .copy_(at::randn({w.channels, kBlock, kBlock}, generator, at::kFloat));
      }
  return blocks.narrow(2, w.y0 - row0 * kBlock, w.height).narrow(3, w.x0 - col0 * kBlock, w.width).contiguous();
}

NoiseSource field_noise(const NoiseField& field, const NoiseWindow& window) {
  return [field, window](int draw) { return field.crop(draw, window); };
}

at::Tensor slerp(const at::Tensor& z1, const at::Tensor& z2, double alpha) {
  if (z1.dim() != 4 || !z1.sizes().equals(z2.sizes()))
    throw Error(ErrorCode::ShapeMismatch, "slerp needs two [B,C,H,W] noises of one shape");
  const int64_t batch = z1.size(0);
  const at::Tensor a = z1.reshape({batch, -1}).to(at::kDouble).cpu(), b = z2.reshape({batch, -1}).to(at::kDouble).cpu();
  const at::Tensor cosines = ((a * b).sum(1) / (a.norm(2, 1) * b.norm(2, 1))).clamp(-1, 1);
  std::vector<double> wa(batch), wb(batch);
  for (int64_t i = 0; i < batch; ++i) {
    const double theta = std::acos(cosines[i].item<double>());
    if (std::sin(theta) < 1e-6) {  // (anti)parallel: the sphere's great circle is undefined
      wa[i] = 1 - alpha;
      wb[i] = alpha;
    } else {
      wa[i] = std::sin((1 - alpha) * theta) / std::sin(theta);
      wb[i] = std::sin(alpha * theta) / std::sin(theta);
    }
  }
  const auto column = [&](const std::vector<double>& v) {
    return at::tensor(v, at::kDouble).to(z1.scalar_type()).to(z1.device()).view({batch, 1, 1, 1});
  };
  return column(wa) * z1 + column(wb) * z2;
}

}  // namespace cm::sampling
