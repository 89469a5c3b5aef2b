// A model's weights as named tensors, in file order: what checkpoint readers return and writers
// take. Names follow the official state_dict keys ("input_blocks.1.0.in_layers.0.weight").
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/ArrayRef.h>

#include <string>
#include <utility>
#include <vector>

namespace cm::model {

using NamedTensor = std::pair<std::string, at::Tensor>;
using StateDict = std::vector<NamedTensor>;

// "[768, 192]": how error messages show a shape.
inline std::string shape_string(c10::IntArrayRef shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace cm::model
