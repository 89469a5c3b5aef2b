#include "core/sampling/edm_heun.h"

#include "core/base/error.h"
#include "core/sampling/karras.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

namespace cm::sampling {

at::Tensor heun_step(const model::ConsistencyFunction& denoiser, const at::Tensor& x, const at::Tensor& from,
                     const at::Tensor& to) {
  const auto per_image = [&](const at::Tensor& v) { return v.to(x.device(), at::kFloat).view({-1, 1, 1, 1}); };
  const auto slope = [&](const at::Tensor& at_x, const at::Tensor& sigma) {
    return (at_x - denoiser(at_x, sigma).to(x.device())) / per_image(sigma);
  };
  const at::Tensor h = per_image(to) - per_image(from);
  const at::Tensor d = slope(x, from);
  const at::Tensor euler = x + h * d;
  return x + h * (d + slope(euler, to)) / 2;
}

at::Tensor edm_heun_sample(const model::ConsistencyFunction& denoiser, const at::Tensor& z, int steps) {
  if (steps < 2) throw Error(ErrorCode::BadArgument, "the Heun sampler needs at least 2 steps");
  c10::NoGradGuard no_grad;
  const model::NoiseRange& range = denoiser.spec().noise;
  const std::vector<double> sigmas = karras_sigmas(steps, range);
  const int64_t batch = z.size(0);
  const auto level = [&](double s) { return at::full({batch}, s, at::TensorOptions().dtype(at::kFloat).device(denoiser.device())); };
  at::Tensor x = z.to(denoiser.device(), at::kFloat) * sigmas[0];
  for (std::size_t i = 0; i + 1 < sigmas.size(); ++i) x = heun_step(denoiser, x, level(sigmas[i]), level(sigmas[i + 1]));
  x = denoiser(x, level(sigmas.back()));  // the last step, ε → 0: Euler lands exactly on D(x, ε)
  return x.clamp(-1, 1);
}

}  // namespace cm::sampling
