// Edits on photos of any size (docs/ARCHITECTURE.md, "Photos of any size"). The model only ever
// sees windows of the photo near its own size; the photo's own pixels are kept wherever the edit
// does not reach:
//  - inpaint / sketch: square windows along the mask (mask_windows.h), each sized by the hole
//    where it stands, so a thin stroke is edited near the photo's own pixels; each window is
//    scaled to its work size, edited, scaled back, and only the masked pixels of its core are
//    composited, with the mask grown by `grow` pixels and faded out over 2·`feather` more; pixels
//    beyond that are bit-identical to the input;
//  - colorize: a downscaled copy is colorized and only its chroma is carried up onto the photo's
//    own luma (guided by it, so colour edges follow the photo's edges): the luma is the input's;
//    colour hints are spread on a larger copy (up to 1024 px), where thin things keep their edges,
//    and the model's colour comes where they do not reach;
//  - super-resolve / denoise: overlapping model-size tiles (a denoise with a mask: only those that
//    reach it), blended with weights that are constant on each k×k patch (so every patch mean
//    still equals its low-res pixel), one tile in memory at a time. Tiles share one noise plane
//    (sampling::NoiseField), so the overlap agrees.
// Photos are [1,C,H,W] on any device, float in [−1, 1] or stored pixels (pixels.h: a large photo's
// 8- or 16-bit integers). Inpaint, sketch and denoise return the photo's own form; inpaint and
// sketch make floats only of their windows, a denoise with a mask only of the tiles that reach it.
// Colorize and super-resolve return float. Results come back on the photo's device.
#pragma once

#include "core/edit/edits.h"

#include <functional>

namespace cm::edit::region {

// Inpainting's start with a warm start (EditSettings::warm_start): the membrane fill blurs but
// costs milliseconds; the exemplar fill (exemplar_fill.h) copies the photo's own texture but
// costs seconds on a CPU. Auto decides window by window: the exemplar where the hole it fills
// (the mask grown by `grow`) is at least kLargeHoleDepth photo pixels deep (hole_depth), or where
// the window holds a spot of the mask (a blob, mask_spots.h: a mirror of its edge is a starburst),
// else the membrane fill healed with the photo's own texture (RegionOptions::texture).
enum class HoleFill { Auto, Smooth, Exemplar };
// 16: a stroke from 32 px across takes the photo's patches. The healed membrane's mirrored detail
// fades towards a stroke's middle, and at a camera's pixels that middle is a smooth streak: a
// 36-px stroke across a 20 MP photo's bark came back as a grey band, a fig's seeds as an orange
// one. On the 17 held-out 768-px photos with brush strokes 10–40 px across (docs/QUALITY.md,
// "Brush strokes take the photo's patches") 32 → 16 → 12 gave 26.52 → 26.40 → 26.06 dB and a
// texture distance (SWD) of 40.3 → 32.2 → 32.4: PSNR rewards the streak's mean. Until 2026-12-07
// it was 32, chosen on PSNR.
constexpr int kLargeHoleDepth = 16;

struct RegionOptions {
  int grow = 0;           // pixels beyond the mask that are regenerated fully
  int feather = 0;        // half-width of the fade between the edit and the photo, in pixels
  double context = 0.25;  // context around the mask's bounding box on each side, as a fraction of its size
  // The largest side the model works at. 0 (or the model's size): windows are scaled to the
  // model's size, as trained. Larger: a window runs at its own resolution up to this cap
  // (rounded up to a multiple of 8; the UNet is convolutional and places attention by
  // down-sampling rate, so the same weights run), and tiles are this large.
  // < 0 (the default) reads as 0 here; the engine reads it as the edit's own default.
  int max_work_size = -1;
  int tile_size = 0;      // tiles: output pixels per tile side; 0 = the work size
  int tile_overlap = 0;   // tiles: overlap in output pixels; 0 = a quarter tile (a denoise's: an eighth)
  // Tiles a denoise evaluates at once (each with its mirrors), counted in 64² pixels when more
  // than 1 (a 256-px model's tiles go 1/16 as many): on a GPU one 64-px tile leaves it waiting on
  // kernel launches (the engine's choice, engine::resolved); on a CPU a batch is no faster.
  int tile_batch = 1;
  // A denoise's evaluations a tile: 1, or the mean of 2 (the tile and its left-right mirror) or 4
  // (both axes) mirrors, each mirrored back (the geometric self-ensemble: Timofte, Rothe and Van
  // Gool 2016; Lim et al. 2017). Four: +0.5 dB at 5 and 10 levels of noise and +0.36 at 20, and
  // less grain left on a flat sky (docs/QUALITY.md, "Denoising"). ≤ 0 reads as 1 here; the
  // engine's choice is 4 on a GPU, 1 on a CPU (engine::resolved).
  int mirrors = 0;
  // A denoise's passes: 1, the photo's tiles; 2, first each tile of twice the side as its four
  // 2-strided sub-images (every second pixel each way), then the photo's tiles at the level left.
  // Noise that a camera's demosaicing spread over neighbouring pixels is nearly white at twice the
  // spacing, where the model knows it, and a flat sky's blotches become fine grain: +1.9 to +4.1 dB
  // on such noise from 5 levels, +0.35 to +0.95 dB on white noise (a sky up to +3.5), for about
  // twice the time; a crop that is all texture loses up to 1.7 dB (docs/QUALITY.md, "Denoising in
  // two passes"). 0 (the default): two when the noise is at least kStridedPassLevel, one below.
  int denoise_passes = 0;
  HoleFill fill = HoleFill::Auto;  // inpaint's start, when warm (Auto: chosen window by window)
  int exemplar_depth = kLargeHoleDepth;  // Auto's exemplar start: a hole this deep

