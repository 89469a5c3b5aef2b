#include "core/sampling/consistency_loop.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

namespace cm::sampling {
namespace {

// √(t² − ε²): the std of the noise that takes a point at ε to level t.
double noise_scale(double t, double eps) { return std::sqrt(std::max(t * t - eps * eps, 0.0)); }

at::Tensor evaluate(const model::ConsistencyFunction& f, const at::Tensor& x, double sigma, const at::Tensor& labels) {
  const at::Tensor sigmas = at::full({x.size(0)}, sigma, x.options().dtype(at::kFloat));
  at::Tensor estimate = f(x, sigmas, labels);
  if (!estimate.isfinite().all().item<bool>())
    throw Error(ErrorCode::Internal, fmt::format("the model returned NaN or infinite values at noise level {:.4g} "
                                                 "(a damaged checkpoint, or numbers out of range for its precision)",
                                                 sigma));
  return estimate.clamp(-1, 1);
}

}  // namespace

void throw_if_cancelled(const LoopControl& control) {
  if (control.cancelled && control.cancelled()) throw Error(ErrorCode::Cancelled, "cancelled");
}

at::Tensor run_consistency_loop(const model::ConsistencyFunction& f, const at::Tensor& start, const Schedule& schedule,
                                const NoiseSource& noise, const at::Tensor& labels, const Projection& project,
                                const LoopControl& control) {
  const model::NoiseRange& range = f.spec().noise;
  validate_schedule(schedule, range);
  if (!start.defined() || start.dim() != 4) throw Error(ErrorCode::BadArgument, "the start image must be [B,C,H,W]");
  const double eps = range.sigma_min;
  const c10::Device device = f.device();
  const auto next_noise = [&](int draw) {
    at::Tensor z = noise(draw);
    if (!z.sizes().equals(start.sizes()))
      throw Error(ErrorCode::Internal, "the noise source gave a tensor of the wrong shape");
    return z.to(device, at::kFloat);
  };
  const int total = control.total_steps > 0 ? control.total_steps : schedule.steps();

  at::Tensor x = start.to(device, at::kFloat) + next_noise(0) * noise_scale(schedule.sigmas[0], eps);
  at::Tensor estimate;
  for (int n = 0; n < schedule.steps(); ++n) {
    throw_if_cancelled(control);
    const double t = schedule.sigmas[n];
    if (n > 0) x = estimate + next_noise(n) * noise_scale(t, eps);
    estimate = evaluate(f, x, t, labels);
    if (project) estimate = project(estimate);
    if (control.on_step) control.on_step(StepInfo{control.step_offset + n + 1, total, t, estimate});
  }
  if (schedule.final_sigma > eps)
    return (estimate + next_noise(schedule.steps()) * noise_scale(schedule.final_sigma, eps)).clamp(-1, 1);
  return estimate;
}

}  // namespace cm::sampling
