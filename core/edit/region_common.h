// What region.cpp (colorize), region_tiles.cpp and region_denoise.cpp (tiles) and region_windows.cpp
// (inpaint and sketch along a mask) share: crops that repeat the photo's edge, the photo's checks, the
// model's and the work's size.
#pragma once

#include "core/edit/mask_windows.h"
#include "core/edit/region.h"

#include <ATen/core/Tensor.h>

namespace cm::edit::region::detail {

at::Tensor slice(const at::Tensor& x, const Box& b);

// The pixels of `area` (which may reach past x: the edge pixels are repeated), in x's own form.
at::Tensor crop_replicate(const at::Tensor& x, const Box& area);

// A square of `side` pixels centred on [lo, hi) along an axis of length n: inside whenever it
// fits, centred on the axis when it does not. Its start.
int64_t place(int64_t lo, int64_t hi, int64_t side, int64_t n);

// The part of `area` inside a height × width photo, in photo coordinates and in area coordinates.
std::pair<Box, Box> visible_part(const Box& area, int64_t height, int64_t width);

// One [1,C,H,W] photo, float or stored (pixels.h); cm::Error otherwise, naming `what`.
void require_photo(const at::Tensor& photo, const char* what);

int64_t model_size(const model::ConsistencyFunction& f);

// The side a window of `side` photo pixels is edited at (RegionOptions::max_work_size).
int64_t work_size(const model::ConsistencyFunction& f, const RegionOptions& o, int64_t side);

// The compositing weights over `area` (feather_weights of the mask: 1 on the mask grown by
// `grow`, fading to 0 over 2·feather), computed on the photo's part of the area grown by their
// reach, so that they equal the weights of the whole photo, then repeated at the photo's edge
// like its pixels. A float copy of the area's neighbourhood only.
at::Tensor compositing_weights(const at::Tensor& mask, const Box& area, const RegionOptions& o);

// Progress of part `index` (a tile, a window) of a job of `parts` parts of `steps_per_part` steps.
sampling::LoopControl part_control(const sampling::LoopControl& job, int index, int steps_per_part, int parts);

}  // namespace cm::edit::region::detail
