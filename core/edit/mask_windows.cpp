#include "core/edit/mask_windows.h"

#include "core/edit/mask_rows.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace cm::edit::region {

Box grown(const Box& b, int64_t by, int64_t height, int64_t width) {
  return {std::max<int64_t>(0, b.y0 - by), std::max<int64_t>(0, b.x0 - by), std::min(height, b.y1 + by),
          std::min(width, b.x1 + by)};
}

Box intersection(const Box& a, const Box& b) {
  return {std::max(a.y0, b.y0), std::max(a.x0, b.x0), std::min(a.y1, b.y1), std::min(a.x1, b.x1)};
}

Box hull(const Box& a, const Box& b) {
  return {std::min(a.y0, b.y0), std::min(a.x0, b.x0), std::max(a.y1, b.y1), std::max(a.x1, b.x1)};
}

Box relative(const Box& inner, const Box& outer) {
  return {inner.y0 - outer.y0, inner.x0 - outer.x0, inner.y1 - outer.y0, inner.x1 - outer.x0};
}

bool contains(const Box& outer, const Box& inner) {
  return inner.y0 >= outer.y0 && inner.x0 >= outer.x0 && inner.y1 <= outer.y1 && inner.x1 <= outer.x1;
}

namespace {

int64_t ceil_to(int64_t v, int64_t k) { return (v + k - 1) / k * k; }
int64_t floor_to(int64_t v, int64_t k) { return v >= 0 ? v / k * k : -((-v + k - 1) / k) * k; }

// Chebyshev distances in `area`, as hole_depths, from a mask already on the host.
at::Tensor depths(const MaskRows& m, const Box& area_in, int cap, bool outside_is_hole) {
  // One pixel more on every side, so that the photo's edge next to the area counts as it should.
  const Box area{area_in.y0 - 1, area_in.x0 - 1, area_in.y1 + 1, area_in.x1 + 1};
  const int64_t h = area.height(), w = area.width();
  at::Tensor out = at::full({h, w}, outside_is_hole ? cap : 0, at::kInt);
  int* d = out.data_ptr<int>();
  std::vector<uint8_t> hole(std::size_t(std::max<int64_t>(w, 1)));
  const int64_t px0 = std::max<int64_t>(0, area.x0), px1 = std::min(m.width(), area.x1);
  for (int64_t y = std::max<int64_t>(0, area.y0); y < std::min(m.height(), area.y1); ++y) {
    if (px1 <= px0) break;
    m.row(y, px0, px1, hole.data());
    int* r = d + (y - area.y0) * w;
    for (int64_t x = px0; x < px1; ++x) r[x - area.x0] = hole[std::size_t(x - px0)] ? cap : 0;
  }
  // Two passes of the 8-neighbour chamfer with unit steps: exact Chebyshev distances.
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      int& v = d[y * w + x];
      if (v == 0) continue;
      if (x > 0) v = std::min(v, d[y * w + x - 1] + 1);
      if (y > 0) {
        const int* up = d + (y - 1) * w;
        v = std::min(v, up[x] + 1);
        if (x > 0) v = std::min(v, up[x - 1] + 1);
        if (x + 1 < w) v = std::min(v, up[x + 1] + 1);
      }
    }
  for (int64_t y = h; y-- > 0;)
    for (int64_t x = w; x-- > 0;) {
      int& v = d[y * w + x];
      if (v == 0) continue;
      if (x + 1 < w) v = std::min(v, d[y * w + x + 1] + 1);
      if (y + 1 < h) {
        const int* down = d + (y + 1) * w;
        v = std::min(v, down[x] + 1);
        if (x > 0) v = std::min(v, down[x - 1] + 1);
        if (x + 1 < w) v = std::min(v, down[x + 1] + 1);
      }
    }
  return out.narrow(0, 1, h - 2).narrow(1, 1, w - 2).contiguous();
}

Box bounding_box_of(const MaskRows& m) {
  Box box{m.height(), m.width(), 0, 0};
  for (int64_t y = 0; y < m.height(); ++y) {
    const auto [first, last] = m.span(y);
    if (first == last) continue;
    box = {std::min(box.y0, y), std::min(box.x0, first), y + 1, std::max(box.x1, last)};
  }
  if (box.y1 == 0) return {};
  return box;
}

}  // namespace

Box bounding_box(const at::Tensor& mask) { return bounding_box_of(MaskRows(mask)); }

