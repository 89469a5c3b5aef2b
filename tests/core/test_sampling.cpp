#include "core/base/cancel.h"
#include "core/analytic_model.h"
#include "core/expect_error.h"
#include "core/sampling/consistency_loop.h"
#include "core/sampling/karras.h"
#include "core/sampling/multistep.h"
#include "core/sampling/noise.h"
#include "core/sampling/schedule.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace {

using cm::sampling::karras_sigma;
using cm::sampling::karras_sigmas;

// Values of the official code (N = 40), to the 6 significant digits docs/MATH.md §3 lists.
TEST(Karras, MatchesTheOfficialFortyPointSchedule) {
  const std::vector<double> s = karras_sigmas(40);
  ASSERT_EQ(s.size(), 40u);
  const std::pair<int, double> table[] = {{0, 80.0},     {1, 69.4509},   {10, 16.7799},  {17, 4.36556},
                                          {18, 3.51970}, {22, 1.38237},  {30, 0.131197}, {38, 0.00367659},
                                          {39, 0.002}};
  for (const auto& [i, expected] : table) EXPECT_NEAR(s[i], expected, expected * 5e-6) << "index " << i;
}

TEST(Karras, MatchesTheMiddleIndicesOfThePublishedTwoStepCommands) {
  EXPECT_NEAR(karras_sigma(22, 40), 1.382368, 1e-6);   // cd_imagenet64
  EXPECT_NEAR(karras_sigma(106, 201), 1.912844, 1e-6); // ct_imagenet64
  EXPECT_NEAR(karras_sigma(67, 151), 3.991219, 1e-6);  // ct_bedroom256
  EXPECT_NEAR(karras_sigma(62, 151), 5.248503, 1e-6);  // ct_cat256
}

TEST(Karras, DecreasesStrictlyFromSigmaMaxToSigmaMin) {
  const std::vector<double> s = karras_sigmas(151);
  EXPECT_DOUBLE_EQ(s.front(), 80.0);
  EXPECT_NEAR(s.back(), 0.002, 1e-15);
  for (std::size_t i = 1; i < s.size(); ++i) EXPECT_LT(s[i], s[i - 1]);
}

TEST(Karras, RejectsImpossibleSchedules) {
  EXPECT_CM_ERROR(karras_sigmas(1), cm::ErrorCode::BadArgument, "at least 2 points");
  EXPECT_CM_ERROR(karras_sigma(40, 40), cm::ErrorCode::BadArgument, "outside 0…39");
  EXPECT_CM_ERROR(karras_sigma(-1, 40), cm::ErrorCode::BadArgument, "outside");
  EXPECT_CM_ERROR(karras_sigmas(10, cm::model::NoiseRange{1.0, 0.5, 0.5}), cm::ErrorCode::BadArgument, "σ_min < σ_max");
}

}  // namespace

// ---- schedules ------------------------------------------------------------------------------

namespace {

using namespace cm::sampling;
using cm::ErrorCode;

TEST(Schedule, FromTheOfficialTwoStepIndices) {
  const Schedule s = schedule_from_ts({0, 22, 39}, 40);
  ASSERT_EQ(s.steps(), 2);
  EXPECT_DOUBLE_EQ(s.sigmas[0], 80.0);
  EXPECT_NEAR(s.sigmas[1], 1.3823679566485092, 1e-12);
  EXPECT_EQ(s.final_sigma, 0.002);  // ending at N−1 adds no noise at all
}

TEST(Schedule, TsNotEndingAtTheLastIndexLeavesNoise) {
  const Schedule s = schedule_from_ts({0, 10, 20}, 40);
  EXPECT_EQ(s.steps(), 2);
  EXPECT_NEAR(s.final_sigma, karras_sigma(20, 40), 1e-12);
}

TEST(Schedule, KarrasRampStartsExactlyAtItsStrength) {
  const Schedule one = karras_schedule(1, 80.0);
  ASSERT_EQ(one.sigmas, std::vector<double>{80.0});
  const Schedule s = karras_schedule(4, 10.0);
  ASSERT_EQ(s.steps(), 4);
  EXPECT_EQ(s.sigmas[0], 10.0);
  for (int i = 1; i < 4; ++i) EXPECT_LT(s.sigmas[i], s.sigmas[i - 1]);
  EXPECT_GT(s.sigmas.back(), 0.002);
  // The ramp is the Karras schedule between σ_start and ε: index i of 5 points.
  EXPECT_NEAR(s.sigmas[2], karras_sigma(2, 5, cm::model::NoiseRange{0.002, 10.0, 0.5}), 1e-12);
  EXPECT_EQ(karras_schedule(3, 0.002).sigmas, std::vector<double>{0.002});
}

TEST(Schedule, BadSchedulesAreRefused) {
  EXPECT_CM_ERROR(schedule_from_ts({0}, 40), ErrorCode::BadArgument, "at least two");
  EXPECT_CM_ERROR(schedule_from_ts({0, 22, 22}, 40), ErrorCode::BadArgument, "increase strictly");
  EXPECT_CM_ERROR(schedule_from_ts({0, 40}, 40), ErrorCode::BadArgument, "outside 0…39");
  EXPECT_CM_ERROR(karras_schedule(0, 80), ErrorCode::BadArgument, "at least 1 step");
  EXPECT_CM_ERROR(karras_schedule(2, 81), ErrorCode::BadArgument, "must lie in [0.002, 80]");
  EXPECT_CM_ERROR(validate_schedule(Schedule{{5.0, 6.0}}, {}), ErrorCode::BadArgument, "decrease strictly");
  EXPECT_CM_ERROR(validate_schedule(Schedule{{}}, {}), ErrorCode::BadArgument, "no noise levels");
}

// ---- noise ----------------------------------------------------------------------------------

TEST(NoiseField, IsStandardNormal) {
  const at::Tensor z = NoiseField(7).crop(0, NoiseWindow{2, 3, 0, 0, 128, 128});
  EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.01);
  EXPECT_NEAR(z.std().item<double>(), 1.0, 0.01);
}

