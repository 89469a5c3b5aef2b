// The starts of the windows along a mask (region_windows.cpp): what each window's hole holds before
// the model refines it. The exemplar fills, made window by window in stretches or once for the whole
// mask, against a copy of the photo with every earlier window's start in it (Starts); one membrane
// for an object; the healing's mirrored texture for thin holes; a sketch's painting with the
// photo's texture laid into it. Each window is prepared (PreparedWindow) before the model edits
// it, on another thread where that pays (PreparedWindows). Internal to inpaint_photo and
// sketch_photo.
#pragma once

#include "core/edit/mask_windows.h"
#include "core/edit/region.h"
#include "core/edit/region_common.h"

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace cm::edit::region::detail {

enum class Mode { Inpaint, Sketch };  // which edit the windows make

// One membrane fill of the whole mask (the mask grown by `grow`), when it is one object (as
// fill_the_whole_mask) and its windows start smooth: a draft's start, or HoleFill::Smooth. Window
// by window, a membrane met the window's edge where the hole went on beyond it and took whatever
// the rest of its edge said there: a sky came back with a darker bar along a window's core
// (docs/QUALITY.md, "One membrane for an object"). Undefined when the windows make their own.
struct WholeMembrane {
  at::Tensor pixels;  // [1,C,h,w] float: the photo over `box` with the hole filled
  Box box;
};

// One edit along a mask, as every window reads it.
struct Job {
  const model::ConsistencyFunction& f;
  const at::Tensor& mask;
  const EditSettings& settings;
  const RegionOptions& o;
  Mode mode;
  bool whole_mask_filled = false;  // fill_the_whole_mask wrote every window's exemplar start
  WholeMembrane membrane;          // a smooth start made once for the whole mask, or undefined
  std::vector<Box> spots;          // inpainting under HoleFill::Auto: the mask's spots (mask_spots.h)
};

// A copy of the part of the photo that an edit along the mask reads and writes, not of the whole
// photo: a 50 MP photo's copy cost a dab 0.13-0.28 s for the fills' starts and 0.15-0.26 s for
// the result, each preview.
struct PhotoPart {
  at::Tensor pixels;  // [1,C,h,w] in the photo's form: the photo over `box`, as written since
  Box box;            // in photo coordinates

  PhotoPart() = default;
  PhotoPart(const at::Tensor& photo, const Box& part) : pixels(slice(photo, part).clone()), box(part) {}
  bool defined() const { return pixels.defined(); }
  // `area` (photo coordinates, inside `box`): a view that writes through.
  at::Tensor at(const Box& area) const { return slice(pixels, relative(area, box)); }
  // A window that may reach past the photo, its edge pixels repeated there. `box` holds the
  // window's part inside the photo, so where the window leaves the box it leaves the photo, and
  // the box's edge there is the photo's: the pixels are those of a copy of the whole photo.
  at::Tensor around(const Box& window) const { return crop_replicate(pixels, relative(window, box)); }
};

// The photo with every window's start in place of its result (edit_window writes each start
// there): the exemplar fills are made against it (exemplar_estimate), over the part that fills
// and starts read (starts_box).
struct Starts : PhotoPart {
  using PhotoPart::PhotoPart;
  // Where exemplar_estimate has written a fill ([1,1,h,w] bool on the CPU, made with the first
  // fill): a later window reads those pixels as they are.
  at::Tensor copied;
};

// The start of window `index` from the photo's patches (its hole copied from around it), through
// `starts`: a fill made for it and the next windows, or one an earlier window or the whole mask's
// fill wrote there.
at::Tensor exemplar_estimate(const Job& job, Starts& starts, const WindowPlan& plan, std::size_t index);

// Whether the windows start from the photo's own pixels (a warm inpainting's fill of the hole, a
// sketch's painting) and add only the model's change to them.
bool starts_from_estimate(const Job& job);

// What window `index` regenerates and starts from, made from the photo, the mask and the earlier
// windows' starts alone (never from their results), so that it can be made ahead of the model.
// Writes the window's start into `starts` (when defined) over its core: the fills of the windows
// after it go on from it.
struct PreparedWindow {
  bool edits = false;  // its core holds pixels it regenerates; else the window is passed over
  at::Tensor weights;  // [1,1,s,s] compositing_weights over the window
  at::Tensor generate; // what the model regenerates: weights > 0, less what earlier windows own
  at::Tensor hole;     // what an inpainting's start fills: weights = 1, less what earlier windows own
  HoleStart kind = HoleStart::Noise;
  bool exemplar = false;  // it starts from the photo's patches
  at::Tensor copied;      // then: the fill over the window (exemplar_estimate)
};
PreparedWindow prepare_window(const Job& job, const at::Tensor& photo, Starts& starts, const WindowPlan& plan,
                              std::size_t index);

// The prepared windows taken in order. When `ahead`, they are made in order on another thread, a
// few windows ahead at most, while the caller's thread runs the model on the windows before them:
// a window's exemplar fills and its model evaluations took turns on one core, 13.7 s and 21 s of
// a 160-px stroke across a 3000 × 1200 part of a 50 MP photo (docs/BENCHMARKS.md, "A window's
// fill made ahead of the model"). The thread stops with the caller's job (cancel.h) and when this
// is destroyed; what preparing a window threw, taking it throws. The caller does not touch
// `starts` meanwhile.
class PreparedWindows {
 public:
  PreparedWindows(const Job& job, const at::Tensor& photo, Starts& starts, const WindowPlan& plan, bool ahead);
  ~PreparedWindows();
  PreparedWindows(const PreparedWindows&) = delete;
  PreparedWindows& operator=(const PreparedWindows&) = delete;
  PreparedWindow take(std::size_t index);

 private:
  struct Thread;
  const Job& job_;
  const at::Tensor& photo_;
  Starts& starts_;
  const WindowPlan& plan_;
  std::unique_ptr<Thread> thread_;
};
// How many PreparedWindows have prepared on another thread since the program started: the tests'
// way to know the thread ran.
std::size_t windows_prepared_ahead();

// The part of the photo that Starts holds, for windows covering `windows` (the largest
// `largest_side` across) along a mask whose box is `mask_box`.
Box starts_box(const Job& job, const Box& windows, int64_t largest_side, const Box& mask_box);
// One exemplar fill of the whole mask, written into `starts`, when the mask is one object; false
// when each window makes its own.
bool fill_the_whole_mask(const Job& job, Starts& starts, const Box& mask_box);
// One membrane of the whole mask when it is one object; undefined otherwise.
WholeMembrane membrane_of_the_whole_mask(const Job& job, const at::Tensor& photo);
// Whether this window's hole (less what earlier windows own) starts from the photo's patches
// under HoleFill::Auto: it is exemplar_depth deep, or holds a whole spot reaching into its core.
bool window_takes_patches(const Job& job, const MaskWindow& mw, const at::Tensor& full_weights_free);
// Whether the hole grown by `grow` is exemplar_depth deep anywhere.
bool deep_somewhere(const at::Tensor& mask, const RegionOptions& o);
// A thin hole's start: the membrane fill, healed with the photo's mirrored texture when `start`
// says Healed.
at::Tensor smooth_start(const Job& job, HoleStart start, const at::Tensor& pixels, const at::Tensor& hole);
// A sketch's start where its strokes are thin: the painting with the photo's texture mirrored in.
at::Tensor sketch_start(const Job& job, const at::Tensor& pixels, const at::Tensor& generate);
// A deep sketch's start: the photo's patches (`copied`) in the painting's colours.
at::Tensor sketch_exemplar_start(const at::Tensor& pixels, const at::Tensor& generate, const at::Tensor& copied);
// A full-size start with the model's change on its scaled-down copy added, enlarged.
at::Tensor with_change(const at::Tensor& full, const at::Tensor& scaled, const at::Tensor& edited);

}  // namespace cm::edit::region::detail
