// The fused training step (core/train/fused_step.h) computes what the plain step computes: the same
// losses, |g|, weights, EMA and optimizer state, step after step, whatever its buffers' layout, with
// its update kept off a non-finite step, its state in checkpoints, and its CUDA-graph machinery
// (exercised on the CPU through rerun_step_graphs) checked against the eager step it replaces.
#include "core/expect_error.h"
#include "core/temp_dir.h"
#include "core/train/device_crops.h"
#include "core/train/flat_buffers.h"
#include "core/train/sharded_checkpoint.h"
#include "core/train/trainer.h"
#include "core/train_fixtures.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

namespace {

using namespace cm::train;
using cm::ErrorCode;
using cm::testing::noise_photos;
using cm::testing::trajectory;
using cm::testing::trajectory_config;
using cm::testing::trajectory_gap;

const c10::Device kCpu(c10::kCPU);

// The bounds of rounding on the CPU: a step's loss and |g| within 10⁻⁴, the weights within 10⁻³
// (Adam's sign-like first steps spread rounding; RAdam's momentum steps do not, and must agree
// within 10⁻⁵).
void expect_same_run(const cm::testing::TrajectoryGap& gap, double weights = 1e-3) {
  EXPECT_LT(gap.losses, 1e-4);
  EXPECT_LT(gap.weights, weights);
}

std::shared_ptr<DeviceCropSampler> photos(std::uint64_t seed = 4) {
  CropOptions o;
  o.size = 8;
  return std::make_shared<DeviceCropSampler>(noise_photos(seed), o, 11, kCpu);
}

TEST(FlatLayout, ViewsAliasOneAlignedBufferInEachTensorsOwnLayout) {
  const at::Tensor a = at::randn({3, 5}), b = at::randn({2, 4, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast), c = at::randn({7});
  const FlatLayout layout({a, b, c});
  EXPECT_EQ(layout.numel(), 4 * FlatLayout::kAlign);  // 15, 72 and 7 values: 1 + 2 + 1 blocks
  const at::Tensor flat = layout.gather({a, b, c}, at::TensorOptions());
  const std::vector<at::Tensor> views = layout.views(flat);
  EXPECT_TRUE(at::equal(views[0], a));
  EXPECT_TRUE(at::equal(views[1], b));
  EXPECT_TRUE(views[1].is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_NEAR(flat.abs().sum().item<double>(), (a.abs().sum() + b.abs().sum() + c.abs().sum()).item<double>(), 1e-4);  // gaps: zeros
  views[2].fill_(1);
  EXPECT_EQ(flat.narrow(0, 3 * FlatLayout::kAlign, 7).sum().item<double>(), 7.0);

  // rebind: whoever holds the tensors now reads and writes the buffer.
  std::vector<at::Tensor> held = {a.clone(), b.clone(), c.clone()};
  const at::Tensor other = at::zeros({layout.numel()});
  layout.rebind(held, other);
  EXPECT_TRUE(at::equal(held[1], b));
  other.add_(1);
  EXPECT_TRUE(at::equal(held[1], b + 1));
  EXPECT_THROW(FlatLayout({at::randn({4, 4}).t().narrow(0, 0, 2)}), cm::Error);  // not dense
}

TEST(FusedStep, GivesThePlainStepsLossesWeightsAndEma) {
  for (OptimizerKind kind : {OptimizerKind::Adam, OptimizerKind::RAdam}) {
    for (bool channels_last : {false, true}) {
      const TrainConfig c = trajectory_config(kind);
      Trainer plain(c, photos(), kCpu), fused(c, photos(), kCpu);
      StepSpeed speed;
      speed.fused = true;
      speed.channels_last = channels_last;
      fused.set_speed(speed);
      EXPECT_EQ(fused.speed_report(), channels_last ? "fused, channels-last" : "fused");
      const auto a = trajectory(plain, 9), b = trajectory(fused, 9);
      const auto gap = trajectory_gap(a, b);
      std::printf("[ fused vs plain, %s%s, 9 steps: losses and |g| within %.2g, weights within %.2g ]\n", to_string(kind),
                  channels_last ? ", NHWC" : "", gap.losses, gap.weights);
      expect_same_run(gap, kind == OptimizerKind::RAdam ? 1e-5 : 1e-3);
      // Nine steps of RAdam stay in its momentum phase (ρ_t ≤ 5 until t = 6) and pass into the rectified one.
    }
  }
}

TEST(FusedStep, ServesCtAndEdmToo) {
  for (TrainMode mode : {TrainMode::Ct, TrainMode::Edm}) {
    TrainConfig c = cm::testing::tiny_config(mode, 50);
    c.architecture.dropout = 0.1;
    Trainer plain(c, photos(), kCpu), fused(c, photos(), kCpu);
    fused.set_speed(parse_step_kind("fused"));
    SCOPED_TRACE(to_string(mode));
    expect_same_run(trajectory_gap(trajectory(plain, 5), trajectory(fused, 5)));
  }
}

// A data source whose batch at one key is NaN: the step there must change nothing.
class PoisonedSource final : public DataSource {
 public:
  PoisonedSource(std::shared_ptr<DataSource> inner, std::uint64_t bad) : inner_(std::move(inner)), bad_(bad) {}
  at::Tensor batch(std::uint64_t key, int64_t n) const override { return batch_at(key, n, image_size()); }
  at::Tensor batch_at(std::uint64_t key, int64_t n, int size) const override {
    const at::Tensor b = inner_->batch_at(key, n, size);
    return key == bad_ ? at::full_like(b, NAN) : b;
  }
  int image_size() const override { return inner_->image_size(); }

 private:
  std::shared_ptr<DataSource> inner_;
  std::uint64_t bad_;
};

TEST(FusedStep, ANonFiniteStepChangesNothingAndIsCounted) {
  TrainConfig c = trajectory_config(OptimizerKind::RAdam);
  c.crop_sizes.clear();
  Trainer t(c, std::make_shared<PoisonedSource>(photos(), 2), kCpu);
  t.set_speed(parse_step_kind("fused"));
  t.step(), t.step();
  t.take_window();
  const cm::testing::TempDir dir;
  t.save(dir / "before");
  t.step();  // key 2: NaN photos
  t.save(dir / "after");
  const StepWindow w = t.take_window();
  EXPECT_EQ(w.steps, 1);
  EXPECT_EQ(w.skipped, 1);
  EXPECT_EQ(w.finite, 0);
  EXPECT_TRUE(std::isnan(w.mean_loss()));
  // Weights, EMA, moments and the optimizer's step count: all as they were.
  const Checkpoint before = read_checkpoint(dir / "before"), after = read_checkpoint(dir / "after");
  EXPECT_EQ(after.state.at("optimizer_steps"), before.state.at("optimizer_steps"));
  ASSERT_EQ(before.tensors.size(), after.tensors.size());
  for (std::size_t i = 0; i < before.tensors.size(); ++i)
    ASSERT_TRUE(at::equal(before.tensors[i].second, after.tensors[i].second)) << before.tensors[i].first;
  t.step();
  const StepWindow next = t.take_window();
  EXPECT_EQ(next.skipped, 0);
  EXPECT_TRUE(std::isfinite(next.mean_loss()));
}

TEST(FusedStep, CheckpointsCarryItsStateToThePlainStepAndBack) {
  const TrainConfig c = trajectory_config(OptimizerKind::RAdam);
  Trainer fused(c, photos(), kCpu), reference(c, photos(), kCpu);
  fused.set_speed(parse_step_kind("fused"));
  trajectory(fused, 4);
  trajectory(reference, 4);
  const cm::testing::TempDir dir;
  fused.save(dir.path() / "cp");
  Trainer resumed(c, photos(), kCpu);
  resumed.restore(read_checkpoint(dir.path() / "cp"));
  EXPECT_EQ(resumed.steps_done(), 4);
  // Switching kinds keeps everything too: plain → fused here, fused → plain in the first trainer.
  resumed.set_speed(parse_step_kind("fused"));
  fused.set_speed(parse_step_kind("plain"));
  expect_same_run(trajectory_gap(trajectory(reference, 3), trajectory(resumed, 3)));
  Trainer again(c, photos(), kCpu);
  trajectory(again, 4);
  expect_same_run(trajectory_gap(trajectory(again, 3), trajectory(fused, 3)));
}

TEST(FusedStep, GraphsReplayAfterTwoEagerStepsOfEachCropSizeAndGiveTheSameRun) {
  const TrainConfig c = trajectory_config(OptimizerKind::Adam);
  Trainer plain(c, photos(), kCpu), graphed(c, photos(), kCpu);
  StepSpeed speed = parse_step_kind("graph");
  speed.channels_last = true;
  graphed.set_speed(speed, rerun_step_graphs());
  EXPECT_NE(graphed.speed_report().find("CUDA graphs after 2 eager steps"), std::string::npos) << graphed.speed_report();
  // Crops 8, 8, 16 in turn: 8 px is captured at its third step (step 3), 16 px at step 8.
  const auto a = trajectory(plain, 12), b = trajectory(graphed, 12);
  EXPECT_EQ(graphed.speed_report(), "graph, channels-last; 8 px: CUDA graphs; 16 px: CUDA graphs");
  expect_same_run(trajectory_gap(a, b));

  // Without graphs to make (the CPU), the fused step runs eagerly and says why.
  Trainer cpu(c, photos(), kCpu);
  cpu.set_speed(parse_step_kind("graph"));
  EXPECT_EQ(cpu.speed_report(), "graph; no CUDA graphs: CUDA graphs need a CUDA device");
}

// Stand-ins for CUDA graphs that go wrong: one ignores the dropout generator's reseeding (its
// masks are not the eager pass's), one cannot be captured at all.
class IgnoresTheSeed final : public StepGraph {
 public:
  void capture(const std::function<void()>& body, StepGraph*) override { body_ = body; }
  void replay() override {
    at::Generator gen = at::globalContext().defaultGenerator(c10::Device(at::kCPU));
    gen.set_current_seed(12345);
    body_();
  }

 private:
  std::function<void()> body_;
};

class CannotCapture final : public StepGraph {
 public:
  void capture(const std::function<void()>&, StepGraph*) override { throw std::runtime_error("operation not permitted when stream is capturing"); }
  void replay() override { ADD_FAILURE() << "a graph that was never captured was replayed"; }
};

TEST(FusedStep, AGraphThatDisagreesWithTheEagerStepOrFailsIsDroppedAndTheEagerResultKept) {
  const TrainConfig c = trajectory_config(OptimizerKind::Adam);
  Trainer plain(c, photos(), kCpu), wrong(c, photos(), kCpu), failing(c, photos(), kCpu);
  wrong.set_speed(parse_step_kind("graph"), [] { return std::make_unique<IgnoresTheSeed>(); });
  failing.set_speed(parse_step_kind("graph"), [] { return std::make_unique<CannotCapture>(); });
  const auto a = trajectory(plain, 12), b = trajectory(wrong, 12), f = trajectory(failing, 12);
  expect_same_run(trajectory_gap(a, b));
  expect_same_run(trajectory_gap(a, f));
  const std::string report = wrong.speed_report();
  // Other masks move |g| by ~1 % here, and the loss by less than its bound.
  EXPECT_NE(report.find("8 px: eager (its |g| "), std::string::npos) << report;
  EXPECT_NE(report.find("16 px: eager (its |g| "), std::string::npos) << report;
  EXPECT_NE(failing.speed_report().find("16 px: eager (the capture failed: operation not permitted"), std::string::npos)
      << failing.speed_report();
}

TEST(FusedStep, IsRefusedForDistillationAndDataParallelism) {
  EXPECT_CM_ERROR(parse_step_kind("warp"), ErrorCode::BadArgument, "plain, fused or graph");
  const TrainConfig c = cm::testing::tiny_config(TrainMode::Ect, 10);
  class OneOfTwo final : public Collective {
    int rank() const override { return 0; }
    int world() const override { return 2; }
    std::string backend() const override { return "stand-in"; }
    void allreduce_sum(std::vector<at::Tensor>&) override {}
    void broadcast(std::vector<at::Tensor>&, int) override {}
  };
  Trainer fused(c, photos(), kCpu), distributed(c, photos(), kCpu);
  fused.set_speed(parse_step_kind("fused"));
  EXPECT_CM_ERROR(fused.distribute(std::make_shared<OneOfTwo>()), ErrorCode::BadArgument, "one process");
  distributed.distribute(std::make_shared<OneOfTwo>());
  EXPECT_CM_ERROR(distributed.set_speed(parse_step_kind("fused")), ErrorCode::BadArgument, "one process");
  distributed.set_speed(parse_step_kind("plain"));  // channels-last alone stays possible

  TrainConfig cd = cm::testing::tiny_config(TrainMode::Cd, 10);
  Trainer student(cd, std::make_shared<cm::testing::GaussianSource>(8), kCpu,
                  std::make_shared<cm::model::GaussianDenoiser>(cm::testing::kDataMean, cm::testing::kDataStd, cm::testing::analytic_spec(8)));
  EXPECT_CM_ERROR(student.set_speed(parse_step_kind("graph")), ErrorCode::BadArgument, "distillation takes the plain step");
}

}  // namespace
