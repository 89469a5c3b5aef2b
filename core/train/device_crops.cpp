#include "core/train/device_crops.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace cm::train {
namespace {

constexpr int kMaxLevel = 5;  // 32× smaller: past any crop this sampler is asked for
constexpr int kSub = 2;       // sample points per output pixel along each axis

// Bilinear taps along one axis: for every output coordinate, the two source indices (clamped to
// the edge) and the weight of the second. coords: [B, M] float positions in pixel units, where
// pixel i covers [i, i + 1).
struct Taps {
  at::Tensor lo, hi, w;  // [B, M] int64, int64, float
};

Taps taps(const at::Tensor& coords, const at::Tensor& extent) {
  const at::Tensor c = coords - 0.5;  // pixel centres at i + 0.5
  const at::Tensor base = at::floor(c);
  const at::Tensor last = (extent - 1).unsqueeze(1);
  Taps t;
  t.w = c - base;
  t.lo = at::minimum(at::clamp_min(base, 0), last).to(at::kLong);
  t.hi = at::minimum(at::clamp_min(base + 1, 0), last).to(at::kLong);
  return t;
}

}  // namespace

DeviceCropSampler::DeviceCropSampler(const std::vector<at::Tensor>& images, CropOptions options, std::uint64_t seed, c10::Device device)
    : options_(checked_crop_options(images, options)), seed_(seed), device_(device) {
  // Levels are made on the CPU in float (2×2 means, edge pixels repeated for odd sizes), then the
  // whole pyramid goes to the device in one copy.
  std::vector<at::Tensor> flat;
  int64_t offset = 0;
  for (const at::Tensor& im : images) {
    sizes_.emplace_back(im.size(0), im.size(1));
    std::vector<Level> levels;
    at::Tensor level = im.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat);  // [1, 3, H, W]
    for (int l = 0; l <= kMaxLevel; ++l) {
      const int64_t h = level.size(2), w = level.size(3);
      levels.push_back({offset, h, w});
      flat.push_back(level.round().clamp(0, 255).to(at::kByte)[0].permute({1, 2, 0}).reshape({h * w, 3}));
      offset += h * w;
      if (std::min(h, w) < 16) break;
      at::Tensor padded = level;
      if (h % 2 || w % 2) padded = at::replication_pad2d(level, {0, w % 2, 0, h % 2});
      level = at::avg_pool2d(padded, 2);
    }
    levels_.push_back(std::move(levels));
  }
  const int64_t bytes = offset * 3;
  try {
    pixels_ = at::cat(flat, 0).to(device_);
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::Device, fmt::format("cannot hold the training photos on {} ({:.1f} MB): {}", device_.str(), double(bytes) / 1e6,
                                               e.what_without_backtrace()));
  }
}

int64_t DeviceCropSampler::device_bytes() const { return pixels_.numel(); }

at::Tensor DeviceCropSampler::part_at(std::uint64_t key, int64_t batch, int size, int64_t first, int64_t n) const {
  if (size < 8) throw Error(ErrorCode::BadArgument, "crop size must be at least 8 pixels");
  check_part(batch, first, n);
  // Per sample: the level's offset, height and width, and the crop's origin, side and flip in
  // that level's pixels. Chosen on the CPU (a few hundred draws), then one copy to the device,
  // from page-locked memory on CUDA so that it does not wait for the work queued before it.
  at::Tensor params = at::empty({n, 7}, at::TensorOptions().dtype(at::kDouble).pinned_memory(device_.is_cuda()));
  auto p = params.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const Crop c = choose_crop(sizes_, options_, seed_, key, first + i, size);
    const std::vector<Level>& levels = levels_[c.image];
    // The coarsest level at which the crop still has ≥ size pixels: shrinking by < 2× is left
    // to the 2×2 samples of each output pixel.
    int l = int(std::floor(std::log2(std::max(1.0, double(c.side) / double(size)))));
    l = std::clamp(l, 0, int(levels.size()) - 1);
    const double scale = double(levels[std::size_t(l)].height) / double(levels[0].height);
    p[i][0] = double(levels[std::size_t(l)].offset);
    p[i][1] = double(levels[std::size_t(l)].height);
    p[i][2] = double(levels[std::size_t(l)].width);
    p[i][3] = double(c.y) * scale;
    p[i][4] = double(c.x) * scale;
    p[i][5] = double(c.side) * scale;
    p[i][6] = c.flip ? 1.0 : 0.0;
  }
  const at::Tensor d = params.to(device_, /*non_blocking=*/true);
  const at::Tensor offset = d.select(1, 0).to(at::kLong), height = d.select(1, 1), width = d.select(1, 2);
  const at::Tensor y0 = d.select(1, 3).unsqueeze(1), x0 = d.select(1, 4).unsqueeze(1), side = d.select(1, 5).unsqueeze(1);
  const at::Tensor flip = d.select(1, 6).unsqueeze(1) > 0.5;

  // Sample positions in [0, 1) of the crop: (j + (a + ½)/kSub)/size for output pixel j, point a.
  const int64_t m = int64_t(size) * kSub;
  const at::Tensor u = ((at::arange(m, d.options()) + 0.5) / double(m)).unsqueeze(0);  // [1, M]
  const Taps ty = taps(y0 + u * side, height);
  const Taps tx = taps(x0 + at::where(flip, 1.0 - u, u) * side, width);

  // value = Σ over the four corners of w_y·w_x·pixel[offset + y·W + x], all [B, M, M, 3].
  const at::Tensor row_lo = offset.unsqueeze(1) + ty.lo * width.to(at::kLong).unsqueeze(1);
  const at::Tensor row_hi = offset.unsqueeze(1) + ty.hi * width.to(at::kLong).unsqueeze(1);
  const auto gather = [&](const at::Tensor& rows, const at::Tensor& cols) {
    const at::Tensor index = (rows.unsqueeze(2) + cols.unsqueeze(1)).reshape({-1});
    return pixels_.index_select(0, index).view({n, m, m, 3}).to(at::kFloat);
  };
  const at::Tensor wy = ty.w.to(at::kFloat).view({n, m, 1, 1}), wx = tx.w.to(at::kFloat).view({n, 1, m, 1});
  at::Tensor out = gather(row_lo, tx.lo) * ((1 - wy) * (1 - wx));
  out += gather(row_lo, tx.hi) * ((1 - wy) * wx);
  out += gather(row_hi, tx.lo) * (wy * (1 - wx));
  out += gather(row_hi, tx.hi) * (wy * wx);
  // The mean of each output pixel's kSub × kSub points, then [−1, 1] in NCHW.
  out = out.view({n, size, kSub, size, kSub, 3}).mean({2, 4});
  return out.permute({0, 3, 1, 2}).contiguous().div_(127.5).sub_(1.0);
}

}  // namespace cm::train
