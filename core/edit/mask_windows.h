// Windows along a mask: how inpaint and sketch (region.h) cover a mask on a photo of any size.
//
// One window around the mask's bounding box shrinks a long thin stroke 12–24× on a 12-megapixel
// photo and fills a dense buffer of the whole box. Instead the mask is covered by square windows
// whose side follows the hole's own width where they stand:
//  - a thin stroke is edited close to its own pixels: a window is at most 2 model sizes across
//    unless the hole there is wide, and then it is about twice the hole; a window is shrunk at
//    most 2× unless the work size the request affords is smaller;
//  - windows are planned one after another, each starting at the pending mask pixel nearest the
//    last window (or the focus: the brush), so they follow a stroke;
//  - a compact mask (a dab, a short stroke, an object) is one window when that costs less;
//  - each window owns a core, its inner part snapped to a grid of kBlock-pixel blocks: it
//    composites only the pixels of its core that no earlier core owned, and sees those earlier
//    results as known pixels. Seams therefore fall inside pixels that were already edited.
// The plan reads the mask's bytes on the host once; everything else is per window, so memory
// grows with the windows, not with the mask's bounding box.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace cm::edit::region {

struct Box {  // half-open rows [y0, y1), columns [x0, x1)
  int64_t y0 = 0, x0 = 0, y1 = 0, x1 = 0;
  int64_t height() const { return y1 - y0; }
  int64_t width() const { return x1 - x0; }
  bool empty() const { return y1 <= y0 || x1 <= x0; }
};

// The box grown by `by` on every side, cut to a height × width photo.
Box grown(const Box& box, int64_t by, int64_t height, int64_t width);
Box intersection(const Box& a, const Box& b);
// The smallest box holding both.
Box hull(const Box& a, const Box& b);
// `inner` in the coordinates of `outer`'s top-left corner.
Box relative(const Box& inner, const Box& outer);
// Whether every pixel of `inner` lies in `outer`.
bool contains(const Box& outer, const Box& inner);

// The bounding box of the pixels where mask > 0 ([1,1,H,W] or [H,W], any dtype, any device); an
// empty box when there are none. A scan of the rows on the host, without a float copy of the mask.
Box bounding_box(const at::Tensor& mask);

// Chebyshev distance from every pixel of `area` to the nearest pixel where mask ≤ 0, capped at
// `cap` (0 on known pixels): how many 3×3 erosions it survives. Pixels outside the photo count as
// hole (as in hole_depth, exemplar_fill.h) or as known; pixels outside `area` are not seen, so a
// depth is exact where the area reaches `cap` beyond it. [h, w] int32 on the CPU for `area`.
at::Tensor hole_depths(const at::Tensor& mask, const Box& area, int cap, bool outside_is_hole);

// The largest of those depths over the whole mask, exact up to `cap`, a tile at a time.
int max_hole_depth(const at::Tensor& mask, int cap, bool outside_is_hole);

constexpr int64_t kBlock = 16;  // cores are unions of these blocks (the photo's grid)

struct WindowRules {
  int64_t model_size = 64;  // the model's side: the smallest window and work size
  int64_t max_work = 64;    // the largest side a window is edited at
  // A window is edited at max(model_size, side / shrink), up to max_work: at most `shrink` times
  // smaller than the photo (a wide hole's window may be shrunk more when max_work is small).
  // shrink 1 edits every window at the photo's own pixels where max_work allows, at 4× the cost.
  double shrink = 2.0;
  // A mask that one window around all of it (its bounding box and this share of it on each side)
  // edits more cheaply than the windows along it, and no coarser than they (or `shrink`), gets it.
  double context = 0.25;
  int64_t reach = 0;        // pixels beyond the mask that the edit changes (grow + 2·feather)
  int64_t focus_y = -1, focus_x = -1;  // start at the pending pixel nearest this point (≥ 0)
};

struct MaskWindow {
  Box window;          // square; may reach past the photo (then the photo's edge is repeated)
  Box core;            // the pixels this window owns, inside the photo
  int64_t work = 0;    // the side the model sees the window at
  int64_t depth = 0;   // the hole's depth in this window (hole_depths), up to the window's side
};

struct WindowPlan {
  std::vector<MaskWindow> windows;
  int64_t height = 0, width = 0;
  // Where the cores of windows before `index` lie inside `area` (a box in photo coordinates that
  // may reach past the photo): [1,1,h,w] bool on the CPU.
  at::Tensor owned_before(std::size_t index, const Box& area) const;
};

// Covers every pixel within `reach` of the mask with window cores. An empty mask gives no windows.
WindowPlan plan_windows(const at::Tensor& mask, const WindowRules& rules);

}  // namespace cm::edit::region
