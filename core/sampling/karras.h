// The Karras et al. (EDM) discretisation of [ε, T] that consistency models are trained and
// sampled on (spec §1.5). Index 0 is the noisiest point (σ = T), index N−1 is σ = ε:
//   σ_i = (T^{1/ρ} + i/(N−1)·(ε^{1/ρ} − T^{1/ρ}))^ρ
// Computed in double, as the official multistep and editing samplers do.
#pragma once

#include "core/model/consistency_function.h"

#include <vector>

namespace cm::sampling {

constexpr double kRho = 7.0;

// σ at index i of an N-point schedule. Throws cm::Error(BadArgument) unless N ≥ 2 and 0 ≤ i < N.
double karras_sigma(int i, int n, const model::NoiseRange& range = {}, double rho = kRho);

// All N values, decreasing from T to ε.
std::vector<double> karras_sigmas(int n, const model::NoiseRange& range = {}, double rho = kRho);

}  // namespace cm::sampling