TEST(NoiseField, AnyWindowSeesTheSameNumbersAtTheSamePlace) {
  const NoiseField field(42);
  const at::Tensor big = field.crop(3, NoiseWindow{2, 3, -70, -5, 200, 150});
  const at::Tensor part = field.crop(3, NoiseWindow{2, 3, 10, 60, 37, 81});
  EXPECT_TRUE(at::equal(part, big.narrow(2, 80, 37).narrow(3, 65, 81)));
  // Image 0 of a batch does not depend on the batch size.
  EXPECT_TRUE(at::equal(field.crop(3, NoiseWindow{1, 3, 10, 60, 37, 81})[0], part[0]));
}

TEST(NoiseField, DrawsSeedsImagesAndBlocksDiffer) {
  const NoiseWindow w{2, 3, 0, 0, 64, 128};
  const at::Tensor z = NoiseField(1).crop(0, w);
  EXPECT_FALSE(at::allclose(z, NoiseField(1).crop(1, w)));
  EXPECT_FALSE(at::allclose(z, NoiseField(2).crop(0, w)));
  EXPECT_FALSE(at::allclose(z[0], z[1]));
  EXPECT_FALSE(at::allclose(z.narrow(3, 0, 64), z.narrow(3, 64, 64)));
  EXPECT_TRUE(at::equal(z, NoiseField(1).crop(0, w)));
}

TEST(Slerp, EndpointsAreExactAndTheMiddleKeepsTheNorm) {
  const NoiseWindow w{2, 3, 0, 0, 32, 32};
  const at::Tensor a = NoiseField(1).crop(0, w), b = NoiseField(2).crop(0, w);
  EXPECT_TRUE(at::equal(slerp(a, b, 0.0), a));
  EXPECT_TRUE(at::equal(slerp(a, b, 1.0), b));
  // Nearly orthogonal high-dimensional noises: the slerp midpoint keeps the norm, a lerp would shrink it by √2.
  const at::Tensor mid = slerp(a, b, 0.5);
  EXPECT_NEAR(mid[0].norm().item<double>() / a[0].norm().item<double>(), 1.0, 0.02);
  EXPECT_TRUE(at::allclose(slerp(a, a, 0.3), a, 1e-5, 1e-6));  // parallel: falls back to lerp
  EXPECT_CM_ERROR(slerp(a, b.narrow(2, 0, 16), 0.5), ErrorCode::ShapeMismatch, "one shape");
}

// ---- the loop -------------------------------------------------------------------------------

