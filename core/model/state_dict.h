// A model's weights as named tensors, in file order: what checkpoint readers return and writers
// take. Names follow the official state_dict keys ("input_blocks.1.0.in_layers.0.weight").
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace cm::model {

using NamedTensor = std::pair<std::string, at::Tensor>;
using StateDict = std::vector<NamedTensor>;

}  // namespace cm::model