at::Tensor hole_depths(const at::Tensor& mask, const Box& area, int cap, bool outside_is_hole) {
  return depths(MaskRows(mask), area, cap, outside_is_hole);
}

at::Tensor hole_depths(const MaskRows& mask, const Box& area, int cap, bool outside_is_hole) {
  return depths(mask, area, cap, outside_is_hole);
}

int max_hole_depth(const at::Tensor& mask, int cap, bool outside_is_hole) {
  const MaskRows m(mask);
  const Box box = bounding_box_of(m);
  int deepest = 0;
  // Tiles of the bounding box, each seen with `cap` pixels around it, so every depth up to the cap
  // is exact and memory stays that of one tile.
  constexpr int64_t kTile = 256;
  for (int64_t y = box.y0; y < box.y1 && deepest < cap; y += kTile)
    for (int64_t x = box.x0; x < box.x1 && deepest < cap; x += kTile) {
      const Box tile{y, x, std::min(y + kTile, box.y1), std::min(x + kTile, box.x1)};
      const Box seen{tile.y0 - cap, tile.x0 - cap, tile.y1 + cap, tile.x1 + cap};
      const at::Tensor d = depths(m, seen, cap, outside_is_hole).narrow(0, cap, tile.height()).narrow(1, cap, tile.width());
      deepest = std::max(deepest, d.max().item<int>());
    }
  return deepest;
}

at::Tensor WindowPlan::owned_before(std::size_t index, const Box& area) const {
  at::Tensor owned = at::zeros({1, 1, area.height(), area.width()}, at::kBool);
  for (std::size_t j = 0; j < index && j < windows.size(); ++j) {
    const Box c = intersection(windows[j].core, area);
    if (!c.empty()) owned[0][0].narrow(0, c.y0 - area.y0, c.height()).narrow(1, c.x0 - area.x0, c.width()).fill_(true);
  }
  return owned;
}

namespace {

// The blocks (kBlock² pixels) that hold pixels within `reach` of the mask, and the windows' walk
// over them.
class BlockGrid {
 public:
  BlockGrid(const MaskRows& m, const Box& mask_box, int64_t reach) : height_(m.height()), width_(m.width()) {
    const Box reached = grown(mask_box, reach, height_, width_);
    by0_ = reached.y0 / kBlock, bx0_ = reached.x0 / kBlock;
    rows_ = ceil_to(reached.y1, kBlock) / kBlock - by0_, cols_ = ceil_to(reached.x1, kBlock) / kBlock - bx0_;
    // Each block's own mask pixels, as a bounding box, from runs of hole pixels in each row.
    std::vector<Box> own(std::size_t(rows_ * cols_), Box{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(), 0, 0});
    std::vector<int64_t> holes(own.size(), 0);  // hole pixels per block
    std::vector<uint8_t> hole(std::size_t(mask_box.width()));
    for (int64_t y = mask_box.y0; y < mask_box.y1; ++y) {
      m.row(y, mask_box.x0, mask_box.x1, hole.data());
      for (int64_t x = mask_box.x0; x < mask_box.x1;) {
        if (!hole[std::size_t(x - mask_box.x0)]) {
          ++x;
          continue;
        }
        const int64_t block_end = std::min(mask_box.x1, floor_to(x, kBlock) + kBlock);
        int64_t end = x;
        while (end < block_end && hole[std::size_t(end - mask_box.x0)]) ++end;
        Box& b = own[std::size_t(index(y / kBlock, x / kBlock))];
        b = {std::min(b.y0, y), std::min(b.x0, x), std::max(b.y1, y + 1), std::max(b.x1, end)};
        holes[std::size_t(index(y / kBlock, x / kBlock))] += end - x;
        x = end;
      }
    }
    // Depth in blocks: 0 for a block with a known pixel, else one more than its shallowest
    // neighbour (Chebyshev, two passes); blocks beyond the grid hold no mask.
    depth_.assign(own.size(), 0);
    for (int64_t i = 0; i < rows_ * cols_; ++i) {
      const Box b = block_box(i / cols_, i % cols_);
      if (holes[std::size_t(i)] == b.height() * b.width()) depth_[std::size_t(i)] = std::numeric_limits<int>::max() / 2;
    }
    const auto relax = [&](int64_t r, int64_t c, int64_t dr, int64_t dc) {
      int& d = depth_[std::size_t(r * cols_ + c)];
      const int64_t rr = r + dr, cc = c + dc;
      const int neighbour = rr < 0 || rr >= rows_ || cc < 0 || cc >= cols_ ? 0 : depth_[std::size_t(rr * cols_ + cc)];
      d = std::min(d, neighbour + 1);
    };
    for (int64_t r = 0; r < rows_; ++r)
      for (int64_t c = 0; c < cols_; ++c)
        if (depth_[std::size_t(r * cols_ + c)] > 0)
          for (auto [dr, dc] : {std::pair{0, -1}, {-1, -1}, {-1, 0}, {-1, 1}}) relax(r, c, dr, dc);
    for (int64_t r = rows_; r-- > 0;)
      for (int64_t c = cols_; c-- > 0;)
        if (depth_[std::size_t(r * cols_ + c)] > 0)
          for (auto [dr, dc] : {std::pair{0, 1}, {1, 1}, {1, 0}, {1, -1}}) relax(r, c, dr, dc);
    // A block is pending when some block's mask pixels lie within `reach` of it (Chebyshev, as the
    // compositing grows the mask).
    pending_.assign(own.size(), 0);
    const int64_t span = (reach + kBlock - 1) / kBlock;
    for (int64_t r = 0; r < rows_; ++r)
      for (int64_t c = 0; c < cols_; ++c) {
        const Box& b = own[std::size_t(r * cols_ + c)];
        if (b.y1 == 0) continue;
        for (int64_t rr = std::max<int64_t>(0, r - span); rr <= std::min(rows_ - 1, r + span); ++rr)
          for (int64_t cc = std::max<int64_t>(0, c - span); cc <= std::min(cols_ - 1, c + span); ++cc) {
            const Box target = block_box(rr, cc);
            const int64_t dy = std::max<int64_t>({0, target.y0 - (b.y1 - 1), b.y0 - (target.y1 - 1)});
            const int64_t dx = std::max<int64_t>({0, target.x0 - (b.x1 - 1), b.x0 - (target.x1 - 1)});
            if (std::max(dy, dx) <= reach && !pending_[std::size_t(rr * cols_ + cc)]) {
              pending_[std::size_t(rr * cols_ + cc)] = 1;
              ++left_;
            }
          }
      }
  }

