// Where training batches come from. A batch is a pure function of its key (the step number), so a
// resumed run sees exactly the batches the interrupted one would have seen, with no sampler state
// to save.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace cm::train {

class DataSource {
 public:
  virtual ~DataSource() = default;
  // [n, 3, size, size] float32 in [−1, 1] on the CPU; the same key gives the same batch.
  virtual at::Tensor batch(std::uint64_t key, int64_t n) const = 0;
  virtual int image_size() const = 0;
};

struct CropOptions {
  int size = 64;          // output side
  int min_crop = 0;       // smallest crop side in source pixels (0: size, i.e. native resolution)
  bool flip = true;       // horizontal flip with probability ½ (no colour jitter: colours are data)
};

// Random-resized square crops of a set of photos ([H, W, 3] uint8): for every sample it picks a
// photo uniformly (so a few huge photos do not dominate), then a crop side log-uniformly between
// min_crop and the photo's short side (so every scale, from native pixels to the whole photo, is
// seen equally often), then a position uniformly, and resizes the crop to `size` with an
// antialiased filter. Photos smaller than `size` are enlarged.
class CropSampler final : public DataSource {
 public:
  // Throws cm::Error(BadArgument) for an empty set or pixels that are not [H, W, 3] uint8.
  CropSampler(std::vector<at::Tensor> images, CropOptions options, std::uint64_t seed);
  at::Tensor batch(std::uint64_t key, int64_t n) const override;
  int image_size() const override { return options_.size; }
  std::size_t photo_count() const { return images_.size(); }

  struct Crop { std::size_t image; int64_t y, x, side; bool flip; };
  Crop choose(std::uint64_t key, int64_t index) const;  // what sample `index` of batch `key` shows

 private:
  std::vector<at::Tensor> images_;
  CropOptions options_;
  std::uint64_t seed_;
};

// A 64-bit mix of a seed and up to two keys (splitmix64): independent streams per step/sample.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0);

}  // namespace cm::train
