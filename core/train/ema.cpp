#include "core/train/ema.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

namespace cm::train {

void ema_update(std::vector<at::Tensor>& average, const std::vector<at::Tensor>& current, double mu) {
  if (!(mu >= 0.0 && mu <= 1.0)) throw Error(ErrorCode::BadArgument, fmt::format("EMA rate μ must lie in [0, 1], got {}", mu));
  if (average.size() != current.size())
    throw Error(ErrorCode::ShapeMismatch,
                fmt::format("EMA has {} tensors but the model has {}", average.size(), current.size()));
  for (std::size_t i = 0; i < average.size(); ++i)
    if (!average[i].sizes().equals(current[i].sizes()))
      throw Error(ErrorCode::ShapeMismatch, fmt::format("EMA tensor {} has a different shape from the model's", i));
  c10::NoGradGuard no_grad;
  for (std::size_t i = 0; i < average.size(); ++i) {
    // lerp_(end, w) = self + w·(end − self) = μ·self + (1 − μ)·end with w = 1 − μ.
    average[i].lerp_(current[i].to(average[i].scalar_type()), 1.0 - mu);
  }
}

}  // namespace cm::train
