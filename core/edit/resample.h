// Resampling and mask shaping for photos larger (or smaller) than the model, torch ops only.
#pragma once

#include <ATen/core/Tensor.h>

namespace cm::edit {

// [B,C,H,W] → [B,C,h,w]: antialiased bicubic (an area-weighted filter when shrinking, so no
// aliasing; plain bicubic when enlarging), clamped to [−1, 1]. The same size returns the input.
at::Tensor resize_image(const at::Tensor& image, int64_t height, int64_t width);

// Masks and weights: antialiased bilinear (no overshoot), clamped to [0, 1].
at::Tensor resize_mask(const at::Tensor& mask, int64_t height, int64_t width);

// Compositing weights from a mask (> 0 = edited): 1 on the mask grown by `grow` pixels, then
// a ramp down to exactly 0 over 2·feather more pixels (a box blur of the mask grown by
// grow + feather). Distances are Chebyshev (square brushes). [B,1,H,W] float.
at::Tensor feather_weights(const at::Tensor& mask, int grow, int feather);

// Mean over the (2r+1)² box around every pixel, over the pixels inside the image (summed-area
// tables: cost independent of r). [B,C,H,W] float.
at::Tensor box_mean(const at::Tensor& x, int radius);

// He et al.'s guided filter: a local linear fit of `source` to `guide` ([B,1,H,W]) in boxes of
// radius r, so edges of the guide reappear in the source. eps regularises flat regions.
at::Tensor guided_filter(const at::Tensor& guide, const at::Tensor& source, int radius, double eps);

// The fast guided filter (He & Sun 2015) for carrying a low-resolution source up onto a
// high-resolution guide: the linear coefficients a, b of source ≈ a·guide + b are fitted at low
// resolution (guide_low and source_low, radius in low-res pixels) and only they are enlarged
// (bilinear, as upsample_bilinear2d without aligned corners) to the high resolution, then applied
// there. A few passes over the large image instead of a dozen, and any part of it on its own.
struct GuidedCoefficients {
  at::Tensor a, b;  // [B,C,h,w]
};
GuidedCoefficients guided_fit(const at::Tensor& guide_low, const at::Tensor& source_low, int radius, double eps);
// The filtered source on the part of a height × width high-resolution image whose guide is
// `guide_part` ([B,1,h',w'], its top-left pixel at (y0, x0) of that image; rows and columns of a
// padded image may lie outside it).
at::Tensor guided_apply(const GuidedCoefficients& c, const at::Tensor& guide_part, int64_t height, int64_t width,
                        int64_t y0, int64_t x0);

}  // namespace cm::edit
