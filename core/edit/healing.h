// A thin hole's start at the photo's own pixels, and the model's colour there. At a photo's own
// pixels a membrane fill is a visible blur (its gradient energy a tenth of the photo's), and an
// exemplar fill's copied patches bring their own colour and seams; the healing brush (Georgiev
// 2004) keeps the colour that fits the hole's edges and takes only the texture from the copy.
#pragma once

#include <ATen/core/Tensor.h>

namespace cm::edit {

// The hole filled with the photo reflected across the hole's edge: each hole pixel takes the known
// pixel as far beyond its nearest known pixel as it lies inside it (2b − p; b itself where that
// lands in the hole too). A texture source that costs one pass over the window, for thin holes
// where a patch search (exemplar_fill.h) costs seconds a window on a CPU. hole: [1,1,H,W], > 0.
// `distance`, when given, receives each pixel's distance to its nearest known pixel ([1,1,H,W]).
at::Tensor mirror_fill(const at::Tensor& image, const at::Tensor& hole, at::Tensor* distance = nullptr);

// Images split into grey (the luma, grey_of: equal in R, G and B, which changes no colour) and
// colour (the rest). Blurs are two box blurs of a radius (a Gaussian of σ ≈ radius).

// The smooth fill (fill_holes) plus `amount` ([1,1,H,W] per pixel, or a number) of the copied
// fill's luminance detail (its grey minus its blur of radius 2), so the colour stays the smooth
// fill's. Where amount is 0, `smooth` exactly. [1,3,H,W].
at::Tensor heal(const at::Tensor& smooth, const at::Tensor& copied, const at::Tensor& amount);

// A painting with the copied fill's luminance detail added where it has less of its own: per
// pixel `amount` times √(1 − E_painting / E_copy)₊, E the detail's energy (grey minus its blur of
// radius 2, squared) over a box of radius 4. A flat stroke takes the copy's texture in full; the
// photo around it, which has its own, takes none, so its texture is not doubled. [1,3,H,W].
at::Tensor heal_missing(const at::Tensor& painting, const at::Tensor& copied, const at::Tensor& amount);

// The copy with the painting's colours below the scale of blurs of `radius` carried onto it:
// `copied` plus the blur of (painting − copied), both blurs taken over `inside` ([1,1,H,W], > 0)
// alone, so its edge takes the full paint too, not half of it mixed with what lies beyond (a
// ragged band of in-between colours). The texture is the copy's, the colour the painting's.
at::Tensor carry_paint(const at::Tensor& painting, const at::Tensor& copied, const at::Tensor& inside, int radius);

// An edit's change to `start` with its colour detail removed: the change's grey as it is, its
// colour blurred. At the photo's own pixels the model's colour detail is speckle the photo does
// not have (docs/QUALITY.md); its grey is texture. radius 0: unchanged.
at::Tensor smooth_colour_change(const at::Tensor& start, const at::Tensor& result, int radius);

}  // namespace cm::edit
