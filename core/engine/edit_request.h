// What the editor and the CLI ask the engine for, and what they get back. Requests are values:
// the tensors in them are never changed by the engine, so the UI may keep showing them.
#pragma once

#include "core/base/error.h"
#include "core/edit/edit_kind.h"
#include "core/edit/region.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cm::engine {

struct EditRequest {
  edit::EditKind kind = edit::EditKind::Generate;
  bool preview = false;  // a newer preview supersedes this one (queued or running)
  // What the result is for, which sets the work size where the request names none
  // (region.max_work_size < 0), by cost on the CPU (docs/QUALITY.md, "work size"):
  //  - Draft: the live preview while painting; on the CPU at the model's size, to keep up;
  //  - Interactive: a refined preview or variations the user waits for; on the CPU at most
  //    kCpuInteractiveWorkSize;
  //  - Final: a result no preview stands in for (cmedit-cli, the default); the edit's own work
  //    size everywhere.
  // The editor submits no Final jobs: its Apply commits the preview it already shows (a Draft,
  // or the Interactive refinement) and submits nothing.
  enum class Use { Draft, Interactive, Final };
  Use use = Use::Final;
  // Latest wins within a group: a request supersedes queued and running requests of the same
  // non-empty group. A preview with no group is in group "preview".
  std::string group;

  at::Tensor image;      // [1,3,H,W] in [−1, 1]: the photo (low-res input for superres, painting for sketch)
  at::Tensor mask;       // [1,1,H,W], > 0 = edit: inpaint (required), sketch (optional)
  at::Tensor hints;      // colorize: [1,3,h,w] colours ...
  at::Tensor hint_mask;  // ... and [1,1,h,w] where they are: of the image's size, or of a box of it
  int64_t hints_y = 0, hints_x = 0;  // ... at these rows and columns, no hint elsewhere (the editor
                                     // sends its hints' box: a 50 MP photo's whole were 200 MB of
                                     // zeros on the UI thread, 0.1-0.7 s each request of a stroke)

  // Schedule: the official indices `ts` when given, else `steps` evaluations from the strength's σ.
  int steps = 1;
  std::vector<int> ts;
  // How far the edit may stray from its initial estimate, in [0, 1] on a log-σ scale
  // (sampling::sigma_for_strength); 1 is pure noise. < 0: the edit's default (edit_registry.h).
  double strength = -1;
  double fresh_noise = -1;  // re-noising between steps (sampling::Schedule); < 0: the edit's default
  double sigma = edit::kEstimateNoiseSigma;  // denoise: the noise level (edit::denoise_sigma)
  int scale = 4;           // superres: 2, 4 or 8
  int batch = 1;           // generate: images
  int64_t first_image = 0; // generate: index of the first image in the seed's sequence
  std::uint64_t seed = 0;
  std::vector<std::uint64_t> variation_seeds;  // when given: one result per seed, in order (seed is ignored)
  std::uint64_t seed_b = 1;       // interpolate: the second seed
  std::vector<double> alphas;     // interpolate: one frame per α in [0, 1]
  bool blend_seeds = false;       // any edit: noise = slerp(z(seed), z(seed_b), blend)
  double blend = 0;
  int class_label = -1;           // class-conditional models; −1 = seed mod number of classes
  edit::region::RegionOptions region;
};

struct Timings {
  double prepare_ms = 0;    // windows, resampling, references: before the first evaluation
  double model_ms = 0;      // inside f (on a GPU: queueing it; the device time lands in later phases)
  double steps_ms = 0;      // the rest of the loop: noise, projections, progress
  double composite_ms = 0;  // after the last evaluation: scaling back, compositing
  double total_ms = 0;
  int evaluations = 0;

  // The timings of two parts of one job (variations, a batch split in halves) add up.
  Timings& operator+=(const Timings& other) {
    prepare_ms += other.prepare_ms;
    model_ms += other.model_ms;
    steps_ms += other.steps_ms;
    composite_ms += other.composite_ms;
    total_ms += other.total_ms;
    evaluations += other.evaluations;
    return *this;
  }
};

enum class JobStatus { Done, Failed, Cancelled };
const char* to_string(JobStatus status);

struct EditResult {
  std::uint64_t id = 0;
  JobStatus status = JobStatus::Failed;
  at::Tensor image;  // [B,3,H,W] in [−1, 1] on the CPU when Done
  ErrorCode error_code = ErrorCode::Internal;
  std::string error;  // when not Done: a message for the user
  Timings timings;
  std::vector<double> sigmas;  // the noise levels f was evaluated at (denoise: the level used)
  std::string device;  // where it ran, e.g. "cpu" or "cuda:0 (fp16)"
};

// Progress of a running job: step k of n and, when JobCallbacks::estimates asks for it, the current
// estimate (at the model's size, on the CPU; undefined otherwise).
struct Progress {
  std::uint64_t id;
  int step;
  int total;
  double sigma;
  at::Tensor estimate;
  double elapsed_ms;
};

}  // namespace cm::engine
