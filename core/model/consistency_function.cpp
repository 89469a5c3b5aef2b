#include "core/model/consistency_function.h"

#include "core/base/error.h"
#include "core/model/state_dict.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

namespace cm::model {
namespace {

[[noreturn]] void fail(ErrorCode code, const std::string& what) { throw Error(code, what); }

}  // namespace

void validate_call(const ModelSpec& spec, const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) {
  if (!x.defined() || x.dim() != 4)
    fail(ErrorCode::ShapeMismatch, "x must be a 4-D [B,C,H,W] tensor, got " + (x.defined() ? shape_string(x.sizes()) : "nothing"));
  if (!x.is_floating_point()) fail(ErrorCode::BadArgument, "x must be a floating-point tensor");
  if (x.size(1) != spec.channels)
    fail(ErrorCode::ShapeMismatch, fmt::format("x has {} channels but model '{}' takes {}", x.size(1), spec.name, spec.channels));
  const int64_t batch = x.size(0);
  if (!sigma.defined() || sigma.dim() != 1 || sigma.size(0) != batch)
    fail(ErrorCode::ShapeMismatch, fmt::format("sigma must be a [{}] vector (one σ per image), got {}", batch,
                                               sigma.defined() ? shape_string(sigma.sizes()) : "nothing"));
  const auto s = sigma.detach().to(at::kDouble).cpu();
  const double lo = s.min().item<double>(), hi = s.max().item<double>();
  // A relative slack of 1e-6 admits σ values rounded to float32 (σ₀ = 79.999985 in the official sampler).
  const double eps = spec.noise.sigma_min * (1 - 1e-6), top = spec.noise.sigma_max * (1 + 1e-6);
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo < eps || hi > top)
    fail(ErrorCode::BadArgument, fmt::format("sigma must lie in [{}, {}], got values in [{}, {}]", spec.noise.sigma_min,
                                             spec.noise.sigma_max, lo, hi));
  const bool conditional = spec.num_classes > 0;
  if (conditional && !labels.defined())
    fail(ErrorCode::BadArgument, fmt::format("model '{}' is class-conditional: give a class label per image", spec.name));
  if (!conditional && labels.defined())
    fail(ErrorCode::BadArgument, fmt::format("model '{}' is unconditional: it takes no class labels", spec.name));
  if (conditional) {
    if (labels.dim() != 1 || labels.size(0) != batch)
      fail(ErrorCode::ShapeMismatch, fmt::format("labels must be a [{}] vector, got {}", batch, shape_string(labels.sizes())));
    const auto l = labels.to(at::kLong).cpu();
    if (l.min().item<int64_t>() < 0 || l.max().item<int64_t>() >= spec.num_classes)
      fail(ErrorCode::BadArgument, fmt::format("class labels must lie in [0, {})", spec.num_classes));
  }
}

}  // namespace cm::model
