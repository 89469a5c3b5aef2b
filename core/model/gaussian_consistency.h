// The exact consistency function of Gaussian data, for tests and as a known-answer model.
// For data x₀ ~ N(μ, s²I) the probability-flow ODE is solved in closed form, so
//   f(x, σ) = μ + (x − μ)·sqrt(s² + ε²)/sqrt(s² + σ²)
// maps every point of a trajectory to the trajectory's point at σ = ε. Samplers
// and editors run on it give answers that can be checked against formulas.
#pragma once

#include "core/model/consistency_function.h"

namespace cm::model {

class GaussianConsistency final : public ConsistencyFunction {
 public:
  // mean μ and standard deviation s > 0 of every pixel of the data.
  GaussianConsistency(double mean, double stddev, ModelSpec spec);

  at::Tensor operator()(const at::Tensor& x, const at::Tensor& sigma,
                        const at::Tensor& labels = at::Tensor()) const override;
  const ModelSpec& spec() const override { return spec_; }

  double mean() const { return mean_; }
  double stddev() const { return stddev_; }

 private:
  double mean_;
  double stddev_;
  ModelSpec spec_;
};

// The exact EDM denoiser of the same data, D(x, σ) = E[x₀ | x] = μ + (x − μ)·s²/(s² + σ²): the
// known-answer teacher for consistency distillation.
class GaussianDenoiser final : public ConsistencyFunction {
 public:
  GaussianDenoiser(double mean, double stddev, ModelSpec spec);
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& sigma,
                        const at::Tensor& labels = at::Tensor()) const override;
  const ModelSpec& spec() const override { return spec_; }

 private:
  double mean_;
  double stddev_;
  ModelSpec spec_;
};

}  // namespace cm::model
