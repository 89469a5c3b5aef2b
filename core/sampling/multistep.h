// Multistep consistency sampling, the paper's Algorithm 1 in the official repo's form (spec §4.1):
//   x = T·z₀; for k: x₀ = clamp(f(x, σ(ts[k]))); x = x₀ + √(σ(ts[k+1])² − ε²)·z_{k+1}; return clamp(x)
// σ(i) is the Karras schedule of N points in double (cast to float32 where it meets a tensor).
#pragma once

#include "core/model/consistency_function.h"

#include <ATen/core/Tensor.h>

#include <vector>

namespace cm::sampling {

// noises: z₀ (the start, x_T = T·z₀) and one more per evaluation after the first, so
// noises.size() == ts.size(). ts: strictly increasing indices into the N-point schedule, ts[0]
// usually 0 and the last N−1 (then the final noise has std ≈ 1e-10). len(ts)−1 evaluations.
// Throws cm::Error(BadArgument) for a bad ts or a noise count that does not fit.
at::Tensor sample_multistep(const model::ConsistencyFunction& f, const std::vector<at::Tensor>& noises,
                            const std::vector<int>& ts, int n, const at::Tensor& labels = at::Tensor());

// One evaluation at the float32 σ₀ of karras_sigmas_f32: clamp(f(T·z, σ₀)), as the official
// one-step sampler.
at::Tensor sample_onestep(const model::ConsistencyFunction& f, const at::Tensor& z,
                          const at::Tensor& labels = at::Tensor());

}  // namespace cm::sampling
