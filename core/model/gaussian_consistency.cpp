#include "core/model/gaussian_consistency.h"

#include "core/base/error.h"

#include <ATen/ATen.h>

#include <cmath>

namespace cm::model {

namespace {
void check_gaussian(double mean, double stddev) {
  if (!(stddev > 0) || !std::isfinite(stddev) || !std::isfinite(mean))
    throw Error(ErrorCode::BadArgument, "Gaussian data needs a finite mean and a standard deviation > 0");
}
}  // namespace

GaussianConsistency::GaussianConsistency(double mean, double stddev, ModelSpec spec)
    : mean_(mean), stddev_(stddev), spec_(std::move(spec)) {
  check_gaussian(mean, stddev);
}

GaussianDenoiser::GaussianDenoiser(double mean, double stddev, ModelSpec spec)
    : mean_(mean), stddev_(stddev), spec_(std::move(spec)) {
  check_gaussian(mean, stddev);
}

at::Tensor GaussianDenoiser::operator()(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) const {
  validate_call(spec_, x, sigma, labels);
  const double s2 = stddev_ * stddev_;
  const at::Tensor sig = sigma.to(at::kDouble);
  const at::Tensor scale = (s2 / (sig * sig + s2)).to(x.scalar_type()).view({-1, 1, 1, 1});
  return (x - mean_) * scale + mean_;
}

at::Tensor GaussianConsistency::operator()(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) const {
  validate_call(spec_, x, sigma, labels);
  const double eps = spec_.noise.sigma_min;
  const double s2 = stddev_ * stddev_;
  // Per-image factor sqrt(s² + ε²)/sqrt(s² + σ²), computed in double and broadcast over C,H,W.
  const at::Tensor sig = sigma.to(at::kDouble);
  const at::Tensor scale = (std::sqrt(s2 + eps * eps) / (sig * sig + s2).sqrt()).to(x.scalar_type()).view({-1, 1, 1, 1});
  return (x - mean_) * scale + mean_;
}

}  // namespace cm::model
