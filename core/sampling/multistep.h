// Unconditional sampling: the paper's Algorithm 1 (docs/MATH.md §4), i.e. the consistency loop from
// pure noise with nothing projected.
#pragma once

#include "core/model/consistency_function.h"
#include "core/sampling/consistency_loop.h"
#include "core/sampling/noise.h"
#include "core/sampling/schedule.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace cm::sampling {

// `batch` images from seed's noise field at the model's size. labels: [batch] int64 for
// class-conditional models. Same seed → same images on every device. first_image: where the
// batch starts in the seed's sequence of images (a batch split in two gives the same images).
at::Tensor generate(const model::ConsistencyFunction& f, int64_t batch, std::uint64_t seed, const Schedule& schedule,
                    const at::Tensor& labels = at::Tensor(), const LoopControl& control = {}, int64_t first_image = 0);

// The official multistep sampler with explicit noises, for parity with the official code:
// noises = z₀ (x_T = T·z₀) and one more per later index, so noises.size() == ts.size().
// len(ts)−1 evaluations; ts ending at N−1 adds no final noise. Throws cm::Error(BadArgument).
at::Tensor sample_multistep(const model::ConsistencyFunction& f, const std::vector<at::Tensor>& noises,
                            const std::vector<int>& ts, int n, const at::Tensor& labels = at::Tensor());

// One evaluation at the float32 σ₀ of karras_sigmas_f32: clamp(f(T·z, σ₀)), as the official
// one-step sampler.
at::Tensor sample_onestep(const model::ConsistencyFunction& f, const at::Tensor& z,
                          const at::Tensor& labels = at::Tensor());

}  // namespace cm::sampling
