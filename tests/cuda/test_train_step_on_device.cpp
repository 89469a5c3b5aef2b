// The campaign's training step on each device (on_device.h): `graph` — the fused step, replayed as
// CUDA graphs where there are any — must give the plain step's trajectory: the same loss and |g| at
// every step, the same weights and EMA at the end. ECT crossing from pretraining into its stages,
// dropout, clipping, a warm-up and two crop sizes (tests/core/train_fixtures.h). On the CPU there
// are no graphs (the fused step runs eagerly, and says so); on CUDA both crop sizes must be
// captured, each capture having passed the fused step's own check against the eager step.
#include "core/train/device_crops.h"
#include "core/train/trainer.h"
#include "core/train_fixtures.h"
#include "cuda/on_device.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace {

using namespace cm::train;
using cm::testing::report;
using cm::testing::trajectory;
using cm::testing::trajectory_config;
using cm::testing::trajectory_gap;

class TrainStepOnDevice : public cm::testing::OnDevice {
 protected:
  void TearDown() override { at::globalContext().setDeterministicCuDNN(false); }

  std::shared_ptr<DeviceCropSampler> photos() const {
    CropOptions o;
    o.size = 8;
    return std::make_shared<DeviceCropSampler>(cm::testing::noise_photos(4), o, 11, device());
  }

  // Twelve steps plain and twelve graphed from the same start: 8-px steps replay graphs from
  // step 3 on, 16-px steps from step 8 on.
  cm::testing::TrajectoryGap compare(const TrainConfig& c, const std::string& what) {
    Trainer plain(c, photos(), device()), graphed(c, photos(), device());
    graphed.set_speed(parse_step_kind("graph"));
    const auto gap = trajectory_gap(trajectory(plain, 12), trajectory(graphed, 12));
    const std::string said = graphed.speed_report();
    std::printf("%s on %s: %s\n", what.c_str(), GetParam().c_str(), said.c_str());
    report("graphed vs plain, " + what + ", largest loss or |g| gap on " + GetParam(), gap.losses);
    report("graphed vs plain, " + what + ", weights gap on " + GetParam(), gap.weights);
    if (on_cuda())
      EXPECT_EQ(said, "graph; 8 px: CUDA graphs; 16 px: CUDA graphs");
    else
      EXPECT_EQ(said, "graph; no CUDA graphs: CUDA graphs need a CUDA device");
    return gap;
  }
};

TEST_P(TrainStepOnDevice, TheGraphedStepGivesThePlainStepsTrajectory) {
  // float32 with deterministic convolutions: only rounding separates the runs. Adam, whose first
  // steps are sign-like, shows a wrong dropout mask or a stale input in the loss at once (the
  // CPU twin of a graph that ignores the reseeding moves a loss by 3 %); its weights spread with
  // rounding, so they are held to 10⁻² only.
  at::globalContext().setDeterministicCuDNN(true);
  TrainConfig exact = trajectory_config(OptimizerKind::Adam);
  exact.bf16 = false;
  const auto gap = compare(exact, "fp32 Adam");
  EXPECT_LT(gap.losses, on_cuda() ? 1e-3 : 1e-4);
  EXPECT_LT(gap.weights, 1e-2);

  // The campaign's own settings: RAdam and bf16 autocast (CUDA only; the CPU runs float32).
  TrainConfig campaign = trajectory_config(OptimizerKind::RAdam);
  const auto bf16 = compare(campaign, "bf16 RAdam");
  EXPECT_LT(bf16.losses, on_cuda() ? 2e-2 : 1e-4);
  EXPECT_LT(bf16.weights, on_cuda() ? 1e-2 : 1e-5);
}

CMEDIT_ON_CPU_AND_CUDA(TrainStepOnDevice);

}  // namespace
