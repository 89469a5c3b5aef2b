// Initial estimates: the classical answer each edit starts from before the model refines it
// (warm start, CCDF: Chung, Sim & Ye 2022; CM4IR). A better start lets the loop begin at a
// small σ and keep what the photo already says. Torch ops only, on the input's device, so
// nothing goes back to the host on a GPU. Images are [B,C,H,W] float in [−1, 1].
#pragma once

#include <ATen/core/Tensor.h>

namespace cm::edit {

// Fills the pixels where known ≤ 0 from their surroundings: the membrane (harmonic) interpolant,
// solved coarse to fine (a mask-weighted pull-push pyramid, then Jacobi sweeps of the Laplace
// equation on every level). Known pixels are kept bit for bit. With a guide ([B,1,H,W]) the
// neighbours are weighted by exp(−Δguide²/(2·guide_sigma²)), so the fill stops at the guide's
// edges (colorization by optimization, Levin, Lischinski & Weiss 2004, in its Jacobi form).
// known: [B|1,1,H,W]. Nothing known anywhere gives 0.
at::Tensor fill_holes(const at::Tensor& image, const at::Tensor& known, const at::Tensor& guide = at::Tensor(),
                      double guide_sigma = 0.05);

// Super-resolution's start: bicubic ×factor, corrected by iterative back-projection (Irani &
// Peleg 1991) and a last per-patch shift, so every factor×factor patch mean equals its low-res
// pixel exactly (up to float rounding).
at::Tensor upsample_keeping_means(const at::Tensor& low_res, int factor);

// Colorization's start: the image's luma with the hints' chroma spread along it (fill_holes with
// the luma as guide), or no chroma (grey) without hints. rgb: [B,3,H,W]; hints [B|1,3,H,W] with
// hint_mask [B|1,1,H,W] (> 0 = hinted), or both undefined.
at::Tensor propagate_chroma(const at::Tensor& rgb, const at::Tensor& hints, const at::Tensor& hint_mask);

}  // namespace cm::edit
