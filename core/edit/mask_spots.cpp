#include "core/edit/mask_spots.h"

#include "core/edit/mask_rows.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>

namespace cm::edit::region {
namespace {

struct Run {
  int64_t y, x0, x1;  // row y, columns [x0, x1)
};

struct Part {
  Box box{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(), 0, 0};
  int64_t area = 0;
};

int64_t find(std::vector<int64_t>& parent, int64_t i) {
  while (parent[std::size_t(i)] != i) i = parent[std::size_t(i)] = parent[std::size_t(parent[std::size_t(i)])];
  return i;
}

// The mask's 8-connected parts: runs of hole pixels row by row, each joined to the runs of the row
// above that touch it (at a corner too).
std::vector<Part> parts_of(const MaskRows& m) {
  std::vector<Run> runs;
  std::vector<int64_t> parent;
  std::vector<uint8_t> hole(std::size_t(m.width()));
  std::size_t above = 0, above_end = 0;  // the previous row's runs: [above, above_end)
  for (int64_t y = 0; y < m.height(); ++y) {
    const std::size_t first = runs.size();
    // Only between the row's first and last hole pixels (MaskRows::span): an empty row has no runs.
    const auto [x0, x1] = m.span(y);
    m.row(y, x0, x1, hole.data());
    for (int64_t x = x0; x < x1;) {
      if (!hole[std::size_t(x - x0)]) {
        ++x;
        continue;
      }
      int64_t end = x;
      while (end < x1 && hole[std::size_t(end - x0)]) ++end;
      const int64_t id = int64_t(runs.size());
      runs.push_back({y, x, end});
      parent.push_back(id);
      // The row above's runs, in order: those ending left of this one never touch a later one.
      while (above < above_end && runs[above].x1 < x) ++above;
      for (std::size_t a = above; a < above_end && runs[a].x0 <= end; ++a)  // touching, corners included
        if (runs[a].y == y - 1) {
          const int64_t ra = find(parent, int64_t(a)), rb = find(parent, id);
          if (ra != rb) parent[std::size_t(std::max(ra, rb))] = std::min(ra, rb);
        }
      x = end;
    }
    above = first, above_end = runs.size();
  }
  std::vector<Part> parts;
  std::vector<int64_t> index(runs.size(), -1);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const int64_t root = find(parent, int64_t(i));
    if (index[std::size_t(root)] < 0) index[std::size_t(root)] = int64_t(parts.size()), parts.emplace_back();
    Part& p = parts[std::size_t(index[std::size_t(root)])];
    const Run& r = runs[i];
    p.box = {std::min(p.box.y0, r.y), std::min(p.box.x0, r.x0), std::max(p.box.y1, r.y + 1), std::max(p.box.x1, r.x1)};
    p.area += r.x1 - r.x0;
  }
  return parts;
}

}  // namespace

std::vector<Box> spots_of(const at::Tensor& mask, int grow, int min_depth, double shape) {
  const MaskRows m(mask);
  std::vector<Box> spots;
  for (const Part& p : parts_of(m)) {
    // A compact part fills a fair share of its box; a long stroke or a cable does not, and its
    // distance transform is never paid.
    if (double(p.box.height()) * double(p.box.width()) > 4 * shape * double(p.area)) continue;
    // Its depth: the deepest pixel of its box (another part reaching into the box can only make
    // it look deeper, and so more compact; such a neighbour is rare).
    const int cap = int(std::max(p.box.height(), p.box.width()));
    const int depth = hole_depths(m, p.box, cap, /*outside_is_hole=*/true).max().item<int>();
    if (depth + grow < min_depth || double(p.area) > shape * double(depth) * double(depth)) continue;
    spots.push_back(grown(p.box, grow, m.height(), m.width()));
  }
  return spots;
}

}  // namespace cm::edit::region