  // Windows along a mask (inpaint, sketch; mask_windows.h). How much a window may be shrunk (its
  // work side is max(model, side / window_shrink), up to max_work_size); 1 edits at the photo's
  // own pixels where the work size allows, at 4× the cost of 2.
  double window_shrink = 2.0;
  // When ≥ 0: the windows along a mask start nearest here (the brush), and the tiles of a
  // super-resolution or a denoise too (where the user looks), in the input's pixels; the result
  // is the same bit for bit wherever it is.
  int64_t focus_y = -1, focus_x = -1;
  // A thin hole's start under HoleFill::Auto: the membrane fill with this much of the luminance
  // detail of the photo mirrored across the hole's edge (healing.h: texture_amount); 0 leaves it
  // smooth.
  double texture = 1.0;
  double texture_reach = 24;  // how far into the hole (px) the texture keeps 1/e of that amount
  // The colour of the model's change to a warm start is blurred with two box blurs of this radius
  // in the model's pixels, so this many times the window's shrink in the photo's (healing.h: at
  // the photo's own pixels the model's colour detail is speckle); 0 keeps it.
  int colour_blur = 2;
  // Colorize: the largest side colour hints are spread at, on a photo larger than the model's size
  // (colorize_photo). A 12 MP photo's 60-px pole is 14 px at 1024, with edges the spread stops
  // at, and one pixel of sky at the model's 64.
  int hint_side = 1024;
  // The schedule of one window, from its start and its scale (σ chosen from the window's scale:
  // the engine's defaults, edit_registry.h); unset: EditSettings::schedule for every window.
  struct WindowStart {
    bool exemplar = false;  // starts from the exemplar fill (else the membrane fill, or none)
    double shrink = 1;      // photo pixels per work pixel
  };
  std::function<sampling::Schedule(const WindowStart&)> window_schedule;
  // A live preview's view of an edit still running, part by part, on the thread that runs it:
  // where a part of the result lies (its top-left pixel in the result) and its pixels. Inpaint and
  // sketch report each window's core (in the photo's form), colorize each strip of rows;
  // super-resolve and denoise each tile as blended so far (float), super-resolve first the whole
  // enlarged start.
  std::function<void(int64_t y0, int64_t x0, const at::Tensor& pixels)> on_window;
  // Inpaint and sketch, for a caller that shows what on_window reported (the editor's previews):
  // the result is only the box around the cores on_window reported, whose top-left is that of
  // their union (empty when none was), not a copy of the whole photo (292 MB at 50 MP, 0.15-0.26 s
  // of each preview of a dab).
  bool reported_box_only = false;
  // Inpaint and sketch on the CPU with exemplar fills, where the model runs one thread and another
  // core is free: each window's start is made on another thread ahead of the model's evaluations
  // (region_starts.h, PreparedWindows), the same result.
  bool prepare_ahead = true;
};

// How an inpainting window starts, decided in one place (hole_start) from what each layer knows:
// whether the edit starts warm at all (strength < 1 and no explicit schedule: the engine's
// execute), the Fill choice (the editor's "Fill from" box, the CLI's --fill; a draft preview asks
// for Smooth: edit_registry.cpp's resolved()) and the hole itself.
enum class HoleStart {
  Noise,     // a cold start: Algorithm 4 from pure noise
  Smooth,    // the membrane fill (fill_holes)
  Healed,    // the membrane fill with the edge's texture mirrored in (healing.h)
  Exemplar,  // patches of the photo (exemplar_fill.h)
};

// `takes_patches` is asked only under HoleFill::Auto: whether the hole, as it is regenerated, is
// one the photo's patches fill better than a mirror of its edge (exemplar_depth deep somewhere,
// or inpainting's spot), and an exemplar fill can be made.
HoleStart hole_start(bool warm, const RegionOptions& options, const std::function<bool()>& takes_patches);

// Whether inpainting `mask` (> 0 = hole) starts from the exemplar fill under these options, in
// some window: hole_start of a warm edit, the hole grown by `grow` anywhere exemplar_depth deep,
// or holding a spot (mask_spots.h).
bool uses_exemplar(const at::Tensor& mask, const RegionOptions& options);

// mask: [1,1,H,W] of any dtype, > 0 = inpaint. An empty mask returns the photo unchanged.
at::Tensor inpaint_photo(const model::ConsistencyFunction& f, const at::Tensor& photo, const at::Tensor& mask,
                   const EditSettings& settings, const RegionOptions& options = {});

// The painting (photo with strokes) guides SDEdit inside the mask's windows; without a mask the
// whole picture is redrawn at most at the work size, and a larger one takes that redraw's change
// on its own pixels (its detail stays).
at::Tensor sketch_photo(const model::ConsistencyFunction& f, const at::Tensor& painting, const EditSettings& settings,
                  const at::Tensor& mask = at::Tensor(), const RegionOptions& options = {});

// hints / hint_mask as in edit::colorize, at the photo's size.
at::Tensor colorize_photo(const model::ConsistencyFunction& f, const at::Tensor& photo, const EditSettings& settings,
                    const at::Tensor& hints = at::Tensor(), const at::Tensor& hint_mask = at::Tensor(),
                    const RegionOptions& options = {});

// low_res: [1,C,h,w] of any size → [1,C,k·h,k·w]. tile_size must be a multiple of k.
at::Tensor super_resolve_photo(const model::ConsistencyFunction& f, const at::Tensor& low_res, int factor,
                         const EditSettings& settings, const RegionOptions& options = {});

// One evaluation per tile and pass (RegionOptions::denoise_passes): sigma is the noise's level,
// ≤ 0: estimated on the photo (estimate_flat_noise); a second pass runs at what the
// first left (estimate_noise_sigma of its result). The result is in the photo's own form.
// With a mask ([1,1,H,W], > 0 = denoise), only where it is: the mask grown by `grow` and faded
// into the photo over 2·`feather`, as inpainting composites, and only the tiles that reach it run
// (a painted sky of a 12 MP photo in seconds, not the whole photo's minutes), on a float crop of
// what they read. The result is in the photo's own form: pixels beyond the fade are the photo's
// (bit-identical), pixels under the grown mask the whole photo's denoise at the same levels (in
// that form), and the levels are estimated on them (the noise of the part the user points at).
// An empty mask returns the photo.
at::Tensor denoise_photo(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                   const EditSettings& settings, const RegionOptions& options = {}, const at::Tensor& mask = at::Tensor());
// The same for a request: the levels resolved once and recorded as settings.schedule's σs (the
// noise's, then the second pass's), so what reports the schedule names the levels that ran.
at::Tensor denoise_recording_level(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                                   EditSettings& settings, const RegionOptions& options = {},
                                   const at::Tensor& mask = at::Tensor());

// The noise level from which a denoise takes two passes (RegionOptions::denoise_passes): 3.5 8-bit
// levels, in [−1, 1] units. Below it the noise hardly shows, and the strided pass, which gained a
// sky 1 dB at 2 levels, cost textured crops up to 4 dB; leaves with 2 levels of white noise read
// 3.0–3.3, a camera's noise of 5 levels 3.4–6.5 (docs/QUALITY.md, "Denoising in two passes").
constexpr double kStridedPassLevel = 3.5 / 127.5;
// Noise whose strided reading is this many times its finest (estimate_flat_noise) is shared by
// neighbouring pixels: on the bench's crops noise blurred by 0.8 px read 2.2–2.7 from 5 levels on
// (1.96 once), white noise 1.0–1.2, but 1.9 on a forest with 2 levels, whose flattest blocks are
// still leaves.
constexpr double kSharedNoiseRatio = 2.0;
// A strided tile of white noise is taken whole up to this many times the photo's flattest finest
// reading (its own reading: noise and texture), and not at all from the second. The flattest
// blocks read a flat photo's noise 5–10 % low: they are chosen by it.
constexpr double kFlatTile = 1.3, kTexturedTile = 1.8;

// Tile origins along an axis of length n: windows of `tile` that cover [0, n) and share at least
// `overlap`; a single window at 0 (padded) when n ≤ tile.
std::vector<int64_t> tile_starts(int64_t n, int64_t tile, int64_t overlap);

}  // namespace cm::edit::region
