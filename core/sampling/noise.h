// Seeded Gaussian noise that is the same on every device and for every tiling.
//
// A NoiseField is an endless plane of N(0, 1) numbers per (seed, draw, image, channel, row,
// column). It is cut into square blocks, each drawn from its own CPU generator seeded by a hash
// of (seed, draw, image, block row, block column), and moved to the device afterwards. So:
//  - the same seed gives the same image on CPU and GPU (CUDA generators give other numbers);
//  - a tile at (y0, x0) sees exactly the noise the whole image would have there, which is what
//    lets tiled super-resolution reproduce an untiled run instead of showing seams;
//  - image b of a batch does not depend on the batch size.
// Draw 0 is the starting noise z₀ of a sampler; draw k the noise added before evaluation k.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>

namespace cm::sampling {

// Where a crop of the field lies: images [0, batch), channels, rows [y0, y0+height), columns
// [x0, x0+width). Coordinates may be negative (padding around a photo).
struct NoiseWindow {
  int64_t batch = 1;
  int64_t channels = 3;
  int64_t y0 = 0, x0 = 0;
  int64_t height = 0, width = 0;
  int64_t first_image = 0;  // image b of the window is image first_image + b of the field
};

class NoiseField {
 public:
  static constexpr int kBlock = 64;

  explicit NoiseField(std::uint64_t seed) : seed_(seed) {}

  // [batch, channels, height, width] float32 on the CPU.
  at::Tensor crop(int draw, const NoiseWindow& window) const;

  std::uint64_t seed() const { return seed_; }

 private:
  std::uint64_t seed_;
};

// What a sampling loop asks for: the standard normal noise of draw k, shaped like its images.
// The loop moves it to its device.
using NoiseSource = std::function<at::Tensor(int draw)>;

// The field's noise over `window`, draw by draw.
NoiseSource field_noise(const NoiseField& field, const NoiseWindow& window);

// Spherical interpolation of two noises, per image, over all of C·H·W (docs/MATH.md §5, interpolation):
// θ = arccos⟨z₁/‖z₁‖, z₂/‖z₂‖⟩, z(α) = sin((1−α)θ)/sin θ·z₁ + sin(αθ)/sin θ·z₂ (weights in double).
// α = 0 and α = 1 give z₁ and z₂ exactly; nearly parallel noises fall back to linear blending.
at::Tensor slerp(const at::Tensor& z1, const at::Tensor& z2, double alpha);

}  // namespace cm::sampling
