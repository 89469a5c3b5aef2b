// Which noise levels a sampler or an edit evaluates f at. Two ways to get one:
//  - from official index lists ts into the N-point Karras schedule (docs/MATH.md §3, §4), which
//    reproduces the published commands exactly (e.g. cd_imagenet64 two-step: ts = 0,22,39);
//  - a Karras ramp of a few steps from a starting σ down to ε, the knob the editor turns
//    (one step for the live preview, more to refine, σ_start < T for stroke-guided edits).
#pragma once

#include "core/model/consistency_function.h"

#include <vector>

namespace cm::sampling {

struct Schedule {
  // Evaluation levels t_1 > t_2 > … > t_K, each in [ε, T]: one network evaluation per entry.
  std::vector<double> sigmas;
  // Noise left on the result after the last evaluation. ε (the default) means none: the last
  // estimate is the output. The official sampler adds √(final² − ε²)·z when ts does not end at
  // N−1; only sample_multistep uses that.
  double final_sigma = 0.002;
  // Between steps the loop adds noise z of level t_n. fresh_noise is the share of z's variance
  // drawn afresh; the rest follows the noise the model removed at the previous step (CM4IR's
  // re-noising, Garber & Tirer 2025). 1 (the default) is the paper's samplers: all fresh.
  double fresh_noise = 1;

  int steps() const { return static_cast<int>(sigmas.size()); }
};

// The official form: evaluations at σ(ts[0…len−2]) of the N-point Karras schedule, final σ(ts.back()).
// ts must increase strictly within 0…N−1; ts ending at N−1 leaves no noise. Throws cm::Error(BadArgument).
Schedule schedule_from_ts(const std::vector<int>& ts, int n, const model::NoiseRange& range = {});

// `steps` evaluations on a Karras ramp (ρ = 7) from sigma_start down to ε, ε itself excluded:
// t_i = (σ_start^{1/ρ} + i/steps·(ε^{1/ρ} − σ_start^{1/ρ}))^ρ, i = 0…steps−1. steps = 1 gives
// the one-step sampler at σ_start. Throws cm::Error(BadArgument) unless steps ≥ 1 and
// ε ≤ sigma_start ≤ T.
Schedule karras_schedule(int steps, double sigma_start, const model::NoiseRange& range = {});

// Strength: how far an edit may move from its initial estimate, as users see it. A log-σ scale
// from ε (0: the estimate, unchanged) to T (1: pure noise, the estimate forgotten):
// σ_start = ε·(T/ε)^strength. Throws cm::Error(BadArgument) outside [0, 1].
double sigma_for_strength(double strength, const model::NoiseRange& range = {});
// The inverse, clamped to [0, 1].
double strength_for_sigma(double sigma, const model::NoiseRange& range = {});

// Throws cm::Error(BadArgument) unless the schedule is non-empty, strictly decreasing and inside
// [ε, T], with ε ≤ final_sigma < the last evaluation level.
void validate_schedule(const Schedule& schedule, const model::NoiseRange& range);

}  // namespace cm::sampling
