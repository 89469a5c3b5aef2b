// Initial estimates: the classical answer each edit starts from before the model refines it
// (warm start, CCDF: Chung, Sim & Ye 2022; CM4IR). A better start lets the loop begin at a
// small σ and keep what the photo already says. Torch ops on the input's device, so nothing goes
// back to the host on a GPU (on the CPU the membrane's sweeps are a loop over the hole). Images
// are [B,C,H,W] float in [−1, 1].
#pragma once

#include <ATen/core/Tensor.h>

namespace cm::edit {

// Fills the pixels where known ≤ 0 from their surroundings: the membrane (harmonic) interpolant,
// solved coarse to fine (a mask-weighted pull-push pyramid, then Jacobi sweeps of the Laplace
// equation on every level). Known pixels are kept bit for bit. With a guide ([B,1,H,W]) the
// neighbours are weighted by exp(−Δguide²/(2·guide_sigma²)), so the fill stops at the guide's
// edges (colorization by optimization, Levin, Lischinski & Weiss 2004, in its Jacobi form).
// known: [B|1,1,H,W]. Nothing known anywhere gives 0; one value known anywhere is the whole fill,
// edges or not (a weak link is still a link).
at::Tensor fill_holes(const at::Tensor& image, const at::Tensor& known, const at::Tensor& guide = at::Tensor(),
                      double guide_sigma = 0.05);

namespace detail {
// fill_holes' Jacobi sweeps of one level without a guide: as tensor ops (`fused` false, as on a
// GPU), or as the CPU's loop over the unknown pixels, which gives the same floats. x: [B,C,H,W]
// float holding the known values where known ([B,1,H,W]) is set.
at::Tensor membrane_sweeps(const at::Tensor& x, const at::Tensor& known, int sweeps, bool fused);
}  // namespace detail

// Super-resolution's start: bicubic ×factor, corrected by iterative back-projection (Irani &
// Peleg 1991) and a last per-patch shift, so every factor×factor patch mean equals its low-res
// pixel exactly (up to float rounding).
at::Tensor upsample_keeping_means(const at::Tensor& low_res, int factor);

// How far a colour hint reaches across a flat region (propagate_chroma's reach, below), as a share of the image's
// longer side. Seen in the editor (docs/QUALITY.md, "Colour hints stop at edges"): at a quarter,
// one dab in a sky came back as a red spot; at the whole side it colours the sky and stops at the
// horizon.
constexpr double kHintReach = 1.0;
// The luma contrast (in fill_holes' σ) a hint's colour crosses freely (geodesic_distance's
// tolerance). Chosen with 3, 10 and 30 dabs of the truth's colour on 17 photos at 768 px and one
// red dab on a grey photo's dragonfly among leaves (docs/QUALITY.md, "Colour hints at the photo's
// pixels"): 0 gave 22.0 dB at 10 dabs, below the screened membrane's 25.7, since a leaf's texture
// stopped the colour; 4 gave 26.5 but let the dragonfly's red over every leaf; 2.5 gives 26.2
// and keeps it on the dragonfly.
constexpr double kHintEdge = 2.5;
// How much a hint's colour minds a change of texture: the factor (as its log) by which the local
// gradient's RMS (texture_level) may change across a step for free; beyond it the step costs as a
// luma edge does. Seen in the editor (docs/QUALITY.md, "Colour hints keep to a textured object"): one
// red dab inside a bird turned the blurred background behind it red, since the bird's pale breast
// meets the pale blur with next to no luma edge; with the texture it stays on the bird. At 0.5
// (a factor 1.6) 10 random dabs lost 0.17 dB on the bench, at 1 (e) 0.03.
constexpr double kHintTexture = 1.0;
// The texture_level floor, in fill_holes' σ: below it a gradient counts as flat, so the grain of
// a clear sky or a blur does not make texture edges of its own.
constexpr double kTextureFloor = 0.1;
// How textured the luma is around each pixel: log(√(mean over 3×3 of |∇luma|²) + floor), forward
// differences. A change of it is an edge a hint's colour should not cross (spread_hints): a sharp,
// detailed object against a smooth blur, where their lumas alike give no edge. luma: [B,1,H,W].
at::Tensor texture_level(const at::Tensor& luma, double floor);

// Colorization's start: the image's luma with the hints' chroma spread along it (fill_holes with
// the luma as guide: between hints, their colours blend), times exp(−d / reach), d the geodesic
// distance from the hints along the luma and its texture (geodesic_distance.h, with fill_holes' σ):
// a hint's colour fades to grey across a strong edge, or from a detailed object into a smooth
// blur, at once and, slowly, with the distance, so the model's own colour comes where no hint
// reaches; or no chroma (grey) without hints. As a membrane, one
// red hint on a dragonfly turned a whole 12 MP photo of leaves red; screened, a blue sky's white
// poles still came back blue (a thin region's only links lead into the sky). rgb: [B,3,H,W];
// hints [B|1,3,H,W] with hint_mask [B|1,1,H,W] (> 0 = hinted), or both undefined.
at::Tensor propagate_chroma(const at::Tensor& rgb, const at::Tensor& hints, const at::Tensor& hint_mask);
// A hint's colour at the photo's own luma: its offset from grey (colour − grey_of(colour)) on the
// photo's grey. What a hinted pixel becomes: a white hint keeps a pixel grey at any brightness,
// where the hint's own chroma coefficients with the photo's luma made a white dab on a sky magenta
// (the luma axis is not (1, 1, 1)). rgb, hints: [B,3,H,W].
at::Tensor hint_at_luma(const at::Tensor& rgb, const at::Tensor& hints);
// Its two parts, for a caller that puts them together with another colour (region.h's
// colorize_photo, with the model's where the hints do not reach): the colour the hints spread,
// without luma ([B,3,H,W]), and how much of it reaches each pixel ([B,1,H,W], in [0, 1]).
struct ChromaSpread {
  at::Tensor colour, amount;
};
ChromaSpread spread_hints(const at::Tensor& rgb, const at::Tensor& hints, const at::Tensor& hint_mask);

}  // namespace cm::edit
