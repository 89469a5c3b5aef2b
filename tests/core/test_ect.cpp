// ECT (Geng et al. 2024; docs/MATH.md §6): its r(t) schedule and stages, and on Gaussian data,
// where the answers are known in closed form, that its pretraining phase learns the denoiser and
// its tuning phase the consistency function. Also the pieces a campaign window relies on:
// continuing from weights, and mixed crop sizes.
#include "core/expect_error.h"
#include "core/train/noise_schedule.h"
#include "core/train/trainer.h"
#include "core/train_fixtures.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

using namespace cm::train;
using cm::ErrorCode;
using cm::testing::error_vs_analytic;
using cm::testing::GaussianSource;
using cm::testing::tiny_config;

const c10::Device kCpu(c10::kCPU);

TEST(EctSchedule, PretrainingTargetsTheCleanImageThenTMinusRShrinksByQPerStage) {
  const at::Tensor t = at::tensor({0.003, 0.05, 0.3, 1.0, 4.0, 20.0, 80.0}, at::kDouble);
  EXPECT_TRUE(at::equal(ect_r(t, -1), at::zeros({7})));
  for (int stage = 0; stage < 6; ++stage) {
    const at::Tensor r = ect_r(t, stage).to(at::kDouble), next = ect_r(t, stage + 1).to(at::kDouble);
    EXPECT_TRUE((r >= 0).all().item<bool>());
    EXPECT_TRUE((r < t).all().item<bool>());
    EXPECT_TRUE((next >= r).all().item<bool>()) << "stage " << stage;  // pairs move closer
    for (int64_t i = 0; i < t.size(0); ++i) {
      const double ti = t[i].item<double>(), ri = r[i].item<double>(), ni = next[i].item<double>();
      // r = t·(1 − n(t)/2^(stage+1)), n(t) = 1 + 8·sigmoid(−t), clamped at 0
      const double n = 1 + 8 / (1 + std::exp(ti));
      EXPECT_NEAR(ri, std::max(0.0, ti * (1 - n / std::pow(2.0, stage + 1))), 1e-6 * ti);
      if (ri > 0) {
        EXPECT_NEAR((ti - ni) / (ti - ri), 0.5, 1e-4) << "t = " << ti;
      }
    }
  }
  // Large t: n → 1, so r → t/2 at stage 0; small t: n → 5, so r = 0 until stage 2.
  EXPECT_NEAR(ect_r(at::tensor({80.0}), 0).item<double>(), 40.0, 1e-3);
  EXPECT_EQ(ect_r(at::tensor({0.01}), 1).item<double>(), 0.0);
  EXPECT_GT(ect_r(at::tensor({0.01}), 2).item<double>(), 0.0);
  EXPECT_CM_ERROR(ect_r(t, 0, 1.0), ErrorCode::BadArgument, "q > 1");
}

TEST(EctSchedule, StagesFollowTheStepAfterPretrainingUpToTheLast) {
  EXPECT_EQ(ect_stage(0, 100, 50, 3), -1);
  EXPECT_EQ(ect_stage(99, 100, 50, 3), -1);
  EXPECT_EQ(ect_stage(100, 100, 50, 3), 0);
  EXPECT_EQ(ect_stage(149, 100, 50, 3), 0);
  EXPECT_EQ(ect_stage(150, 100, 50, 3), 1);
  EXPECT_EQ(ect_stage(100000, 100, 50, 3), 3);
  EXPECT_EQ(ect_stage(0, 0, 50, 3), 0);
  EXPECT_CM_ERROR(ect_stage(0, 0, 0, 3), ErrorCode::BadArgument, "stage steps ≥ 1");
  TrainConfig c = tiny_config(TrainMode::Ect, 10);
  c.ect_q = 1;
  EXPECT_CM_ERROR(c.validate(), ErrorCode::BadArgument, "q > 1");
}

double trained_error(TrainConfig config, int steps, bool vs_denoiser, double* untrained) {
  Trainer trainer(config, std::make_shared<GaussianSource>(8), kCpu);
  *untrained = error_vs_analytic(*trainer.ema_function(), vs_denoiser);
  for (int i = 0; i < steps; ++i) EXPECT_TRUE(std::isfinite(trainer.step().loss)) << "step " << i;
  const double trained = error_vs_analytic(*trainer.ema_function(), vs_denoiser);
  std::printf("[ ect: error vs analytic %s %.5f → %.5f after %d steps ]\n", vs_denoiser ? "denoiser" : "consistency function", *untrained,
              trained, steps);
  return trained;
}

