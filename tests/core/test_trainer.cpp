// The trainer (core/train/trainer.h): on Gaussian data, where the answers are known in closed
// form, each objective must move the network toward them; a resumed run must continue exactly.
// A run on disk is test_training_run.cpp.
#include "core/expect_error.h"
#include "core/model/gaussian_consistency.h"
#include "core/sampling/edm_heun.h"
#include "core/temp_dir.h"
#include "core/train/noise_schedule.h"
#include "core/train_fixtures.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>

namespace {

namespace fs = std::filesystem;
using namespace cm::train;
using cm::testing::error_vs_analytic;
using cm::testing::GaussianSource;
using cm::testing::kDataMean;
using cm::testing::kDataStd;
using cm::testing::tiny_config;

const c10::Device kCpu(c10::kCPU);

std::shared_ptr<const cm::model::ConsistencyFunction> analytic_teacher() {
  return std::make_shared<cm::model::GaussianDenoiser>(kDataMean, kDataStd, cm::testing::analytic_spec(8));
}

struct Measured {
  double untrained_all, trained_all, untrained_middle, trained_middle;
};

Measured train_and_measure(const TrainConfig& config, int steps) {
  Trainer trainer(config, std::make_shared<GaussianSource>(8), kCpu, config.mode == TrainMode::Cd ? analytic_teacher() : nullptr);
  const bool denoiser = config.mode == TrainMode::Edm;
  Measured m{};
  m.untrained_all = error_vs_analytic(*trainer.ema_function(), denoiser);
  m.untrained_middle = error_vs_analytic(*trainer.ema_function(), denoiser, cm::testing::kMiddleLevels);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) EXPECT_TRUE(std::isfinite(trainer.step().loss)) << "step " << i;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.trained_all = error_vs_analytic(*trainer.ema_function(), denoiser);
  m.trained_middle = error_vs_analytic(*trainer.ema_function(), denoiser, cm::testing::kMiddleLevels);
  std::printf("[ %s: error vs analytic %.5f → %.5f (middle σ %.5f → %.5f) after %d steps, %.1f steps/s ]\n",
              to_string(config.mode), m.untrained_all, m.trained_all, m.untrained_middle, m.trained_middle, steps, steps / seconds);
  return m;
}

TEST(Training, ConsistencyTrainingApproachesTheAnalyticConsistencyFunction) {
  const Measured m = train_and_measure(tiny_config(TrainMode::Ct, 300), 300);
  EXPECT_LT(m.trained_all, 0.25 * m.untrained_all);
  EXPECT_LT(m.trained_middle, 0.15 * m.untrained_middle);  // where iCT's proposal trains most
}

TEST(Training, DistillationFromTheAnalyticDenoiserApproachesTheConsistencyFunction) {
  // Consistency propagates up the grid one pair at a time, so CD needs a coarse grid and a few
  // hundred steps here.
  TrainConfig c = tiny_config(TrainMode::Cd, 300);
  c.cd_points = 18;
  const Measured m = train_and_measure(c, 300);
  EXPECT_LT(m.trained_all, 0.25 * m.untrained_all);
}

TEST(Training, EdmTrainingApproachesTheAnalyticDenoiser) {
  const Measured m = train_and_measure(tiny_config(TrainMode::Edm, 200), 200);
  EXPECT_LT(m.trained_all, 0.25 * m.untrained_all);
}

TEST(Training, HeunStepFollowsTheExactProbabilityFlow) {
  // For Gaussian data the ODE moves x − μ by √(s² + σ²): x(t₂) = μ + (x − μ)·√(s² + t₂²)/√(s² + t²).
  const auto teacher = analytic_teacher();
  const at::Tensor x0 = kDataMean + kDataStd * at::randn({4, 3, 8, 8});
  const at::Tensor z = at::randn({4, 3, 8, 8});
  const std::vector<double> grid = increasing_karras_sigmas(40, {});
  for (std::size_t i = 0; i + 1 < grid.size(); i += 6) {
    const double t = grid[i + 1], t2 = grid[i], s2 = kDataStd * kDataStd;
    const at::Tensor x = x0 + t * z;
    const at::Tensor exact = kDataMean + (x - kDataMean) * std::sqrt((s2 + t2 * t2) / (s2 + t * t));
    const at::Tensor heun = cm::sampling::heun_step(*teacher, x, at::full({4}, t), at::full({4}, t2));
    const at::Tensor euler_error = (x - exact).abs().max();  // standing still, for scale
    EXPECT_LT((heun - exact).abs().max().item<double>(), 0.02 * euler_error.item<double>() + 1e-5) << "t = " << t;
  }
}

std::vector<double> losses(Trainer& t, int steps) {
  std::vector<double> out;
  for (int i = 0; i < steps; ++i) out.push_back(t.step().loss);
  return out;
}

void expect_exact_resume(TrainConfig config) {
  config.architecture.dropout = 0.1;  // the dropout masks must be reproduced too
  const auto teacher = config.mode == TrainMode::Cd ? analytic_teacher() : nullptr;
  const auto data = std::make_shared<GaussianSource>(8);
  cm::testing::TempDir dir;
  Trainer first(config, data, kCpu, teacher);
  losses(first, 4);
  first.save(dir / "checkpoint", 64 << 10);
  const std::vector<double> expected = losses(first, 3);

  Trainer resumed(config, data, kCpu, teacher);
  resumed.restore(read_checkpoint(dir / "checkpoint"));
  EXPECT_EQ(resumed.steps_done(), 4);
  EXPECT_EQ(losses(resumed, 3), expected);
  const auto a = first.ema_weights(), b = resumed.ema_weights();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i].second, b[i].second)) << a[i].first;
}

TEST(Training, ResumingFromACheckpointGivesTheSameNextLossesCt) { expect_exact_resume(tiny_config(TrainMode::Ct, 50)); }
TEST(Training, ResumingFromACheckpointGivesTheSameNextLossesCd) { expect_exact_resume(tiny_config(TrainMode::Cd, 50)); }

TEST(Training, DifferentSeedsTrainDifferently) {
  TrainConfig a = tiny_config(TrainMode::Ct, 50), b = a;
  b.seed = a.seed + 1;
  const auto data = std::make_shared<GaussianSource>(8);
  Trainer ta(a, data, kCpu), tb(b, data, kCpu);
  EXPECT_NE(losses(ta, 2), losses(tb, 2));
}

TEST(Training, CdRefusesToRunWithoutATeacherOrWithOneOfAnotherSize) {
  const auto data = std::make_shared<GaussianSource>(8);
  EXPECT_CM_ERROR(Trainer(tiny_config(TrainMode::Cd, 10), data, kCpu), cm::ErrorCode::BadArgument, "needs an EDM teacher");
  const auto big = std::make_shared<cm::model::GaussianDenoiser>(0.0, 1.0, cm::testing::analytic_spec(16));
  EXPECT_CM_ERROR(Trainer(tiny_config(TrainMode::Cd, 10), data, kCpu, big), cm::ErrorCode::ShapeMismatch, "teacher works at 16×16");
  EXPECT_CM_ERROR(Trainer(tiny_config(TrainMode::Ct, 10), std::make_shared<GaussianSource>(16), kCpu), cm::ErrorCode::ShapeMismatch,
                  "data gives 16×16 images but the model is 8×8");
}

}  // namespace
