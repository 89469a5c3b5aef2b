// A UNet under training: fresh weights, and f(x, σ) evaluated with autograd and dropout.
#pragma once

#include "core/model/state_dict.h"
#include "core/model/unet.h"
#include "core/model/unet_function.h"

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace cm::train {

// Initial weights for `config`, as cm/unet.py creates them: PyTorch's defaults for Conv2d and
// Linear (weight and bias ~ U(−1/√fan_in, 1/√fan_in)), GroupNorm weight 1 and bias 0, class
// embeddings ~ N(0, 1), and zero_module() — all zeros — for the last conv of every ResBlock,
// every attention proj_out and the output conv, so an untrained network outputs F = 0.
// Deterministic in seed.
model::StateDict init_unet_weights(const model::UNetConfig& config, std::uint64_t seed);

// Everything f needs besides the network.
struct Parameterized {
  model::Parameterization parameterization = model::Parameterization::Consistency;
  model::NoiseRange noise;
};

// f(x, σ) = c_skip·x + c_out·F(c_in·x, t_in(σ), y) (docs/MATH.md §2) with gradients; with
// training = true the UNet's dropout is active (UNet::forward_training). x, σ on the UNet's device.
at::Tensor evaluate(const model::UNet& unet, const Parameterized& p, const at::Tensor& x, const at::Tensor& sigma,
                    const at::Tensor& labels, bool training);

}  // namespace cm::train
