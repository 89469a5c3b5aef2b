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

// The hole filled with the photo reflected across the hole's far edge: from each hole pixel p,
// away from its nearest known pixel, to the first known pixel e beyond it (at most kFarReach px),
// then as mirror_fill does, 2e − p. Across a stroke, the other side's reflection of what
// mirror_fill shows. `found` receives where the far edge was met ([1,1,H,W] bool); elsewhere the
// pixel is unchanged.
at::Tensor mirror_fill_far(const at::Tensor& image, const at::Tensor& hole, at::Tensor* found = nullptr);

// How far mirror_fill_far looks for the far edge: beyond the widest hole a healed start takes.
constexpr int kFarReach = 64;

// The radius (two box blurs) over which mirrored_detail compares the two sides' detail energy.
constexpr int kAgreementRadius = 4;

// How much more detail energy the near side's mirror may bring than the far side has (16: 4 times
// the amplitude). On the 17 held-out 768-px photos (docs/QUALITY.md, "Two sides agree") 1, 4 and
// 16 took brush strokes from 26.26 dB to 26.61, 26.43 and 26.35, but their texture distance from
// 39.5 to 50.8, 42.7 and 40.6: a texture's own ups and downs fall under a tight cap. The ghosts
// along a roofline (pool photo 00377) are gone at 16, and at 64 too.
constexpr double kAgreementTolerance = 16;

// Images split into grey (the luma, grey_of: equal in R, G and B, which changes no colour) and
// colour (the rest). Blurs are two box blurs of a radius (a Gaussian of σ ≈ radius).

// The luminance detail of an image: its grey minus the grey's blur of radius 2 (grey, so adding
// it changes no colour). [1,3,H,W].
at::Tensor luma_detail(const at::Tensor& image);

// The photo's luminance detail mirrored into the hole (mirror_fill of luma_detail(smooth)), where
// `smooth` is the photo with its hole filled smooth (fill_holes). The detail is taken before the
// mirror, over a fill that carries the photo's slopes on across the hole, so a slope has none: a
// mirror of the photo itself folds a slope back at the hole's middle, and the detail of that fold
// is a line along a thin hole (a wire 2–6 px wide came back as a dark dashed line, docs/QUALITY.md
// "Wires"). Where the near side's detail around the pixel its mirror reads has more than
// kAgreementTolerance times the energy of the far side's (mirror_fill_far), it is scaled down to
// that: a stroke along a roofline mirrored the roofs' spires into the sky as pale X-shaped
// ghosts; the sky's side, when that is the one nearer, keeps its own. hole and distance as
// mirror_fill's.
at::Tensor mirrored_detail(const at::Tensor& smooth, const at::Tensor& hole, at::Tensor* distance = nullptr);

// How the mirrored detail fades with the distance to the hole's edge (mirror_fill's `distance`):
// 1 on the hole's first pixels, 1/e `reach` px into it. A mirror is less like what the hole hid
// the farther it reaches, so a wide stroke's middle stays smooth. [1,1,H,W].
at::Tensor texture_fade(const at::Tensor& distance, double reach);

// How much of the mirrored detail each hole pixel of a thin hole takes: `texture` times
// texture_fade, and less where the hole is under kFullTextureDepth px deep around the pixel (its
// deepest distance within 8 px): none at 1 px deep, linearly up to the full amount. [1,1,H,W].
at::Tensor texture_amount(const at::Tensor& distance, double texture, double reach);

// A hole this deep (10 px across) or deeper takes texture_amount's full texture. Across a thinner
// one (a wire 2–6 px wide) the membrane fill is within a few pixels of the photo everywhere and its
// blur does not show; a mirror there copies rows a few pixels away, not what the wire hid, and at
// the full amount those wires came back 0.8 dB under the plain membrane's PSNR with a quarter more
// gradient energy than the photo (docs/QUALITY.md, "Wires").
constexpr double kFullTextureDepth = 5;

// The smooth fill (fill_holes) plus `amount` ([1,1,H,W] per pixel, or a number) of `detail`
// (luminance detail, as mirrored_detail gives), so the colour stays the smooth fill's. Where
// amount is 0, `smooth` exactly. [1,3,H,W].
at::Tensor heal(const at::Tensor& smooth, const at::Tensor& detail, const at::Tensor& amount);

// A painting with `copy_detail` (luminance detail, as mirrored_detail gives) added where it has less
// of its own: per pixel `amount` times √(1 − E_painting / E_copy)₊, E the detail's energy (for the
// painting luma_detail's, squared) over a box of radius 4. A flat stroke takes the copy's texture
// in full; the photo around it, which has its own, takes none, so its texture is not doubled.
// [1,3,H,W].
at::Tensor heal_missing(const at::Tensor& painting, const at::Tensor& copy_detail, const at::Tensor& amount);

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
