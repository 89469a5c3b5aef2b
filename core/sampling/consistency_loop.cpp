#include "core/sampling/consistency_loop.h"

#include "core/base/cancel.h"
#include "core/base/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>
#include <vector>

namespace cm::sampling {
namespace {

// √(t² − ε²): the std of the noise that takes a point at ε to level t.
double noise_scale(double t, double eps) { return std::sqrt(std::max(t * t - eps * eps, 0.0)); }

[[noreturn]] void throw_not_finite(double sigma) {
  throw Error(ErrorCode::Internal, fmt::format("the model returned NaN or infinite values at noise level {:.4g} "
                                               "(a damaged checkpoint, or numbers out of range for its precision)",
                                               sigma));
}

// On the CPU every estimate is checked at once (it costs no synchronisation). On a GPU a check
// would wait for the device each step, so the steps keep device-side flags and the loop reads
// them all in one transfer after the last step.
struct FiniteCheck {
  explicit FiniteCheck(bool host) : on_host(host) {}
  bool on_host;
  std::vector<at::Tensor> flags;  // GPU: one device bool per step
  std::vector<double> sigmas;

  void add(const at::Tensor& estimate, double sigma) {
    const at::Tensor finite = estimate.isfinite().all();
    if (on_host) {
      if (!finite.item<bool>()) throw_not_finite(sigma);
      return;
    }
    flags.push_back(finite);
    sigmas.push_back(sigma);
  }
  void check() const {
    if (flags.empty()) return;
    const at::Tensor all = at::stack(flags).cpu();
    for (std::size_t n = 0; n < sigmas.size(); ++n)
      if (!all[int64_t(n)].item<bool>()) throw_not_finite(sigmas[n]);
  }
};

at::Tensor evaluate(const model::ConsistencyFunction& f, const at::Tensor& x, double sigma, const at::Tensor& labels,
                    FiniteCheck& finite) {
  const at::Tensor sigmas = at::full({x.size(0)}, sigma, x.options().dtype(at::kFloat));
  at::Tensor estimate = f(x, sigmas, labels);
  finite.add(estimate, sigma);
  return estimate.clamp(-1, 1);
}

// Noise is drawn on the CPU (seeded, the same on every device); to a GPU it goes through pinned
// memory without blocking the host. Anything else is an ordinary (or no) copy.
at::Tensor to_device(const at::Tensor& z, c10::Device device) {
  if (z.is_cpu() && device.is_cuda()) return z.to(at::kFloat).pin_memory().to(device, /*non_blocking=*/true);
  return z.to(device, at::kFloat);
}

}  // namespace

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
    return to_device(z, device);
  };
  const int total = control.total_steps > 0 ? control.total_steps : schedule.steps();

  at::Tensor x = start.to(device, at::kFloat) + next_noise(0) * noise_scale(schedule.sigmas[0], eps);
  at::Tensor estimate, implied;
  FiniteCheck finite(device.is_cpu());
  const double fresh = schedule.fresh_noise;
  if (!(fresh > 0 && fresh <= 1)) throw Error(ErrorCode::BadArgument, "the share of fresh noise must lie in (0, 1]");
  for (int n = 0; n < schedule.steps(); ++n) {
    throw_if_cancelled();
    const double t = schedule.sigmas[n];
    if (n > 0) {
      at::Tensor z = next_noise(n);
      if (implied.defined()) z = std::sqrt(fresh) * z + std::sqrt(1 - fresh) * implied;
      x = estimate + z * noise_scale(t, eps);
    }
    estimate = evaluate(f, x, t, labels, finite);
    if (fresh < 1 && n + 1 < schedule.steps()) {  // the removed noise, rescaled to unit variance per image
      const at::Tensor removed = x - estimate;
      implied = removed / removed.pow(2).mean({1, 2, 3}, /*keepdim=*/true).sqrt().clamp_min(1e-12);
    }
    if (project) estimate = project(estimate);
    if (control.on_step) control.on_step(StepInfo{control.step_offset + n + 1, total, t, estimate});
  }
  finite.check();
  if (schedule.final_sigma > eps)
    return (estimate + next_noise(schedule.steps()) * noise_scale(schedule.final_sigma, eps)).clamp(-1, 1);
  return estimate;
}

}  // namespace cm::sampling
