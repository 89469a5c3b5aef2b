// Training crops made on the training device, in batch, so a GPU never waits for a CPU that
// resizes crops one by one (CropSampler's way).
//
// The photos are uploaded once as uint8, each with a mip pyramid (levels halved by 2×2 means),
// into one flat [pixels, 3] buffer. A crop chooses the level whose pixels are at most 2× smaller
// than the output's, then samples it bilinearly at 2×2 points per output pixel and averages them:
// a filter wide enough that a 320-px crop shrunk to 64 px does not alias. Because bilinear
// sampling and the 2×2 mean are separable, a batch is four gathers of [B, 2S, 2S] pixels.
//
// Crops are chosen by choose_crop, exactly as CropSampler chooses them: the same key gives the
// same photos, sides, positions and flips on either sampler.
#pragma once

#include "core/train/data_source.h"

#include <c10/core/Device.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace cm::train {

class DeviceCropSampler final : public DataSource {
 public:
  // Throws cm::Error(BadArgument) as CropSampler does, and cm::Error(Device) naming the bytes
  // it needed when the device cannot hold the photos.
  DeviceCropSampler(const std::vector<at::Tensor>& images, CropOptions options, std::uint64_t seed, c10::Device device);

  // [n, 3, size, size] float32 in [−1, 1] on the device.
  at::Tensor batch(std::uint64_t key, int64_t n) const override { return batch_at(key, n, options_.size); }
  at::Tensor batch_at(std::uint64_t key, int64_t n, int size) const override { return part_at(key, n, size, 0, n); }
  at::Tensor part_at(std::uint64_t key, int64_t n, int size, int64_t first, int64_t count) const override;
  int image_size() const override { return options_.size; }

  std::size_t photo_count() const { return levels_.size(); }
  int64_t device_bytes() const;  // of the pyramid buffer

 private:
  struct Level {
    int64_t offset, height, width;  // first pixel in the buffer, size
  };
  std::vector<std::vector<Level>> levels_;          // per photo, level 0 = full size
  std::vector<std::pair<int64_t, int64_t>> sizes_;  // per photo, level 0's [height, width]
  at::Tensor pixels_;                               // [total pixels, 3] uint8 on the device
  CropOptions options_;
  std::uint64_t seed_;
  c10::Device device_;
};

}  // namespace cm::train
