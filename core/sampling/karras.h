// The Karras et al. (EDM) discretisation of [ε, T] that consistency models are trained and
// sampled on (EDM Table 1; docs/MATH.md §3). Index 0 is the noisiest point (σ = T), index N−1
// is σ = ε:
//   σ_i = (T^{1/ρ} + i/(N−1)·(ε^{1/ρ} − T^{1/ρ}))^ρ
// Computed in double, as the official multistep and editing samplers do.
#pragma once

#include "core/model/consistency_function.h"

#include <ATen/core/Tensor.h>

#include <vector>

namespace cm::sampling {

constexpr double kRho = 7.0;

// σ at index i of an N-point schedule. Throws cm::Error(BadArgument) unless N ≥ 2 and 0 ≤ i < N.
double karras_sigma(int i, int n, const model::NoiseRange& range = {}, double rho = kRho);

// All N values, decreasing from T to ε.
std::vector<double> karras_sigmas(int n, const model::NoiseRange& range = {}, double rho = kRho);

}  // namespace cm::sampling

namespace cm::sampling {

// The schedule as the official one-step sampler computes it (get_sigmas_karras): in float32, so
// its σ₀ is 79.999985, not 80. A [N] float32 tensor.
at::Tensor karras_sigmas_f32(int n, const model::NoiseRange& range = {}, double rho = kRho);

}  // namespace cm::sampling
