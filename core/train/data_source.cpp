#include "core/train/data_source.h"

#include "core/base/error.h"
#include "core/edit/resample.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>
#include <random>

namespace cm::train {

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b) {
  auto splitmix = [](std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  return splitmix(splitmix(splitmix(seed) ^ a) ^ b);
}

at::Tensor DataSource::batch_at(std::uint64_t key, int64_t n, int size) const {
  if (size == image_size()) return batch(key, n);
  throw Error(ErrorCode::Unsupported, fmt::format("this data source gives {}×{} images only, not {}×{}", image_size(), image_size(), size, size));
}

at::Tensor DataSource::part_at(std::uint64_t key, int64_t n, int size, int64_t first, int64_t count) const {
  check_part(n, first, count);
  const at::Tensor whole = batch_at(key, n, size);
  return first == 0 && count == n ? whole : whole.narrow(0, first, count);
}

void check_part(int64_t n, int64_t first, int64_t count) {
  if (n < 1 || first < 0 || count < 1 || first + count > n)
    throw Error(ErrorCode::BadArgument, fmt::format("images {}…{} are not part of a batch of {}", first, first + count - 1, n));
}

CropOptions checked_crop_options(const std::vector<at::Tensor>& images, CropOptions options) {
  if (images.empty()) throw Error(ErrorCode::BadArgument, "no training images: the training split is empty");
  if (options.size < 8) throw Error(ErrorCode::BadArgument, "crop size must be at least 8 pixels");
  if (options.min_crop <= 0) options.min_crop = options.size;
  for (const at::Tensor& im : images)
    if (!im.defined() || im.dim() != 3 || im.size(2) != 3 || im.scalar_type() != at::kByte)
      throw Error(ErrorCode::BadArgument, "training images must be [H, W, 3] uint8");
  return options;
}

Crop choose_crop(const std::vector<std::pair<int64_t, int64_t>>& photo_sizes, const CropOptions& options, std::uint64_t seed,
                 std::uint64_t key, int64_t index, int size) {
  std::mt19937_64 rng(mix_seed(seed, key, std::uint64_t(index)));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Crop c;
  c.image = std::size_t(unit(rng) * double(photo_sizes.size())) % photo_sizes.size();
  const auto [height, width] = photo_sizes[c.image];
  const int64_t short_side = std::min(height, width);
  // The smallest crop scales with the output, so a 128-px crop is at native resolution too.
  const double min_crop = std::max(1.0, double(options.min_crop) * double(size) / double(options.size));
  const double lo = std::min<double>(min_crop, double(short_side)), hi = double(short_side);
  c.side = std::clamp<int64_t>(std::llround(std::exp(std::log(lo) + unit(rng) * (std::log(hi) - std::log(lo)))), 1, short_side);
  c.y = int64_t(unit(rng) * double(height - c.side + 1));
  c.x = int64_t(unit(rng) * double(width - c.side + 1));
  c.flip = options.flip && unit(rng) < 0.5;
  return c;
}

CropSampler::CropSampler(std::vector<at::Tensor> images, CropOptions options, std::uint64_t seed)
    : images_(std::move(images)), options_(checked_crop_options(images_, options)), seed_(seed) {
  for (const at::Tensor& im : images_) sizes_.emplace_back(im.size(0), im.size(1));
}

at::Tensor CropSampler::part_at(std::uint64_t key, int64_t n, int size, int64_t first, int64_t count) const {
  if (size < 8) throw Error(ErrorCode::BadArgument, "crop size must be at least 8 pixels");
  check_part(n, first, count);
  std::vector<at::Tensor> crops;
  crops.reserve(std::size_t(count));
  for (int64_t i = first; i < first + count; ++i) {
    const Crop c = choose_crop(sizes_, options_, seed_, key, i, size);
    at::Tensor crop = images_[c.image].slice(0, c.y, c.y + c.side).slice(1, c.x, c.x + c.side);
    crop = crop.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).div_(127.5).sub_(1.0);
    if (c.flip) crop = crop.flip({3});
    crops.push_back(edit::resize_image(crop, size, size));
  }
  return at::cat(crops, 0);
}

}  // namespace cm::train
