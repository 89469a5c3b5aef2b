// How far each pixel is from a set of seed pixels when crossing an edge of a guide is a long way
// (a geodesic distance on the image). A colour hint's reach is this distance (estimates.h:
// propagate_chroma): a membrane or a screened fill gives a thin region with nothing of its own
// the colour around it however strong its edges are, since a weak link is still the only one.
#pragma once

#include <ATen/core/Tensor.h>

namespace cm::edit {

// The length of the cheapest 8-connected path from any pixel where seeds > 0, each step from p to
// its neighbour q = p + d costing |d| (1 or √2) plus edge_cost · Σ (max(0, |Δ| − tolerance))² / (2σ²),
// Δ each channel's contrast across the step and one more on each side (from p − d to q + d, edges
// repeated): beyond the tolerance, edge_cost times the −log of Levin et al.'s neighbour weight
// exp(−Δ²/(2σ²)), so across such a step exp(−distance / edge_cost) falls by that weight, and
// along a flat region by e per edge_cost pixels. The tolerance lets texture through: without it,
// every step of a leafy or furry region cost a share of the weight, and a hint's colour died within
// pixels of it there (docs/QUALITY.md, "Colour hints at the photo's pixels"). Over three steps,
// since over one a soft edge was crossed in small steps, each within the tolerance; a sharp edge
// lies in three steps' spans, and so costs three weights. A guide of several channels adds their
// costs, each with the same σ and tolerance (scale a channel to set its own). guide:
// [1,C,H,W] float; seeds: [1,1,H,W]. Raster scans forward and back (Borgefors 1986's chamfer
// passes, with the guide's cost: Toivanen 1996), `passes` pairs: a path that turns back on itself
// more often than that is found longer than it is. Computed on the CPU (the scans are sequential);
// returned as float on the guide's device. No seed: +∞ everywhere.
at::Tensor geodesic_distance(const at::Tensor& guide, const at::Tensor& seeds, double sigma, double edge_cost,
                             double tolerance = 0, int passes = 2);

}  // namespace cm::edit
