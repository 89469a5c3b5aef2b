// Where training batches come from. A batch is a pure function of its key (the step number), so a
// resumed run sees exactly the batches the interrupted one would have seen, with no sampler state
// to save.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace cm::train {

class DataSource {
 public:
  virtual ~DataSource() = default;
  // [n, 3, size, size] float32 in [−1, 1] on the source's device (the CPU unless the source says
  // otherwise); the same key gives the same batch.
  virtual at::Tensor batch(std::uint64_t key, int64_t n) const = 0;
  virtual int image_size() const = 0;
  // The same at another side (a source of crops makes them at any size). The default serves only
  // image_size() and throws cm::Error(Unsupported) for any other.
  virtual at::Tensor batch_at(std::uint64_t key, int64_t n, int size) const;
  // Images first … first + count − 1 of batch_at(key, n, size): one rank's share of a batch in a
  // data-parallel run. The default makes the whole batch and cuts it; the crop samplers, whose
  // images are drawn one by one from (key, index), make only those.
  virtual at::Tensor part_at(std::uint64_t key, int64_t n, int size, int64_t first, int64_t count) const;
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
struct Crop { std::size_t image; int64_t y, x, side; bool flip; };

// What sample `index` of batch `key` shows, for crops of side `size` from photos of these
// [height, width]: the rule above, the smallest side min_crop·size/options.size (at least 1).
// Shared by the CPU and the GPU samplers, so both see the same crops.
Crop choose_crop(const std::vector<std::pair<int64_t, int64_t>>& photo_sizes, const CropOptions& options, std::uint64_t seed,
                 std::uint64_t key, int64_t index, int size);

class CropSampler final : public DataSource {
 public:
  // Throws cm::Error(BadArgument) for an empty set or pixels that are not [H, W, 3] uint8.
  CropSampler(std::vector<at::Tensor> images, CropOptions options, std::uint64_t seed);
  at::Tensor batch(std::uint64_t key, int64_t n) const override { return batch_at(key, n, options_.size); }
  at::Tensor batch_at(std::uint64_t key, int64_t n, int size) const override { return part_at(key, n, size, 0, n); }
  at::Tensor part_at(std::uint64_t key, int64_t n, int size, int64_t first, int64_t count) const override;
  int image_size() const override { return options_.size; }
  std::size_t photo_count() const { return images_.size(); }

  using Crop = train::Crop;
  Crop choose(std::uint64_t key, int64_t index) const { return choose_crop(sizes_, options_, seed_, key, index, options_.size); }

 private:
  std::vector<at::Tensor> images_;
  std::vector<std::pair<int64_t, int64_t>> sizes_;
  CropOptions options_;
  std::uint64_t seed_;
};

// Checks a set of training photos and fills in the default smallest crop: throws
// cm::Error(BadArgument) for an empty set, pixels that are not [H, W, 3] uint8, or a side < 8.
CropOptions checked_crop_options(const std::vector<at::Tensor>& images, CropOptions options);

// Throws cm::Error(BadArgument) unless images first … first + count − 1 lie in a batch of n.
void check_part(int64_t n, int64_t first, int64_t count);

// A 64-bit mix of a seed and up to two keys (splitmix64): independent streams per step/sample.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0);

}  // namespace cm::train
