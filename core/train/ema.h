// Exponential moving average of parameters: the EMA copy that consistency training evaluates with
// and that export ships (docs/MATH.md §6). θ⁻ ← μ·θ⁻ + (1 − μ)·θ, in place, outside autograd.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace cm::train {

// Updates every average[i] toward current[i]. μ ∈ [0, 1]: 0 copies, 1 keeps the average.
// Throws cm::Error(ShapeMismatch) when the lists or any pair of shapes differ, BadArgument for μ.
void ema_update(std::vector<at::Tensor>& average, const std::vector<at::Tensor>& current, double mu);

}  // namespace cm::train
