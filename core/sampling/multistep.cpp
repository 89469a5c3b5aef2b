#include "core/sampling/multistep.h"

#include "core/base/error.h"
#include "core/sampling/karras.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace cm::sampling {
namespace {

at::Tensor per_image_sigma(const at::Tensor& x, double sigma) {
  return at::full({x.size(0)}, sigma, x.options().dtype(at::kFloat));
}

void check_ts(const std::vector<int>& ts, int n) {
  if (ts.size() < 2) throw Error(ErrorCode::BadArgument, "ts needs at least two indices (e.g. 0,39)");
  for (std::size_t k = 0; k < ts.size(); ++k) {
    if (ts[k] < 0 || ts[k] >= n)
      throw Error(ErrorCode::BadArgument, fmt::format("ts index {} is outside 0…{}", ts[k], n - 1));
    if (k && ts[k] <= ts[k - 1]) throw Error(ErrorCode::BadArgument, "ts must increase strictly (noisiest first)");
  }
}

}  // namespace

at::Tensor sample_multistep(const model::ConsistencyFunction& f, const std::vector<at::Tensor>& noises,
                            const std::vector<int>& ts, int n, const at::Tensor& labels) {
  check_ts(ts, n);
  if (noises.size() != ts.size())
    throw Error(ErrorCode::BadArgument,
                fmt::format("{} steps need {} noise tensors, got {}", ts.size() - 1, ts.size(), noises.size()));
  const model::NoiseRange& range = f.spec().noise;
  at::Tensor x = noises[0] * range.sigma_max;
  for (std::size_t k = 0; k + 1 < ts.size(); ++k) {
    const double t = karras_sigma(ts[k], n, range);
    const at::Tensor x0 = f(x, per_image_sigma(x, t), labels).clamp(-1, 1);
    const double next = std::clamp(karras_sigma(ts[k + 1], n, range), range.sigma_min, range.sigma_max);
    x = x0 + noises[k + 1].to(x0.device()) * std::sqrt(next * next - range.sigma_min * range.sigma_min);
  }
  return x.clamp(-1, 1);
}

at::Tensor sample_onestep(const model::ConsistencyFunction& f, const at::Tensor& z, const at::Tensor& labels) {
  const model::NoiseRange& range = f.spec().noise;
  const at::Tensor sigma0 = karras_sigmas_f32(2, range)[0];  // σ₀ does not depend on N
  const at::Tensor x = z * range.sigma_max;
  return f(x, sigma0.expand({x.size(0)}).to(x.device()), labels).clamp(-1, 1);
}

}  // namespace cm::sampling
