// Spots: the parts of a mask that are blobs, not strokes (region.h's inpainting starts a window
// that holds one from the exemplar fill, however shallow the hole).
//
// A thin hole's start mirrors the photo across the hole's nearest edge (healing.h). Along a stroke
// that is a reflection across the stroke; in a round hole every pixel's nearest edge lies in
// another direction, and the mirror is a starburst of rays from the hole's middle. A dust spot or a
// blemish 50 px across on a strawberry's seeds came back so, where the photo's own patches
// continue the seeds (docs/QUALITY.md, "Spots").
#pragma once

#include "core/edit/mask_windows.h"

#include <ATen/core/Tensor.h>

#include <vector>

namespace cm::edit::region {

// Compact: a part's area is at most this many times the square of its depth (its Chebyshev
// distance to the nearest known pixel, hole_depths). A disc is 2π ≈ 6.3 (its depth r/√2), a
// star-shaped blob 7–9, a dab twice as long as wide along a row about 7; a stroke three times as
// long as wide is 15 or more, and 30 on a diagonal, where Chebyshev depth is shallower.
constexpr double kSpotShape = 12;
// Shallower parts (a dot a few pixels across) are not spots: any fill hides them.
constexpr int kSpotDepth = 4;

// The spots of `mask` ([1,1,H,W] or [H,W], any dtype, > 0 = hole): its 8-connected parts that are
// compact and at least `min_depth` deep once grown by `grow` pixels (a hole grown by g is g deeper),
// each as its bounding box grown by `grow` (cut to the photo). Pixels beyond the photo count as
// hole, as the exemplar fill sees them. One pass over the mask's rows in runs, and a distance
// transform of the compact-looking parts' boxes only: a cable across a 50 MP photo costs its rows.
std::vector<Box> spots_of(const at::Tensor& mask, int grow = 0, int min_depth = kSpotDepth, double shape = kSpotShape);

}  // namespace cm::edit::region