  int64_t left() const { return left_; }

  // The deepest block of the wide hole a block lies in (climbing to ever deeper neighbours up to
  // the hole's ridge) and its depth in blocks; depth 0 in a hole no block fits in.
  std::pair<Box, int> ridge(const Box& block) const {
    int64_t r = block.y0 / kBlock - by0_, c = block.x0 / kBlock - bx0_;
    for (;;) {
      int64_t best_r = r, best_c = c;
      for (int64_t dr = -1; dr <= 1; ++dr)
        for (int64_t dc = -1; dc <= 1; ++dc) {
          const int64_t rr = r + dr, cc = c + dc;
          if (rr >= 0 && rr < rows_ && cc >= 0 && cc < cols_ &&
              depth_[std::size_t(rr * cols_ + cc)] > depth_[std::size_t(best_r * cols_ + best_c)])
            best_r = rr, best_c = cc;
        }
      if (best_r == r && best_c == c) break;
      r = best_r, c = best_c;
    }
    return {block_box(r, c), depth_[std::size_t(r * cols_ + c)]};
  }

  // The pending block nearest (y, x), or the first in raster order when y < 0: its pixel box.
  Box nearest(double y, double x) const {
    double best = std::numeric_limits<double>::infinity();
    int64_t found = -1;
    for (int64_t i = 0; i < rows_ * cols_; ++i) {
      if (!pending_[std::size_t(i)]) continue;
      if (y < 0) return block_box(i / cols_, i % cols_);
      const Box b = block_box(i / cols_, i % cols_);
      const double dy = 0.5 * double(b.y0 + b.y1) - y, dx = 0.5 * double(b.x0 + b.x1) - x, d = dy * dy + dx * dx;
      if (d < best) best = d, found = i;
    }
    return block_box(found / cols_, found % cols_);
  }

  // The mean centre of the pending blocks inside `area`.
  std::pair<double, double> centroid(const Box& area) const {
    double sy = 0, sx = 0;
    int64_t n = 0;
    visit(area, [&](int64_t i, const Box& b) {
      if (pending_[std::size_t(i)] && b.y0 >= area.y0 && b.y1 <= area.y1 && b.x0 >= area.x0 && b.x1 <= area.x1)
        sy += 0.5 * double(b.y0 + b.y1), sx += 0.5 * double(b.x0 + b.x1), ++n;
    });
    if (n == 0) return {0.5 * double(area.y0 + area.y1), 0.5 * double(area.x0 + area.x1)};
    return {sy / double(n), sx / double(n)};
  }