TEST(Training, EctPretrainingApproachesTheAnalyticDenoiser) {
  TrainConfig c = tiny_config(TrainMode::Ect, 200);
  c.ect_pretrain_steps = 1000;  // r = 0 throughout: f(x_t, t) regresses onto x0
  double untrained = 0;
  const double trained = trained_error(c, 200, /*vs_denoiser=*/true, &untrained);
  EXPECT_LT(trained, 0.25 * untrained);
}

TEST(Training, EctApproachesTheAnalyticConsistencyFunction) {
  // Until its last stage, ECT regresses small t onto x0 (r clamps at 0 there), which is the
  // denoiser, not the consistency function: the run needs its stages 0–4 to get close everywhere.
  TrainConfig c = tiny_config(TrainMode::Ect, 500);
  c.ect_pretrain_steps = 100;
  c.ect_stage_steps = 100;
  c.ect_max_stage = 4;
  double untrained = 0;
  const double trained = trained_error(c, 500, /*vs_denoiser=*/false, &untrained);
  EXPECT_LT(trained, 0.25 * untrained);
}

TEST(Training, EctAfterPretrainingIsCloserToTheConsistencyFunctionThanPretrainingAlone) {
  // The denoiser and the consistency function differ most at large σ (where the denoiser returns
  // the mean and the consistency function keeps the noise's direction): tuning must move there.
  TrainConfig pre = tiny_config(TrainMode::Ect, 400);
  pre.ect_pretrain_steps = 1000;
  TrainConfig tuned = pre;
  tuned.ect_pretrain_steps = 150;
  tuned.ect_stage_steps = 60;
  const std::vector<double> high = {5.0, 20.0, 80.0};
  Trainer a(pre, std::make_shared<GaussianSource>(8), kCpu), b(tuned, std::make_shared<GaussianSource>(8), kCpu);
  for (int i = 0; i < 400; ++i) a.step(), b.step();
  const double pre_error = error_vs_analytic(*a.ema_function(), false, high), tuned_error = error_vs_analytic(*b.ema_function(), false, high);
  std::printf("[ ect: error at high σ vs the consistency function: pretraining only %.5f, tuned %.5f ]\n", pre_error, tuned_error);
  EXPECT_LT(tuned_error, 0.7 * pre_error);
}

TEST(Training, ContinuingFromWeightsKeepsStepAndWeightsAndRefusesOthers) {
  TrainConfig c = tiny_config(TrainMode::Ect, 50);
  c.architecture.dropout = 0.1;
  const auto data = std::make_shared<GaussianSource>(8);
  Trainer first(c, data, kCpu);
  for (int i = 0; i < 5; ++i) first.step();
  Trainer second(c, data, kCpu);
  second.continue_from(first.online_weights(), first.ema_weights(), first.steps_done());
  EXPECT_EQ(second.steps_done(), 5);
  const auto a = first.ema_weights(), b = second.ema_weights();
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(at::equal(a[i].second, b[i].second)) << a[i].first;
  // The same batch, noise and dropout follow from the step: the first loss after continuing is
  // the loss the first run sees next (its optimizer moments differ only from then on).
  EXPECT_DOUBLE_EQ(second.step().loss, first.step().loss);

  TrainConfig wide = c;
  wide.architecture.model_channels = 64;
  Trainer other(wide, data, kCpu);
  EXPECT_CM_ERROR(second.continue_from(other.online_weights(), other.ema_weights(), 0), ErrorCode::ShapeMismatch, "does not fit");
  auto missing = first.online_weights();
  missing.pop_back();
  EXPECT_CM_ERROR(second.continue_from(missing, first.ema_weights(), 0), ErrorCode::CorruptFile, "online weights lack");
}

TEST(Training, CropSizesTakeTurnsWithBatchesOfEqualPixels) {
  TrainConfig c = tiny_config(TrainMode::Ect, 50);
  c.crop_sizes = {8, 8, 16};
  EXPECT_EQ(c.crop_size_at(0), 8);
  EXPECT_EQ(c.crop_size_at(2), 16);
  EXPECT_EQ(c.crop_size_at(5), 16);
  EXPECT_EQ(c.batch_at(1), 16);
  EXPECT_EQ(c.batch_at(2), 4);
  EXPECT_EQ(train_config_from_json(to_json(c)).crop_sizes, c.crop_sizes);
  // GaussianSource makes one size only: a 16-px step is refused with a clear message.
  Trainer trainer(c, std::make_shared<GaussianSource>(8), kCpu);
  trainer.step();
  trainer.step();
  EXPECT_CM_ERROR(trainer.step(), ErrorCode::Unsupported, "gives 8×8 images only, not 16×16");
  c.architecture.channel_mult = {1, 2, 2};
  c.crop_sizes = {8, 18};
  EXPECT_CM_ERROR(c.validate(), ErrorCode::BadArgument, "crop size 18 must be ≥ 8 and a multiple of 4");
}

}  // namespace
