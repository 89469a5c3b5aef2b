// A photo's noise level, read from its finest diagonal Haar coefficients (Donoho & Johnstone
// 1994): over the whole image, where a mask holds, or on its flattest blocks at two scales. A
// denoise (edits.h, region.h) runs at it when the user gives none. Large photos are read a band of
// rows at a time, never as one double copy.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

namespace cm::edit {

// The std of white Gaussian noise in an image (in [−1, 1] units), from the median absolute
// deviation of its finest diagonal Haar coefficients (Donoho & Johnstone 1994): robust to
// edges and texture, unbiased for smooth images. One value for the whole batch.
double estimate_noise_sigma(const at::Tensor& image);
// The same from the 2×2 blocks that lie wholly where `where` ([1,1,H,W] bool) holds: the noise
// of the part a user points at (a photo's shadows are noisier than its sky). None when fewer than
// kNoiseBlocks do, too few for a median to mean much.
std::optional<double> estimate_noise_sigma(const at::Tensor& image, const at::Tensor& where);
constexpr int64_t kNoiseBlocks = 256;  // a 32 × 32 patch
// The noise of an image's flattest tenth of 32-px blocks (those whose finest diagonal coefficients
// are smallest: texture there is least), leaving out coefficients of clipped pixels (within 1.5
// levels of black or white) and blocks that are mostly those, and only of blocks wholly where
// `where` holds when given; none when there is no such block. Read two ways: at the finest scale, and in the image's four
// 2-strided sub-images (every second pixel each way: what a denoise of them meets, region.h).
// White noise reads alike both ways, as estimate_noise_sigma reads it. Noise that a camera's
// demosaicing spread over neighbouring pixels reads at about 3/4 of its std strided and a third at
// the finest scale: the strided reading is the level to denoise at, and the two readings apart say
// that neighbours share the noise. Texture, which the finest scale of a leafy photo reads as 2–3
// times the noise, reads as much less (docs/QUALITY.md, "Denoising in two passes").
struct FlatNoise {
  double strided;
  double finest;
};
// `image`: float in [−1, 1] or stored pixels (pixels.h), read in bands of block rows (a 50 MP
// photo is never one double copy).
std::optional<FlatNoise> estimate_flat_noise(const at::Tensor& image, const at::Tensor& where = at::Tensor());
constexpr int64_t kFlatNoiseBlock = 32;
constexpr double kFlattestShare = 0.1;

// A denoise's noise level asks to be estimated from the photo when it is ≤ 0 (or NaN): the one
// place that says so, for the engine's requests, the tiles of a photo and the single evaluation.
constexpr double kEstimateNoiseSigma = 0;
inline bool estimates_noise_sigma(double sigma) { return !(sigma > 0); }
// The level a denoise runs at: `sigma` itself, or when it asks for an estimate,
// estimate_noise_sigma(image) (image in [−1, 1]).
double denoise_sigma(double sigma, const at::Tensor& image);

}  // namespace cm::edit
