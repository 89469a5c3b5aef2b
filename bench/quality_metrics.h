// quality's metrics. Images are [1, 3, H, W] in [−1, 1] (swd: [N, 3, H, W]); masks [1, 1, H, W],
// > 0 = inside the region that is scored.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace cm::bench {

double psnr(const at::Tensor& a, const at::Tensor& b, const at::Tensor& mask);
// Mean SSIM (Gaussian window 11, σ 1.5, per channel, on [0, 1]) over the mask's pixels.
double ssim(const at::Tensor& a, const at::Tensor& b, const at::Tensor& mask);
// Hasler & Süsstrunk (2003) colourfulness, on 0..255 RGB.
double colorfulness(const at::Tensor& image);
double chroma_rmse(const at::Tensor& a, const at::Tensor& b);

// Texture: Σ of squared forward differences (x and y, all channels) of `result` over the region,
// divided by the same of `truth`. 1 = as sharp as the truth, < 1 blurry, > 1 noisy or seamed.
double gradient_ratio(const at::Tensor& result, const at::Tensor& truth, const at::Tensor& mask);

// Colour speckle: the energy over the region of the chroma's high frequencies (YCbCr's Cb and
// Cr minus their Gaussian blur of σ = 2 pixels), of `result` over `truth`. A fill that adds colour
// noise the photo does not have is > 1; a blur is < 1.
double chroma_hf_ratio(const at::Tensor& result, const at::Tensor& truth, const at::Tensor& mask);

// The colour of an image: the image minus the grey of its luma, (q₀·rgb / Σq₀)·(1, 1, 1). A
// colorization keeps the luma exactly, so its texture is measured on this (grey → 0).
at::Tensor colour_offset(const at::Tensor& image);

// Share of the pixels outside the mask whose 8-bit RGB value (rounded (x+1)·127.5) differs
// from `input`'s: what an edit that keeps those pixels must leave at 0.
double changed_outside(const at::Tensor& result, const at::Tensor& input, const at::Tensor& mask);

// The mask's bounding box, inclusive: {y0, x0, y1, x1}; the whole image when the mask is empty.
std::vector<int64_t> bounding_box(const at::Tensor& mask);

// --- sliced Wasserstein distance of Laplacian-pyramid 7×7 patches (Karras et al. 2018) ----------

// Pyramid levels down to 16 px (at most 3: 64, 32, 16 for the 64-px models).
int swd_levels(int64_t size);
std::vector<at::Tensor> laplacian_pyramid(const at::Tensor& images, int levels);

// Per level, ×10³ as Karras et al. report it: `per_image` patches anywhere in each image of a and b.
std::vector<double> swd(const at::Tensor& a, const at::Tensor& b, std::uint64_t seed);

// One photo's patches: per pyramid level, [patches, 3·7·7].
using PatchSet = std::vector<at::Tensor>;

// `per_level` patches of one image ([1, 3, H, W]) with their top-left corners drawn inside `box`
// (bounding_box at full resolution, scaled to each level and clamped so the patch fits). The
// corners depend on the seed only, so result and truth are sampled at the same places.
PatchSet region_patches(const at::Tensor& image, const std::vector<int64_t>& box, int per_level, std::uint64_t seed);

// `per_level` patches of one image centred on pixels of `mask` ([1, 1, H, W]; at each level, a
// pixel with any mask pixel under it), moved in where they would cross the image's edge: the
// texture of scattered small holes, whose bounding box is most of the photo. The same seed and
// mask sample result and truth at the same places.
PatchSet mask_patches(const at::Tensor& image, const at::Tensor& mask, int per_level, std::uint64_t seed);

// SWD ×10³ between the patches of many photos, pooled, as the mean over the pyramid's levels: one
// distance per method (NAN without patches). Pooling
// costs what per-photo distances cost (the same projections and sorts, one larger sort per
// level), and a distance between a few dozen patches is biased upwards by their sparseness,
// so averaging per-photo distances would mostly measure the patch count.
double swd_pooled(const std::vector<PatchSet>& a, const std::vector<PatchSet>& b, std::uint64_t seed);

}  // namespace cm::bench
