// Every edit cmedit offers, at the model's native size (see region.h for photos of any size).
// Each is the consistency loop with Algorithm 4's operator and known part (docs/MATH.md §5):
//
//   edit          A                 kept exactly
//   inpaint       identity          pixels where mask = 0
//   colorize      per-pixel luma    luma everywhere; chroma at hinted pixels
//   super-resolve per-patch mean    every k×k patch mean = the low-res pixel
//   sketch        none (SDEdit)     nothing, or pixels outside an optional mask
//   denoise       none              one evaluation at the noise level
//   interpolate   none              slerp of two seeds' noises
//
// Images are [B,C,H,W] float in [−1, 1] on any device; results lie on f's device.
#pragma once

#include "core/edit/noise_level.h"

#include "core/model/consistency_function.h"
#include "core/sampling/consistency_loop.h"
#include "core/sampling/schedule.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace cm::edit {

class ExemplarCache;  // exemplar_fill.h

struct EditSettings {
  sampling::Schedule schedule = sampling::karras_schedule(1, 80.0);  // one step from T: the live preview
  std::uint64_t seed = 0;
  // Variations between two seeds: every noise draw is slerp(z(seed), z(blend_seed), blend), so
  // blend = 0 and 1 give exactly the results of the two seeds (any edit, tiles included).
  bool blend_seeds = false;
  std::uint64_t blend_seed = 1;
  double blend = 0;
  at::Tensor labels;              // [B] int64 for class-conditional models
  sampling::LoopControl control;  // progress and cancellation
  int64_t noise_y0 = 0;           // where this image lies in the seed's noise plane (tiles)
  int64_t noise_x0 = 0;
  // Colorize and super-resolve: the projection can leave [−1, 1] (a bright red pixel may need
  // more than full green to keep a dark luma). When set, such pixels are pulled toward the
  // known solution (the grey of their luma, the patch's mean) just far enough to fit, which
  // keeps the known part exactly; off, the output is Algorithm 4's, unbounded.
  bool keep_in_range = true;
  // Warm start: inpaint, colorize and super-resolve begin from their classical estimate
  // (estimates.h) at σ = schedule.sigmas[0] instead of from the pre-projected reference, so a
  // small σ keeps what the photo says and a large one forgets it. Off: Algorithm 4 as published.
  bool warm_start = false;
  // The estimate to start from when warm_start is set, when the caller has a better one than the
  // edit would compute (region.h fills a hole at the photo's resolution before scaling it down).
  at::Tensor estimate;
  // Exemplar fills kept across runs (exemplar_fill.h), owned by the caller (the engine keeps one
  // for all its jobs); null: every run fills afresh.
  ExemplarCache* exemplar_cache = nullptr;
};

// Checks shared by these edits and their photo-size versions in region.h (cm::Error on failure).
// A grey [B,1,H,W] or RGB image as RGB float; ShapeMismatch for other channel counts.
at::Tensor colorization_input(const at::Tensor& image);
// Hints come with their mask, as RGB of the image's size (float, or stored pixels: pixels.h); the
// mask passes validate_mask.
void check_colour_hints(const at::Tensor& rgb_image, const at::Tensor& hints, const at::Tensor& hint_mask);
// 2, 4 or 8, else BadArgument.
void check_super_resolution_factor(int factor);

// The fits used by keep_in_range; both change only pixels that are out of [−1, 1]. A hinted
// pixel too: its hint's colour at the photo's luma (hint_at_luma) can be out of range, and a clamp
// there changed the luma (a 16-bit grey photo's by 0.011 under a saturated hint).
at::Tensor fit_range_keeping_luma(const at::Tensor& rgb);
at::Tensor fit_range_keeping_patch_means(const at::Tensor& image, int factor);

// mask: [B|1,1,H,W], > 0 = generate. Pixels where mask = 0 come back bit-identical.
at::Tensor inpaint(const model::ConsistencyFunction& f, const at::Tensor& image, const at::Tensor& mask,
                   const EditSettings& settings);

// image: [B,3,H,W] (a grey photo replicated to RGB, or any colour photo: only its luma is used)
// or [B,1,H,W]. hints: optional [B|1,3,H,W] colours and hint_mask [B|1,1,H,W] (> 0 = hinted):
// at hinted pixels the chroma of the hint is kept as well. The result has the image's luma.
at::Tensor colorize(const model::ConsistencyFunction& f, const at::Tensor& image, const EditSettings& settings,
                    const at::Tensor& hints = at::Tensor(), const at::Tensor& hint_mask = at::Tensor());

// low_res: [B,C,h,w] → [B,C,k·h,k·w] whose k×k patch means equal low_res. factor: 2, 4 or 8.
at::Tensor super_resolve(const model::ConsistencyFunction& f, const at::Tensor& low_res, int factor,
                         const EditSettings& settings);

// SDEdit: start from the painting at σ = settings.schedule.sigmas[0] (the strength; see
// sampling::karras_schedule) and run the loop with nothing kept, or, with a mask, keep the
// pixels where mask = 0 exactly. Strength ε returns the painting.
at::Tensor sketch(const model::ConsistencyFunction& f, const at::Tensor& painting, const EditSettings& settings,
                  const at::Tensor& mask = at::Tensor());

// One evaluation clamp(f(noisy, σ)); σ = kEstimateNoiseSigma (any σ ≤ 0) means "estimate it"
// (denoise_sigma). σ is clamped to [ε, T] since f knows no other levels.
at::Tensor denoise(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma,
                   const at::Tensor& labels = at::Tensor());
// The same with a level for each image of the batch (sigmas: [N], none estimated).
at::Tensor denoise(const model::ConsistencyFunction& f, const at::Tensor& noisy, const at::Tensor& sigmas,
                   const at::Tensor& labels = at::Tensor());

// The sample of the slerp (sampling::slerp) between the noises of seed_a and seed_b, every draw of
// the schedule blended alike: alpha = 0 and 1 give exactly the samples of seed_a and seed_b.
// settings.seed is ignored.
at::Tensor interpolate(const model::ConsistencyFunction& f, int64_t batch, std::uint64_t seed_a, std::uint64_t seed_b,
                       double alpha, const EditSettings& settings);

// One image of `interpolate` per alpha, in order ([N,C,H,W] on the host), the progress counted
// over all of them (settings.control's steps run on from frame to frame). At least one alpha.
at::Tensor interpolate_frames(const model::ConsistencyFunction& f, std::uint64_t seed_a, std::uint64_t seed_b,
                              const std::vector<double>& alphas, const EditSettings& settings);

}  // namespace cm::edit
