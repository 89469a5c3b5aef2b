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
// known: [B|1,1,H,W]. Nothing known anywhere gives 0. With a `reach` (pixels, > 0) the fill is
// the screened one, −Δu + u/reach² = 0: away from the known pixels it fades to 0, over about
// `reach` where nothing stops it and at once across the guide's edges (without it the one value
// known anywhere is the whole fill, edges or not).
at::Tensor fill_holes(const at::Tensor& image, const at::Tensor& known, const at::Tensor& guide = at::Tensor(),
                      double guide_sigma = 0.05, double reach = 0);

// Super-resolution's start: bicubic ×factor, corrected by iterative back-projection (Irani &
// Peleg 1991) and a last per-patch shift, so every factor×factor patch mean equals its low-res
// pixel exactly (up to float rounding).
at::Tensor upsample_keeping_means(const at::Tensor& low_res, int factor);

// Colorization's start: the image's luma with the hints' chroma spread along it (fill_holes with
// the luma as guide), fading to grey across the luma's edges and, slowly, with the distance
// (kHintReach), so the model's own colour comes where no hint reaches; or no chroma (grey)
// without hints. As a membrane, one red hint on a dragonfly turned a whole 12 MP photo of leaves
// red, and one in a sky the ground under it too. rgb: [B,3,H,W]; hints [B|1,3,H,W] with
// hint_mask [B|1,1,H,W] (> 0 = hinted), or both undefined.
// How far a colour hint reaches across a flat region (fill_holes' `reach`), as a share of the
// image's longer side. Seen in the editor (docs/QUALITY.md, "Colour hints stop at edges"): at a
// quarter, one dab in a sky came back as a red spot; at the whole side it colours the sky and
// stops at the horizon.
constexpr double kHintReach = 1.0;
at::Tensor propagate_chroma(const at::Tensor& rgb, const at::Tensor& hints, const at::Tensor& hint_mask);

}  // namespace cm::edit
