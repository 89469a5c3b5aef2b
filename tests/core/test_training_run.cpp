// A training run on disk (core/train/training_run.h): its log, samples and checkpoints, resuming,
// and an exported model that the engine loads and generates with.
#include "core/engine/engine.h"
#include "core/expect_error.h"
#include "core/model/model_loader.h"
#include "core/model/safetensors.h"
#include "core/temp_dir.h"
#include "core/train/noise_schedule.h"
#include "core/train/training_run.h"
#include "core/train_fixtures.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>

namespace {

namespace fs = std::filesystem;
using namespace cm::train;
using cm::testing::GaussianSource;
using cm::testing::tiny_config;

const c10::Device kCpu(c10::kCPU);

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