  // Marks every block inside `core` as done.
  void take(const Box& core) {
    visit(core, [&](int64_t i, const Box& b) {
      if (pending_[std::size_t(i)] && b.y0 >= core.y0 && b.y1 <= core.y1 && b.x0 >= core.x0 && b.x1 <= core.x1)
        pending_[std::size_t(i)] = 0, --left_;
    });
  }

 private:
  int64_t index(int64_t block_y, int64_t block_x) const { return (block_y - by0_) * cols_ + (block_x - bx0_); }
  Box block_box(int64_t r, int64_t c) const {
    const int64_t y0 = (by0_ + r) * kBlock, x0 = (bx0_ + c) * kBlock;
    return {y0, x0, std::min(height_, y0 + kBlock), std::min(width_, x0 + kBlock)};
  }
  template <typename F>
  void visit(const Box& area, F&& f) const {
    const int64_t r0 = std::max<int64_t>(0, floor_to(area.y0, kBlock) / kBlock - by0_);
    const int64_t r1 = std::min(rows_, ceil_to(std::max<int64_t>(area.y1, 0), kBlock) / kBlock - by0_);
    const int64_t c0 = std::max<int64_t>(0, floor_to(area.x0, kBlock) / kBlock - bx0_);
    const int64_t c1 = std::min(cols_, ceil_to(std::max<int64_t>(area.x1, 0), kBlock) / kBlock - bx0_);
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = c0; c < c1; ++c) f(r * cols_ + c, block_box(r, c));
  }

  int64_t height_, width_, by0_ = 0, bx0_ = 0, rows_ = 0, cols_ = 0, left_ = 0;
  std::vector<uint8_t> pending_;
  std::vector<int> depth_;
};

// Start of a window of `side` centred on `centre` along an axis of length n, inside whenever it
// fits, and centred on the photo when it does not.
int64_t place(double centre, int64_t side, int64_t n) {
  if (side >= n) return (n - side) / 2;
  return std::clamp<int64_t>(std::llround(centre - 0.5 * double(side)), 0, n - side);
}

// The window's side for a hole `width` pixels across: twice the hole plus 32 pixels of context,
// at least two model sizes (a thin stroke's window is shrunk at most 2×), never smaller than the
// model or the photo's short side allow, never larger than the photo.
int64_t side_for(int64_t width, const WindowRules& r, int64_t height, int64_t photo_width) {
  const int64_t wanted = ceil_to(std::max(2 * r.model_size, 2 * width + 32), 8);
  const int64_t lo = std::min(r.model_size, std::min(height, photo_width)), hi = std::max(height, photo_width);
  return std::clamp(wanted, lo, hi);
}

// The side a window of `side` photo pixels is edited at: at most `shrink` times smaller, unless
// max_work is smaller still (a wide hole's window on a draft); never below the model's size.
int64_t work_for(int64_t side, const WindowRules& r) {
  if (side <= r.model_size) return r.model_size;
  return std::clamp(ceil_to(int64_t(std::ceil(double(side) / r.shrink)), 8), r.model_size, std::max(r.model_size, r.max_work));
}

}  // namespace

