// Where on the noise axis each training step looks (CM Algorithms 2 and 3, iCT: docs/MATH.md §6).
//
// Consistency training and distillation compare the network at two adjacent points of an N-point
// Karras grid. These functions choose N (the iCT curriculum), the pair of points for each batch
// element (iCT's discretised log-normal, or uniform for CD), and the weight of each pair.
#pragma once

#include "core/model/consistency_function.h"

#include <ATen/core/Tensor.h>
#include <ATen/core/Generator.h>

#include <cstdint>
#include <vector>

namespace cm::train {

// iCT's curriculum: N(k) = min(s0·2^⌊k/K'⌋, s1) + 1 with K' = ⌊K/(log2⌊s1/s0⌋ + 1)⌋, so N goes
// 11, 21, 41, …, 1281 in equal stages over K steps for s0 = 10, s1 = 1280. Throws
// cm::Error(BadArgument) unless 1 ≤ s0 ≤ s1 and K ≥ 1.
int ict_discretization(int64_t step, int64_t total_steps, int s0 = 10, int s1 = 1280);

// The N-point Karras grid in increasing order, σ_0 = ε < … < σ_{N−1} = T (iCT's indexing).
std::vector<double> increasing_karras_sigmas(int n, const model::NoiseRange& range);

// iCT's discretised log-normal over the N−1 adjacent pairs (σ_i, σ_{i+1}) of that grid:
// p(i) ∝ erf((ln σ_{i+1} − P_mean)/(√2·P_std)) − erf((ln σ_i − P_mean)/(√2·P_std)). Sums to 1.
std::vector<double> lognormal_pair_probabilities(const std::vector<double>& increasing_sigmas, double p_mean = -1.1,
                                                 double p_std = 2.0);

// One pair per batch element: sigma_high > sigma_low, adjacent on the grid, float32 [B].
struct NoisePairs {
  at::Tensor sigma_high;  // where the online network looks (the noisier point)
  at::Tensor sigma_low;   // where the target looks
};

// Pairs drawn from `probabilities` (one per pair, as above).
NoisePairs sample_pairs(const std::vector<double>& increasing_sigmas, const std::vector<double>& probabilities,
                        int64_t batch, at::Generator generator);
// Pairs drawn uniformly (the original CT/CD: n ~ U{0, …, N−2}).
NoisePairs sample_uniform_pairs(const std::vector<double>& increasing_sigmas, int64_t batch, at::Generator generator);

// iCT's weighting λ = 1/(σ_high − σ_low), [B].
at::Tensor ict_weight(const NoisePairs& pairs);

// ECT (Geng et al. 2024, "Consistency Models Made Easy"; ECMLoss.t_to_r_sigmoid in locuslab/ect):
// the nearer point r < t of each continuous-time pair,
//   r(t) = max(0, t·(1 − n(t)/q^(stage+1))),   n(t) = 1 + k·sigmoid(−b·t),
// so t − r shrinks by q every stage, faster at large t. stage < 0 is the diffusion pretraining
// that ECT starts from: r = 0 for every t (the target is the clean image). Float64 math, float32 out.
at::Tensor ect_r(const at::Tensor& t, int stage, double q = 2.0, double k = 8.0, double b = 1.0);

// The ECT stage of a step: −1 while step < pretrain_steps, then one higher every stage_steps
// steps, at most max_stage. Throws cm::Error(BadArgument) unless pretrain_steps ≥ 0,
// stage_steps ≥ 1 and max_stage ≥ 0.
int ect_stage(int64_t step, int64_t pretrain_steps, int64_t stage_steps, int max_stage);

}  // namespace cm::train
