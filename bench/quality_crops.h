// Before/after crops at the photo's own pixels around a hole, for docs/QUALITY.md: the same square
// cut from every image of a photo (the input with its hole, the baselines, cmedit, the truth), so a
// reader sees at 100 % what a user sees.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace cm::bench {

// For each photo i, its images[i] (each [1,3,H,W]) cut to a side × side square centred on the
// median pixel of masks[i] ([1,1,H,W], > 0 = hole), concatenated left to right; the photos' rows
// top to bottom. [N·side, M·side, 3] bytes, with 2-px gaps.
at::Tensor hole_crops(const std::vector<at::Tensor>& masks, const std::vector<std::vector<at::Tensor>>& images, int side);

}  // namespace cm::bench
