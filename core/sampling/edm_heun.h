// Sampling an EDM denoiser D(x, σ) (the teachers of consistency distillation) with Heun's
// second-order solver of the probability-flow ODE dx/dσ = (x − D(x, σ))/σ (Karras et al. 2022,
// Algorithm 1 without churn), on the Karras grid from T down to ε and a last Euler step to 0.
#pragma once

#include "core/model/consistency_function.h"

#include <ATen/core/Tensor.h>

namespace cm::sampling {

// One Heun step of the probability-flow ODE from σ = from to σ = to (each [B], > 0), as
// consistency distillation takes it with its teacher (CM Algorithm 2; docs/MATH.md §6):
//   d = (x − D(x, from))/from, x̃ = x + (to − from)·d, d' = (x̃ − D(x̃, to))/to,
//   result = x + (to − from)·(d + d')/2.   Second-order accurate; on x's device.
at::Tensor heun_step(const model::ConsistencyFunction& denoiser, const at::Tensor& x, const at::Tensor& from,
                     const at::Tensor& to);

// z: [B, C, H, W] standard normal noise; x_T = T·z. `steps` ≥ 2 grid points, 2·steps − 1
// evaluations. Returns the final x clamped to [−1, 1], on D's device.
at::Tensor edm_heun_sample(const model::ConsistencyFunction& denoiser, const at::Tensor& z, int steps);

}  // namespace cm::sampling
