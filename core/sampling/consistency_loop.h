// The loop every sampler and edit runs (paper Algorithms 1 and 4 in the official code's form:
// docs/MATH.md §4, §5):
//
//   x = start + √(t₁² − ε²)·z₀
//   for n = 1…K:  if n > 1: x = x̂ + √(t_n² − ε²)·z_n
//                 x̂ = project(clamp(f(x, t_n), −1, 1))
//   output x̂   (or x̂ + √(final² − ε²)·z_{K+1}, clamped, when the schedule leaves noise)
//
// Noise is added as √(t² − ε²) because every estimate x̂ is a point at σ = ε (f's boundary),
// exactly as the official sampler adds it between steps. For the first step the paper writes
// t₁ instead; at t₁ = T the two agree to float32 precision (80 either way), and the √ form makes
// an edit that starts at ε (SDEdit at zero strength) return its input instead of input + ε·z.
#pragma once

#include "core/model/consistency_function.h"
#include "core/sampling/noise.h"
#include "core/sampling/schedule.h"

#include <ATen/core/Tensor.h>

#include <functional>

namespace cm::sampling {

struct StepInfo {
  int step;                   // 1…total, counting every evaluation of this job (tiles included)
  int total;
  double sigma;               // the level just evaluated
  const at::Tensor& estimate; // x̂ after projection: the current best guess of the result
};

// How a caller watches a running job: `on_step` runs on the loop's thread after each evaluation.
// Stopping it is core/base/cancel.h's CancelScope, asked before every evaluation: the loop then
// throws cm::Error(Cancelled) and nothing of the job is kept.
struct LoopControl {
  std::function<void(const StepInfo&)> on_step;
  int step_offset = 0;  // steps already done by earlier parts of the same job (tiles)
  int total_steps = 0;  // steps of the whole job; 0: this loop's own count
};

// Re-imposes the known part of an edit on an estimate (Algorithm 4's A⁻¹[(Ay)⊙(1−Ω) + (Ax̂)⊙Ω]).
using Projection = std::function<at::Tensor(const at::Tensor& estimate)>;

// Runs the loop on f's device. start: [B,C,H,W], the clean image the first noise is added to
// (zeros for unconditional sampling). Throws cm::Error(BadArgument) for a bad schedule,
// cm::Error(Internal) when f returns NaN or ∞, and cm::Error(Cancelled).
at::Tensor run_consistency_loop(const model::ConsistencyFunction& f, const at::Tensor& start, const Schedule& schedule,
                                const NoiseSource& noise, const at::Tensor& labels = at::Tensor(),
                                const Projection& project = nullptr, const LoopControl& control = {});

}  // namespace cm::sampling
