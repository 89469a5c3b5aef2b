// Training dynamics: on Gaussian data, where the answers are known in closed form, each objective
// must move the network toward them; a resumed run must continue exactly; an exported run must
// load in the engine and generate.
#include "core/engine/engine.h"
#include "core/expect_error.h"
#include "core/model/gaussian_consistency.h"
#include "core/model/model_loader.h"
#include "core/model/safetensors.h"
#include "core/sampling/edm_heun.h"
#include "core/temp_dir.h"
#include "core/train/noise_schedule.h"
#include "core/train/training_run.h"
#include "core/train_fixtures.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

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

// --- a run on disk ----------------------------------------------------------------------------

int64_t count_lines(const fs::path& p) {
  std::ifstream in(p);
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

TEST(TrainingRun, LogsSamplesAndKeepsTheLastCheckpointsWithinTheShardLimit) {
  cm::testing::TempDir dir;
  const fs::path run = dir / "run";
  const TrainConfig config = tiny_config(TrainMode::Ct, 12);
  start_run(run, config);
  EXPECT_CM_ERROR(start_run(run, config), cm::ErrorCode::BadArgument, "holds a run already");
  Trainer trainer(config, std::make_shared<GaussianSource>(8), kCpu);
  RunOptions o;
  o.log_every = 4;
  o.sample_every = 6;
  o.checkpoint_every = 3;
  o.keep_checkpoints = 2;
  o.max_shard_bytes = 96 << 10;
  o.sample_count = 3;
  GaussianSource held_out(8, 1234);
  int reports = 0;
  RunHooks hooks;
  hooks.on_report = [&](const RunProgress& p) {
    ++reports;
    EXPECT_GE(p.held_out_loss, 0);
    EXPECT_EQ(p.until, 12);
  };
  run_training(trainer, run, o, &held_out, hooks);
  EXPECT_EQ(reports, 3);
  EXPECT_EQ(count_lines(run / "loss.csv"), 1 + 3);
  EXPECT_TRUE(fs::exists(run / "samples" / "step-000000006.png"));
  EXPECT_TRUE(fs::exists(run / "samples" / "step-000000012.png"));
  const auto kept = list_checkpoints(run / "checkpoints");
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept.back().filename(), "step-000000012");
  int shards = 0;
  for (const auto& e : fs::directory_iterator(kept.back())) {
    EXPECT_LE(int64_t(fs::file_size(e.path())), o.max_shard_bytes) << e.path();
    shards += e.path().extension() == ".safetensors";
  }
  EXPECT_GT(shards, 1);
  EXPECT_EQ(read_run_config(run).iterations, 12);
}

TEST(TrainingRun, StoppingCheckpointsAndResumeRewritesTheLogFromThere) {
  cm::testing::TempDir dir;
  const fs::path run = dir / "run";
  const TrainConfig config = tiny_config(TrainMode::Ct, 10);
  start_run(run, config);
  const auto data = std::make_shared<GaussianSource>(8);
  RunOptions o;
  o.log_every = 1;
  o.sample_every = 0;
  o.checkpoint_every = 0;
  {
    Trainer trainer(config, data, kCpu);
    RunHooks hooks;
    hooks.should_stop = [&] { return trainer.steps_done() == 5; };
    run_training(trainer, run, o, nullptr, hooks);
    EXPECT_EQ(trainer.steps_done(), 5);
  }
  EXPECT_TRUE(fs::exists(checkpoint_dir(run / "checkpoints", 5) / "index.json"));
  EXPECT_EQ(count_lines(run / "loss.csv"), 1 + 5);
  // Rows written after the checkpoint (a crash between the two) are dropped on resume.
  std::ofstream(run / "loss.csv", std::ios::app) << "6,1,,11,0.001,1,1\n";
  Trainer trainer(config, data, kCpu);
  EXPECT_EQ(resume_run(trainer, run), 5);
  EXPECT_EQ(count_lines(run / "loss.csv"), 1 + 5);
  run_training(trainer, run, o, nullptr, {});
  EXPECT_EQ(trainer.steps_done(), 10);
  EXPECT_EQ(count_lines(run / "loss.csv"), 1 + 10);
}

TEST(TrainingRun, ExportedModelLoadsInTheEngineAndGenerates) {
  cm::testing::TempDir dir;
  const fs::path run = dir / "run";
  const TrainConfig config = tiny_config(TrainMode::Ct, 8);
  EXPECT_CM_ERROR(export_run(run, dir / "model", {}), cm::ErrorCode::FileNotFound, "not a training run");
  start_run(run, config);
  EXPECT_CM_ERROR(export_run(run, dir / "model", {}), cm::ErrorCode::FileNotFound, "no checkpoint");
  Trainer trainer(config, std::make_shared<GaussianSource>(8), kCpu);
  RunOptions o;
  o.sample_every = 0;
  run_training(trainer, run, o, nullptr, {});
  ExportOptions e;
  e.license = "CC0-1.0";
  export_run(run, dir / "model", e);

  const cm::model::SafetensorsFile file = cm::model::read_safetensors(dir / "model" / "model.safetensors");
  for (const auto& [name, t] : file.tensors) EXPECT_EQ(t.scalar_type(), at::kHalf) << name;
  const cm::model::LoadedModel m = cm::model::load_model(dir / "model");
  EXPECT_EQ(m.card.name, "model");
  EXPECT_EQ(m.card.license, "CC0-1.0");
  EXPECT_EQ(m.card.parameterization, cm::model::Parameterization::Consistency);
  EXPECT_EQ(m.card.architecture.dropout, 0.0);
  EXPECT_EQ(m.card.schedule_points, ict_discretization(7, 8, config.ct_s0, config.ct_s1));
  ASSERT_EQ(m.card.default_ts.size(), 3u);
  EXPECT_NE(m.card.provenance.find("cmedit-train ct for 8 steps"), std::string::npos) << m.card.provenance;
  // The exported weights are the EMA weights, rounded to fp16.
  const auto ema = trainer.ema_weights();
  const auto loaded = m.function->unet().state_dict();
  for (std::size_t i = 0; i < ema.size(); ++i)
    EXPECT_TRUE(at::equal(loaded[i].second, ema[i].second.to(at::kHalf).to(at::kFloat))) << ema[i].first;

  cm::engine::EngineOptions options;
  options.device = "cpu";
  cm::engine::Engine engine(options);
  EXPECT_EQ(engine.load_model(dir / "model").get().image_size, 8);
  cm::engine::EditRequest request;
  request.kind = cm::edit::EditKind::Generate;
  request.steps = 2;
  request.batch = 2;
  const cm::engine::EditResult r = engine.submit(request).get();
  ASSERT_EQ(r.status, cm::engine::JobStatus::Done) << r.error;
  EXPECT_EQ(r.image.sizes(), (std::vector<int64_t>{2, 3, 8, 8}));
  EXPECT_TRUE(at::isfinite(r.image).all().item<bool>());
  EXPECT_LE(r.image.abs().max().item<double>(), 1.0);
}

}  // namespace
