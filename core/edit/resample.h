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
// Bounded: the result is held within the source's range near each pixel (low, high: its local
// minimum and maximum, enlarged as a and b are). A linear fit extrapolates where the guide goes
// beyond what the low resolution saw, a thin bright or dark thing: colorization's colour came up
// with 0.483 of the truth's gradient energy unbounded and 0.451 bounded, at the same chroma RMSE
// (docs/QUALITY.md, "Colour hints at the photo's pixels").
struct GuidedCoefficients {
  at::Tensor planes;      // [B,2C,h,w]: a, then b; [B,4C,h,w] bounded: a, b, low, high
  int64_t channels = 0;   // C
  bool bounded = false;
};
GuidedCoefficients guided_fit(const at::Tensor& guide_low, const at::Tensor& source_low, int radius, double eps,
                              bool bounded = false);
// The filtered source on the part of a height × width high-resolution image whose guide is
// `guide_part` ([B,1,h',w'], its top-left pixel at (y0, x0) of that image; rows and columns of a
// padded image may lie outside it). In units of the part's pixels, which need not be whole ones
// of the image the coefficients were fitted for.
at::Tensor guided_apply(const GuidedCoefficients& c, const at::Tensor& guide_part, double height, double width,
                        double y0, double x0);
// guided_apply by grid_sample, off the CPU: every plane enlarged to the part, then used. On a CPU
// those planes cost 1.5 s of a 20 MP colorization's strips, so there guided_apply reads each
// pixel's coefficients itself; this one stays callable for a test that holds the two together.
at::Tensor guided_apply_by_grid(const GuidedCoefficients& c, const at::Tensor& guide_part, double height, double width,
                                double y0, double x0);

}  // namespace cm::edit
