#include "core/sampling/karras.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

namespace cm::sampling {
namespace {

void check_schedule(int n, const model::NoiseRange& range) {
  if (n < 2) throw Error(ErrorCode::BadArgument, fmt::format("a σ schedule needs at least 2 points, got {}", n));
  if (!(range.sigma_min > 0) || !(range.sigma_max > range.sigma_min))
    throw Error(ErrorCode::BadArgument, "a σ schedule needs 0 < σ_min < σ_max");
}

double sigma_unchecked(int i, int n, const model::NoiseRange& range, double rho) {
  const double max_inv_rho = std::pow(range.sigma_max, 1.0 / rho);
  const double min_inv_rho = std::pow(range.sigma_min, 1.0 / rho);
  return std::pow(max_inv_rho + double(i) / double(n - 1) * (min_inv_rho - max_inv_rho), rho);
}

}  // namespace

double karras_sigma(int i, int n, const model::NoiseRange& range, double rho) {
  check_schedule(n, range);
  if (i < 0 || i >= n)
    throw Error(ErrorCode::BadArgument, fmt::format("schedule index {} is outside 0…{} (N = {})", i, n - 1, n));
  return sigma_unchecked(i, n, range, rho);
}

std::vector<double> karras_sigmas(int n, const model::NoiseRange& range, double rho) {
  check_schedule(n, range);
  std::vector<double> sigmas(n);
  for (int i = 0; i < n; ++i) sigmas[i] = sigma_unchecked(i, n, range, rho);
  return sigmas;
}

}  // namespace cm::sampling

namespace cm::sampling {

at::Tensor karras_sigmas_f32(int n, const model::NoiseRange& range, double rho) {
  check_schedule(n, range);
  const double min_inv_rho = std::pow(range.sigma_min, 1.0 / rho);
  const double max_inv_rho = std::pow(range.sigma_max, 1.0 / rho);
  const at::Tensor ramp = at::linspace(0, 1, n, at::kFloat);
  return (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)).pow(rho);
}

}  // namespace cm::sampling