TEST(ConsistencyLoop, MultistepSamplingOfGaussianDataHasTheClosedFormDistribution) {
  const auto f = cm::testing::analytic_model(64);
  const Schedule schedule = schedule_from_ts({0, 14, 26, 39}, 40);  // 3 evaluations
  // Closed form (no clamp is hit for μ = 0.1, s = 0.2): m ← μ + (m − μ)·k(t), v ← (v + t² − ε²)·k(t)².
  const double eps = 0.002, mu = cm::testing::kDataMean;
  double mean = 0, var = 0;
  for (double t : schedule.sigmas) {
    var = (var + t * t - eps * eps) * std::pow(cm::testing::analytic_gain(t), 2);
    mean = mu + (mean - mu) * cm::testing::analytic_gain(t);
  }
  std::vector<at::Tensor> samples;
  for (uint64_t seed = 0; seed < 16; ++seed) samples.push_back(generate(f, 1, seed, schedule));
  const at::Tensor all = at::cat(samples).to(at::kDouble);  // 16·3·64·64 = 196,608 samples
  const double n = double(all.numel()), se = std::sqrt(var / n);
  EXPECT_NEAR(all.mean().item<double>(), mean, 5 * se);
  EXPECT_NEAR(all.var().item<double>(), var, 5 * var * std::sqrt(2 / n));
  // And the chain ends near the data distribution N(μ, s² + ε²).
  EXPECT_NEAR(var, 0.04, 0.001);
}

TEST(ConsistencyLoop, SameSeedSameImageOtherSeedOtherImage) {
  const auto f = cm::testing::analytic_model(32);
  const Schedule schedule = karras_schedule(3, 80);
  const at::Tensor a = generate(f, 2, 5, schedule);
  EXPECT_TRUE(at::equal(a, generate(f, 2, 5, schedule)));
  EXPECT_FALSE(at::allclose(a, generate(f, 2, 6, schedule)));
  EXPECT_TRUE(at::equal(a[0], generate(f, 1, 5, schedule)[0]));  // batch-size independent
}

TEST(ConsistencyLoop, ReportsEveryStepAndStopsWhenCancelled) {
  const auto f = cm::testing::analytic_model(16);
  const Schedule schedule = karras_schedule(4, 80);
  std::vector<std::pair<int, double>> seen;
  LoopControl control;
  control.on_step = [&](const StepInfo& s) {
    EXPECT_EQ(s.total, 4);
    EXPECT_EQ(s.estimate.sizes(), (std::vector<int64_t>{1, 3, 16, 16}));
    seen.emplace_back(s.step, s.sigma);
  };
  generate(f, 1, 0, schedule, at::Tensor(), control);
  ASSERT_EQ(seen.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(seen[i].first, i + 1);
    EXPECT_EQ(seen[i].second, schedule.sigmas[i]);
  }
  seen.clear();
  const cm::CancelScope stop([&] { return seen.size() == 2; });
  EXPECT_CM_ERROR(generate(f, 1, 0, schedule, at::Tensor(), control), ErrorCode::Cancelled, "cancelled");
  EXPECT_EQ(seen.size(), 2u);  // stopped between steps, before the third evaluation
}

// A model whose output is NaN: the loop must say so instead of producing a black image.
class BrokenModel final : public cm::model::ConsistencyFunction {
 public:
  at::Tensor operator()(const at::Tensor& x, const at::Tensor&, const at::Tensor&) const override {
    return at::full_like(x, NAN);
  }
  const cm::model::ModelSpec& spec() const override { return spec_; }

 private:
  cm::model::ModelSpec spec_ = cm::testing::analytic_spec(8);
};

TEST(ConsistencyLoop, NaNFromTheModelIsAClearError) {
  EXPECT_CM_ERROR(generate(BrokenModel(), 1, 0, karras_schedule(2, 80)), ErrorCode::Internal,
                  "the model returned NaN or infinite values at noise level 80");
}

TEST(ConsistencyLoop, ExplicitNoisesReproduceTheOfficialSamplerByHand) {
  const auto f = cm::testing::analytic_model(8);
  const NoiseWindow w{1, 3, 0, 0, 8, 8};
  std::vector<at::Tensor> z;
  for (int i = 0; i < 3; ++i) z.push_back(NoiseField(9).crop(i, w));
  // x = 80·z₀; x₀ = clamp(f(x, 80)); x = x₀ + √(σ22² − ε²)·z₁; x₀ = clamp(f(x, σ22)); no final noise.
  const double s22 = karras_sigma(22, 40);
  const auto at_sigma = [](double s) { return at::full({1}, s, at::kFloat); };
  at::Tensor x0 = f(80 * z[0], at_sigma(80)).clamp(-1, 1);
  x0 = f(x0 + z[1] * std::sqrt(s22 * s22 - 0.002 * 0.002), at_sigma(s22)).clamp(-1, 1);
  EXPECT_LE(cm::testing::max_abs_diff(sample_multistep(f, z, {0, 22, 39}, 40), x0), 1e-7);
  EXPECT_CM_ERROR(sample_multistep(f, {z[0], z[1]}, {0, 22, 39}, 40), ErrorCode::BadArgument, "need 3 noise tensors");
}

}  // namespace
