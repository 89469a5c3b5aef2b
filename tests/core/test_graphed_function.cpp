// GraphedFunction's bookkeeping on the CPU, with graphs that record a body and run it again: when
// a shape is recorded, that a replay computes f of its own inputs (copied into the graph's fixed
// tensors), how many graphs are kept, and what happens when recording fails or is stopped. The CUDA
// graphs themselves are checked on a GPU (tests/cuda/test_engine_on_device.cpp).
#include "core/expect_error.h"
#include "core/train_fixtures.h"

#include "core/model/graphed_function.h"
#include "core/base/cancel.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>

namespace cm::model {
namespace {

std::shared_ptr<const UNetFunction> small_function() {
  const UNetConfig config = testing::tiny_unet(8);
  StateDict weights;
  for (const ParameterSpec& s : unet_parameter_specs(config)) weights.emplace_back(s.name, at::randn(s.shape) * 0.05);
  return std::make_shared<UNetFunction>(std::make_shared<UNet>(config, weights), Parameterization::Consistency, ModelSpec{});
}

at::Tensor some_x(int64_t batch, int64_t side) { return at::randn({batch, 3, side, side}); }
at::Tensor sigmas(int64_t batch) { return at::rand({batch}) * 10 + 0.1; }

// Graphs that cannot be recorded, as a device that refuses an operation inside a capture.
class Refusing final : public DeviceGraph {
 public:
  void record(const std::function<void()>&) override { throw std::runtime_error("operation not permitted when stream is capturing"); }
  void run() override { FAIL() << "a graph that was never recorded ran"; }
};

TEST(GraphedFunction, RecordsAShapeOnItsSecondEvaluationAndReplaysItWithNewInputs) {
  const auto f = small_function();
  const GraphedFunction graphed(f, rerunning_device_graphs());
  for (int call = 0; call < 4; ++call) {
    const at::Tensor x = some_x(2, 8), s = sigmas(2);
    EXPECT_TRUE(at::equal(graphed(x, s), (*f)(x, s))) << "call " << call;
  }
  EXPECT_EQ(graphed.recordings(), 1);
  EXPECT_EQ(graphed.replays(), 3) << "the first call is eager, then every call replays";
  EXPECT_TRUE(graphed.why_not().empty());
}

TEST(GraphedFunction, ShapesThatTakeTurnsAreNotRecorded) {
  const auto f = small_function();
  const GraphedFunction graphed(f, rerunning_device_graphs());
  for (int i = 0; i < 3; ++i)
    for (const int64_t side : {8, 16}) (void)graphed(some_x(1, side), sigmas(1));
  EXPECT_EQ(graphed.recordings(), 0) << "each would be recorded and dropped before it paid off";
  (void)graphed(some_x(1, 16), sigmas(1));
  EXPECT_EQ(graphed.recordings(), 1) << "16×16 twice in a row";
}

TEST(GraphedFunction, AReplaysOutputIsItsOwnNotTheNextOnes) {
  const auto f = small_function();
  const GraphedFunction graphed(f, rerunning_device_graphs());
  graphed.prepare(1, 8, 8);
  const at::Tensor x1 = some_x(1, 8), x2 = some_x(1, 8), s = sigmas(1);
  const at::Tensor first = graphed(x1, s);
  const at::Tensor kept = first.clone();
  (void)graphed(x2, s);
  EXPECT_TRUE(at::equal(first, kept)) << "the second replay wrote into the first result";
}

TEST(GraphedFunction, PrepareRecordsAtOnceAndEachShapeHasItsOwnGraph) {
  const auto f = small_function();
  const GraphedFunction graphed(f, rerunning_device_graphs(), /*max_shapes=*/2);
  graphed.prepare(1, 8, 8);
  EXPECT_EQ(graphed.recordings(), 1);
  const at::Tensor x = some_x(1, 8), s = sigmas(1);
  EXPECT_TRUE(at::equal(graphed(x, s), (*f)(x, s)));
  EXPECT_EQ(graphed.replays(), 2) << "prepare's run and this call";

  // A window of another size, then a third shape: only two graphs are kept, the least recent goes.
  for (const int64_t side : {16, 24})
    for (int i = 0; i < 2; ++i) (void)graphed(some_x(1, side), sigmas(1));
  EXPECT_EQ(graphed.recordings(), 3);
  (void)graphed(x, s);  // 8×8 was dropped: eager again, then recorded again
  (void)graphed(x, s);
  EXPECT_EQ(graphed.recordings(), 4);
}

TEST(GraphedFunction, WithRecordingNotAllowedNewShapesRunEagerlyAndRecordedOnesStillReplay) {
  const auto f = small_function();
  const GraphedFunction graphed(f, rerunning_device_graphs());
  graphed.allow_recording(false);
  graphed.prepare(1, 8, 8);  // the warm-up records all the same
  EXPECT_EQ(graphed.recordings(), 1);
  const at::Tensor s = sigmas(1);
  for (int i = 0; i < 3; ++i) (void)graphed(some_x(1, 16), s);
  EXPECT_EQ(graphed.recordings(), 1) << "an applied edit's windows are not recorded";
  const at::Tensor x = some_x(1, 8);
  EXPECT_TRUE(at::equal(graphed(x, s), (*f)(x, s)));
  EXPECT_EQ(graphed.replays(), 2) << "the warm-up's run and this one";
}

TEST(GraphedFunction, AShapeThatCannotBeRecordedRunsAsBeforeAndSaysWhy) {
  const auto f = small_function();
  int attempts = 0;
  const GraphedFunction graphed(f, [&attempts] {
    ++attempts;
    return std::make_unique<Refusing>();
  });
  for (int call = 0; call < 3; ++call) {
    const at::Tensor x = some_x(1, 8), s = sigmas(1);
    EXPECT_TRUE(at::equal(graphed(x, s), (*f)(x, s)));
  }
  EXPECT_EQ(attempts, 1) << "a shape that failed is not tried again";
  EXPECT_EQ(graphed.recordings(), 0);
  EXPECT_NE(graphed.why_not().find("not permitted"), std::string::npos) << graphed.why_not();
}

TEST(GraphedFunction, AShapeThatRanOutOfMemoryWhileRecordingIsRecordedWhenItFits) {
  const auto f = small_function();
  int attempts = 0;
  const GraphedFunction graphed(f, [&attempts]() -> std::unique_ptr<DeviceGraph> {
    if (attempts++ == 0) {
      struct OutOfMemory final : DeviceGraph {
        void record(const std::function<void()>&) override { throw std::runtime_error("CUDA out of memory. Tried to allocate 2.00 GiB"); }
        void run() override {}
      };
      return std::make_unique<OutOfMemory>();
    }
    return rerunning_device_graphs()();
  });
  const at::Tensor x = some_x(1, 8), s = sigmas(1);
  for (int call = 0; call < 3; ++call) EXPECT_TRUE(at::equal(graphed(x, s), (*f)(x, s))) << "call " << call;
  EXPECT_EQ(attempts, 2) << "recorded again on the evaluation after the one that ran out";
  EXPECT_EQ(graphed.recordings(), 1);
}

// Graphs whose recording runs the body, as a CUDA capture runs f's host code (and with it the stop
// check between blocks), and whose run does nothing more.
class RunsWhileRecording final : public DeviceGraph {
 public:
  void record(const std::function<void()>& body) override { body(); }
  void run() override {}
};

TEST(GraphedFunction, AStopDuringRecordingIsACancellationAndTheShapeIsRecordedLater) {
  const auto f = small_function();
  const GraphedFunction graphed(f, [] { return std::make_unique<RunsWhileRecording>(); });
  const at::Tensor x = some_x(1, 8), s = sigmas(1);
  (void)graphed(x, s);
  {
    const cm::CancelScope stop([] { return true; });
    EXPECT_CM_ERROR((void)graphed(x, s), ErrorCode::Cancelled, "");
  }
  EXPECT_TRUE(graphed.why_not().empty()) << "a stop is not a failure";
  EXPECT_EQ(graphed.recordings(), 0);
  EXPECT_TRUE(at::equal(graphed(x, s), (*f)(x, s)));
  EXPECT_EQ(graphed.recordings(), 1) << "recorded on the next evaluation";
}

TEST(GraphedFunction, ChecksEveryCallAsFDoes) {
  const GraphedFunction graphed(small_function(), rerunning_device_graphs());
  EXPECT_CM_ERROR((void)graphed(some_x(1, 8), at::full({1}, 1000.0f)), ErrorCode::BadArgument, "sigma must lie in");
  EXPECT_CM_ERROR((void)graphed(at::randn({1, 4, 8, 8}), sigmas(1)), ErrorCode::ShapeMismatch, "channels");
}

TEST(GraphedFunction, WithoutGraphsEveryEvaluationIsThePlainOne) {
  const auto f = small_function();
  std::string why;
  const GraphedFunction graphed(f, cuda_device_graphs(c10::Device(c10::kCPU), &why));
  EXPECT_FALSE(graphed.enabled());
  EXPECT_NE(why.find("CUDA device"), std::string::npos) << why;
  graphed.prepare(1, 8, 8);
  const at::Tensor x = some_x(1, 8), s = sigmas(1);
  EXPECT_TRUE(at::equal(graphed(x, s), (*f)(x, s)));
  EXPECT_EQ(graphed.recordings(), 0);
}

}  // namespace
}  // namespace cm::model
