#include "core/train/data_source.h"

#include "core/base/error.h"
#include "core/edit/resample.h"

#include <ATen/ATen.h>

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

CropSampler::CropSampler(std::vector<at::Tensor> images, CropOptions options, std::uint64_t seed)
    : images_(std::move(images)), options_(options), seed_(seed) {
  if (images_.empty()) throw Error(ErrorCode::BadArgument, "no training images: the training split is empty");
  if (options_.size < 8) throw Error(ErrorCode::BadArgument, "crop size must be at least 8 pixels");
  if (options_.min_crop <= 0) options_.min_crop = options_.size;
  for (const at::Tensor& im : images_)
    if (!im.defined() || im.dim() != 3 || im.size(2) != 3 || im.scalar_type() != at::kByte)
      throw Error(ErrorCode::BadArgument, "training images must be [H, W, 3] uint8");
}

CropSampler::Crop CropSampler::choose(std::uint64_t key, int64_t index) const {
  std::mt19937_64 rng(mix_seed(seed_, key, std::uint64_t(index)));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Crop c;
  c.image = std::size_t(unit(rng) * double(images_.size())) % images_.size();
  const at::Tensor& im = images_[c.image];
  const int64_t short_side = std::min(im.size(0), im.size(1));
  const double lo = std::min<double>(options_.min_crop, double(short_side)), hi = double(short_side);
  c.side = std::clamp<int64_t>(std::llround(std::exp(std::log(lo) + unit(rng) * (std::log(hi) - std::log(lo)))), 1, short_side);
  c.y = int64_t(unit(rng) * double(im.size(0) - c.side + 1));
  c.x = int64_t(unit(rng) * double(im.size(1) - c.side + 1));
  c.flip = options_.flip && unit(rng) < 0.5;
  return c;
}

at::Tensor CropSampler::batch(std::uint64_t key, int64_t n) const {
  std::vector<at::Tensor> crops;
  crops.reserve(std::size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    const Crop c = choose(key, i);
    at::Tensor crop = images_[c.image].slice(0, c.y, c.y + c.side).slice(1, c.x, c.x + c.side);
    crop = crop.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).div_(127.5).sub_(1.0);
    if (c.flip) crop = crop.flip({3});
    crops.push_back(edit::resize_image(crop, options_.size, options_.size));
  }
  return at::cat(crops, 0);
}

}  // namespace cm::train
