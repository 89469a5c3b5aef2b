#include "core/expect_error.h"
#include "core/model/gaussian_consistency.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

using cm::ErrorCode;
using cm::model::GaussianConsistency;
using cm::model::ModelSpec;

constexpr double kMean = 0.3, kStd = 0.2, kEps = 0.002;

ModelSpec spec32() {
  ModelSpec spec;
  spec.name = "gaussian";
  spec.image_size = 32;
  return spec;
}

at::Tensor sigmas(std::initializer_list<double> values) { return at::tensor(std::vector<double>(values)).to(at::kFloat); }

// The probability-flow ODE trajectory through x_ε, evaluated at σ (closed form for Gaussian data).
at::Tensor on_trajectory(const at::Tensor& x_eps, double sigma) {
  return kMean + (x_eps - kMean) * (std::sqrt(kStd * kStd + sigma * sigma) / std::sqrt(kStd * kStd + kEps * kEps));
}

TEST(GaussianConsistency, IsTheIdentityAtSigmaMin) {
  const GaussianConsistency f(kMean, kStd, spec32());
  const at::Tensor x = at::randn({2, 3, 32, 32});
  EXPECT_TRUE(at::allclose(f(x, sigmas({kEps, kEps})), x, 0, 1e-6));
}

TEST(GaussianConsistency, MapsEveryPointOfATrajectoryToItsStart) {
  const GaussianConsistency f(kMean, kStd, spec32());
  const at::Tensor x_eps = kMean + kStd * at::randn({1, 3, 32, 32}, at::kDouble);
  for (double sigma : {80.0, 2.5, 0.5, 0.01}) {
    const at::Tensor x_sigma = on_trajectory(x_eps, sigma).to(at::kFloat);
    const at::Tensor out = f(x_sigma, sigmas({sigma}));
    EXPECT_LT((out.to(at::kDouble) - x_eps).abs().max().item<double>(), 1e-5) << "sigma " << sigma;
  }
}

TEST(GaussianConsistency, UsesEachImagesOwnSigma) {
  const GaussianConsistency f(kMean, kStd, spec32());
  const at::Tensor x = at::randn({2, 3, 32, 32});
  const at::Tensor both = f(x, sigmas({80.0, 0.5}));
  EXPECT_TRUE(at::allclose(both[0], f(x.slice(0, 0, 1), sigmas({80.0}))[0]));
  EXPECT_TRUE(at::allclose(both[1], f(x.slice(0, 1, 2), sigmas({0.5}))[0]));
}

TEST(GaussianConsistency, TurnsPureNoiseIntoTheDataDistribution) {
  // x_T ~ N(μ, (s² + T²)I)  →  f(x_T, T) ~ N(μ, (s² + ε²)I).
  const GaussianConsistency f(kMean, kStd, spec32());
  at::manual_seed(7);
  const double T = 80.0;
  const at::Tensor x_T = kMean + std::sqrt(kStd * kStd + T * T) * at::randn({16, 3, 32, 32});
  const at::Tensor out = f(x_T, at::full({16}, T)).to(at::kDouble);
  EXPECT_NEAR(out.mean().item<double>(), kMean, 0.005);
  EXPECT_NEAR(out.std().item<double>(), std::sqrt(kStd * kStd + kEps * kEps), 0.005);
}

TEST(GaussianConsistency, RejectsCallsThatDoNotFitTheModel) {
  const GaussianConsistency f(kMean, kStd, spec32());
  const at::Tensor x = at::zeros({2, 3, 32, 32});
  EXPECT_CM_ERROR(f(x, sigmas({1.0})), ErrorCode::ShapeMismatch, "sigma must be a [2] vector");
  EXPECT_CM_ERROR(f(x, sigmas({1.0, 100.0})), ErrorCode::BadArgument, "sigma must lie in [0.002, 80]");
  EXPECT_CM_ERROR(f(x, sigmas({1.0, NAN})), ErrorCode::BadArgument, "sigma must lie in");
  EXPECT_CM_ERROR(f(at::zeros({2, 4, 32, 32}), sigmas({1.0, 1.0})), ErrorCode::ShapeMismatch, "4 channels");
  EXPECT_CM_ERROR(f(at::zeros({3, 32, 32}), sigmas({1.0})), ErrorCode::ShapeMismatch, "4-D");
  EXPECT_CM_ERROR(f(x, sigmas({1.0, 1.0}), at::zeros({2}, at::kLong)), ErrorCode::BadArgument, "unconditional");
}

TEST(GaussianConsistency, ClassConditionalSpecDemandsValidLabels) {
  ModelSpec spec = spec32();
  spec.num_classes = 10;
  const GaussianConsistency f(kMean, kStd, spec);
  const at::Tensor x = at::zeros({2, 3, 32, 32});
  EXPECT_CM_ERROR(f(x, sigmas({1.0, 1.0})), ErrorCode::BadArgument, "class-conditional");
  EXPECT_CM_ERROR(f(x, sigmas({1.0, 1.0}), at::tensor({3, 10})), ErrorCode::BadArgument, "[0, 10)");
  EXPECT_NO_THROW(f(x, sigmas({1.0, 1.0}), at::tensor({3, 7})));
}

TEST(GaussianConsistency, RejectsDegenerateData) {
  EXPECT_CM_ERROR(GaussianConsistency(0.0, 0.0, spec32()), ErrorCode::BadArgument, "standard deviation > 0");
}

}  // namespace
