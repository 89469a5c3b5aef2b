// Where each training step looks on the noise axis (core/train/noise_schedule.h): iCT's
// curriculum and its discretised log-normal pairs.
#include "core/expect_error.h"
#include "core/train/noise_schedule.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace {

using namespace cm::train;
using cm::ErrorCode;

TEST(IctCurriculum, DoublesNInEqualStagesFrom11To1281) {
  // K = 800: K' = ⌊800/8⌋ = 100 steps per stage.
  const std::vector<int> expected = {11, 21, 41, 81, 161, 321, 641, 1281, 1281};
  for (int stage = 0; stage < 9; ++stage) {
    EXPECT_EQ(ict_discretization(stage * 100, 800), expected[stage]) << "stage " << stage;
    if (stage > 0) {
      EXPECT_EQ(ict_discretization(stage * 100 - 1, 800), expected[stage - 1]);
    }
  }
  EXPECT_EQ(ict_discretization(5000, 800), 1281);  // past K it stays at s1 + 1
  EXPECT_EQ(ict_discretization(0, 3), 11);        // runs shorter than the stages still work
  EXPECT_CM_ERROR(ict_discretization(0, 100, 20, 10), ErrorCode::BadArgument, "1 ≤ s0 ≤ s1");
  EXPECT_CM_ERROR(ict_discretization(0, 0), ErrorCode::BadArgument, "at least one training step");
}

TEST(IctNoise, LogNormalPairProbabilitiesSumToOneAndPeakNearExpPMean) {
  const std::vector<double> sigmas = increasing_karras_sigmas(1281, {});
  EXPECT_NEAR(sigmas.front(), 0.002, 1e-15);
  EXPECT_NEAR(sigmas.back(), 80.0, 1e-12);
  const std::vector<double> p = lognormal_pair_probabilities(sigmas, -1.1, 2.0);
  ASSERT_EQ(p.size(), 1280u);
  double total = 0, below_median = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    total += p[i];
    if (sigmas[i + 1] <= std::exp(-1.1)) below_median += p[i];
  }
  EXPECT_NEAR(total, 1.0, 1e-12);
  // Half of the mass lies below σ = e^{P_mean} (up to the truncation at ε and T and one pair).
  EXPECT_NEAR(below_median, 0.5, 0.03);
}

TEST(IctNoise, SampledPairsAreAdjacentGridPointsWeightedByTheirGap) {
  const std::vector<double> sigmas = increasing_karras_sigmas(41, {});
  const std::vector<double> p = lognormal_pair_probabilities(sigmas);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const NoisePairs pairs = sample_pairs(sigmas, p, 256, gen);
  const at::Tensor weight = ict_weight(pairs);
  for (int64_t b = 0; b < 256; ++b) {
    const double hi = pairs.sigma_high[b].item<double>(), lo = pairs.sigma_low[b].item<double>();
    const auto it = std::find_if(sigmas.begin(), sigmas.end(), [&](double s) { return std::abs(s - lo) <= 1e-6 * s; });
    ASSERT_NE(it, sigmas.end());
    ASSERT_NE(it + 1, sigmas.end());
    EXPECT_NEAR(hi, *(it + 1), 1e-5 * hi);
    EXPECT_NEAR(weight[b].item<double>(), 1.0 / (hi - lo), 1e-3 / (hi - lo));
  }
  const NoisePairs uniform = sample_uniform_pairs(sigmas, 512, gen);
  EXPECT_TRUE((uniform.sigma_high > uniform.sigma_low).all().item<bool>());
  EXPECT_NEAR(uniform.sigma_low.min().item<double>(), 0.002, 1e-6);  // 512 draws of 40 pairs reach both ends
  EXPECT_NEAR(uniform.sigma_high.max().item<double>(), 80.0, 1e-4);
  EXPECT_CM_ERROR(sample_pairs(sigmas, {0.5, 0.5}, 4, gen), ErrorCode::ShapeMismatch, "2 pair probabilities for a grid of 41 points");
}

}  // namespace
