// Overlapping model-size tiles over a photo (super-resolve in region_tiles.cpp, denoise in
// region_denoise.cpp; region.h): which tiles a job runs, in which groups and order, and their blend.
#pragma once

#include "core/edit/region_common.h"

#include <ATen/core/Tensor.h>

#include <functional>
#include <utility>
#include <vector>

namespace cm::edit::region::detail {

struct TileGrid {
  int64_t factor;        // output pixels per input pixel
  int64_t tile;          // input pixels per tile side
  int64_t overlap;       // input pixels
};

// The tiles a job runs, in groups evaluated together, in the order they run: nearest the focus
// first (RegionOptions::focus_y, focus_x, in the input's pixels), so the part of a live preview
// under the user's eye comes first (a 16 MP photo is 7,000 tiles, minutes on a CPU); in rows
// without a focus (ties keep the row order). Only the tiles whose input pixels `wanted` accepts,
// when given (a denoise where the user painted). A group is `batch` consecutive tiles in row
// order whatever the focus, so what is evaluated together, and so the result, does not depend on
// where the user looks.
using TileIndex = std::pair<std::size_t, std::size_t>;  // (row, column) into TilePlan::ys, xs

struct TilePlan {
  std::vector<int64_t> ys, xs;                 // tile_starts of each axis
  std::vector<std::vector<TileIndex>> groups;  // in the order they run
  Box box;                                     // the input pixels the tiles cover, together
  std::size_t tiles = 0;
};

Box tile_box(const TilePlan& p, const TileIndex& t, int64_t tile, int64_t height, int64_t width);

TilePlan plan_tiles(int64_t height, int64_t width, const TileGrid& g, const RegionOptions& o,
                    const std::function<bool(const Box&)>& wanted = {});

// Runs `run(tiles, origins, first)` on each group of the plan (tiles: [n,C,t,t], the group's
// inputs; origins: their top-left input pixels; first: the place of the group's first tile in
// the order they run) and blends the [n,C,k·t,k·t] outputs with weights constant on each k×k
// block. The result covers the plan's box times k. Memory: that, its weight sum and one group.
using RunTiles = std::function<at::Tensor(const at::Tensor&, const std::vector<std::pair<int64_t, int64_t>>&, int)>;

at::Tensor blend_tiles(const at::Tensor& input, const TileGrid& g, const TilePlan& plan, const RunTiles& run,
                       const RegionOptions& o);

// The grid of a job's tiles: tile_size output pixels a side (the work size when 0), overlapping by
// tile_overlap (a quarter tile when 0), at `factor` output pixels per input pixel.
TileGrid grid_for(const model::ConsistencyFunction& f, int factor, const RegionOptions& o);

}  // namespace cm::edit::region::detail