WindowPlan plan_windows(const at::Tensor& mask, const WindowRules& rules) {
  if (rules.model_size < 1 || !(rules.shrink >= 1)) throw Error(ErrorCode::BadArgument, "windows need a model size and a shrink ≥ 1");
  const MaskRows m(mask);
  WindowPlan plan;
  plan.height = m.height(), plan.width = m.width();
  const Box mask_box = bounding_box_of(m);
  if (mask_box.empty()) return plan;
  BlockGrid grid(m, mask_box, rules.reach);
  double last_y = double(rules.focus_y), last_x = double(rules.focus_x);
  if (rules.focus_y < 0 || rules.focus_x < 0) last_y = last_x = -1;
  while (grid.left() > 0) {
    const Box seed = grid.nearest(last_y, last_x);
    const double sy = 0.5 * double(seed.y0 + seed.y1), sx = 0.5 * double(seed.x0 + seed.x1);
    // The side follows the hole's depth where the seed lies: a wide hole's from its blocks, a thin
    // one's counted in pixels around the seed; the compositing's reach widens it.
    const int64_t near = side_for(0, rules, plan.height, plan.width);
    const Box square{place(sy, near, plan.height), place(sx, near, plan.width), place(sy, near, plan.height) + near,
                     place(sx, near, plan.width) + near};
    int64_t depth = depths(m, square, int(near), false).max().item<int>();
    if (const auto [top, blocks] = grid.ridge(seed); blocks > 0) {  // counted in pixels around the ridge
      const int64_t r = (int64_t(blocks) + 2) * kBlock;
      const Box around_top{top.y0 - r, top.x0 - r, top.y1 + r, top.x1 + r};
      depth = std::max<int64_t>(depth, depths(m, around_top, int(r + kBlock), false).max().item<int>());
    }
    depth += std::max<int64_t>(rules.reach, 0);
    const int64_t side = side_for(2 * depth, rules, plan.height, plan.width);
    // Centred on the pending blocks around the seed, with the seed's block inside the core.
    const int64_t margin = side / 8;
    const Box around{int64_t(sy) - side / 2, int64_t(sx) - side / 2, int64_t(sy) - side / 2 + side, int64_t(sx) - side / 2 + side};
    const auto [cy, cx] = grid.centroid(around);
    const auto origin = [&](double centre, int64_t seed0, int64_t seed1, int64_t n) {
      const double lo = double(seed1 + margin - side) + 0.5 * double(side), hi = double(seed0 - margin) + 0.5 * double(side);
      return place(lo <= hi ? std::clamp(centre, lo, hi) : 0.5 * double(seed0 + seed1), side, n);
    };
    MaskWindow w;
    w.window.y0 = origin(cy, seed.y0, seed.y1, plan.height);
    w.window.x0 = origin(cx, seed.x0, seed.x1, plan.width);
    w.window.y1 = w.window.y0 + side, w.window.x1 = w.window.x0 + side;
    const auto core_edge = [&](int64_t start, int64_t n, bool low) {
      if (low) return start <= 0 ? int64_t(0) : std::min(n, ceil_to(start + margin, kBlock));
      return start + side >= n ? n : std::max<int64_t>(0, floor_to(start + side - margin, kBlock));
    };
    w.core = {core_edge(w.window.y0, plan.height, true), core_edge(w.window.x0, plan.width, true),
              core_edge(w.window.y0, plan.height, false), core_edge(w.window.x0, plan.width, false)};
    // The seed's block is always owned, so the walk ends (a corner case of rounding would
    // otherwise plan this window again).
    w.core = hull(w.core, seed);
    w.work = work_for(side, rules);
    w.depth = depth;
    grid.take(w.core);
    last_y = 0.5 * double(w.core.y0 + w.core.y1), last_x = 0.5 * double(w.core.x0 + w.core.x1);
    plan.windows.push_back(w);
  }
  if (plan.windows.size() > 1) {
    // A compact mask is edited more cheaply in one window around all of it (its box and `context`
    // of it on each side), when that window is no coarser than the windows along it (or `shrink`).
    int64_t depth = 0, cost = 0;
    double coarsest = rules.shrink;  // any window may shrink this much
    for (const MaskWindow& w : plan.windows) {
      depth = std::max(depth, w.depth), cost += w.work * w.work;
      coarsest = std::max(coarsest, double(w.window.height()) / double(w.work));
    }
    const Box reached = grown(mask_box, rules.reach, plan.height, plan.width);
    const int64_t extent = std::max(reached.height(), reached.width());
    const int64_t side = std::max(side_for(2 * depth, rules, plan.height, plan.width),
                                  std::min(std::max(plan.height, plan.width), extent + 2 * int64_t(std::ceil(rules.context * double(extent)))));
    const int64_t work = work_for(side, rules);
    if (double(side) <= coarsest * double(work) && work * work <= cost) {
      MaskWindow one;
      one.window.y0 = place(0.5 * double(reached.y0 + reached.y1), side, plan.height);
      one.window.x0 = place(0.5 * double(reached.x0 + reached.x1), side, plan.width);
      one.window.y1 = one.window.y0 + side, one.window.x1 = one.window.x0 + side;
      one.core = intersection(one.window, Box{0, 0, plan.height, plan.width});
      one.work = work, one.depth = depth;
      plan.windows = {one};
    }
  }
  return plan;
}

}  // namespace cm::edit::region
