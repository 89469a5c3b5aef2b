// The engine as the editor drives it for a GPU user: starting with the editor's default settings
// (device and precision "auto": fp16 on a GPU, the first preview replaying the warm-up's graph),
// switching devices in Settings ▸ Device (ui/main_window.cpp makes a new engine and drops the old
// one mid-job), and a selection too large for the device's memory (a message that says what to do,
// and the worker goes on). The CPU twin runs the same steps on the CPU.
#include "core/analytic_model.h"
#include "cuda/cuda_memory.h"
#include "cuda/on_device.h"

#include "core/engine/engine.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

namespace cm::engine {
namespace {

// A live preview as the editor sends it while painting, on a photo the model's size with the
// work size pinned to the model's, so that its shape is the warm-up's on every device.
EditRequest preview(std::uint64_t seed, int64_t side = 64) {
  EditRequest r;
  r.kind = edit::EditKind::Inpaint;
  r.preview = true;
  r.use = EditRequest::Use::Draft;
  r.image = (testing::smooth_photo(side, side) + 0.2 * at::sin(at::arange(side, at::kFloat) * 0.7).view({1, 1, 1, side})).clamp(-1, 1);
  r.mask = testing::box_mask(side, side / 4, side / 3, side / 3, side / 3);
  r.region.max_work_size = 0;
  r.seed = seed;
  return r;
}

EditResult finished(Engine& e, const EditRequest& r) {
  EditResult result = e.submit(r).get();
  EXPECT_EQ(result.status, JobStatus::Done) << result.error;
  return result;
}

class EditorOnDevice : public testing::OnDevice {
 protected:
  // What the editor starts when nothing was chosen (Settings ▸ Device and Precision on "auto"); the
  // twin pins the CPU, which "auto" picks on a machine without a GPU.
  EngineOptions editor_defaults() const {
    EngineOptions options;
    if (!on_cuda()) options.device = "cpu";
    return options;
  }
  std::unique_ptr<Engine> start(EngineOptions options) {
    auto e = std::make_unique<Engine>(options);
    info = e->load_model(model::builtin_model_path()).get();
    return e;
  }
  ModelInfo info;
};

TEST_P(EditorOnDevice, StartsInHalfPrecisionAndTheFirstPreviewReplaysTheWarmUpsGraph) {
  const auto e = start(editor_defaults());
  EXPECT_EQ(info.device, on_cuda() ? "cuda:0" : "cpu");
  EXPECT_EQ(info.precision, on_cuda() ? "fp16" : "fp32") << "fp16 by default on a GPU";
  EXPECT_EQ(info.warm_up_ms > 0, on_cuda()) << "the warm-up runs on CUDA only";
  if (on_cuda() && !info.graphs) {  // a build without CUDA graphs (the campaign's fallback): the rest would not say more
    std::printf("no graphs: %s\n", info.no_graphs_because.c_str());
    GTEST_SKIP() << "this build or device replays no graphs: " << info.no_graphs_because;
  }
  EXPECT_EQ(info.graphs, on_cuda()) << info.no_graphs_because;
  const EngineStats warm = e->stats();
  EXPECT_EQ(warm.graph_recordings, on_cuda() ? 1 : 0) << "the warm-up records the model's size";

  const EditResult first = finished(*e, preview(1));
  const EngineStats after = e->stats();
  EXPECT_EQ(after.graph_recordings, warm.graph_recordings) << "nothing new to record";
  EXPECT_EQ(after.graph_replays, warm.graph_replays + (on_cuda() ? 1 : 0)) << "the one-step preview replayed the graph";

  // The graph computes what the kernels queued one by one do.
  EngineOptions plain_options = editor_defaults();
  plain_options.cuda_graphs = false;
  const auto plain = start(plain_options);
  EXPECT_FALSE(info.graphs);
  const double error = testing::relative_l2(first.image, finished(*plain, preview(1)).image);
  testing::report("first preview, graph vs kernels one by one, on " + GetParam(), error);
  EXPECT_LE(error, on_cuda() ? 1e-3 : 0.0);
}

// Settings ▸ Device: the old engine is dropped while its preview runs, a new one starts on the
// other device, and back. The same preview comes out on each (within the precision's bound) and
// the dropped one's job ends without a crash; on CUDA, what stays allocated is printed.
TEST_P(EditorOnDevice, SwitchingDevicesGivesTheSamePreviewAndLetsTheOldDeviceGo) {
  const std::int64_t before = on_cuda() ? testing::cuda_allocated_bytes() : 0;
  EngineOptions here = editor_defaults(), cpu;
  cpu.device = "cpu";
  if (!on_cuda()) here.precision = "bf16";  // the twin switches between two CPU engines that differ
  auto e = start(here);
  const at::Tensor on_device = finished(*e, preview(3)).image;
  std::future<EditResult> dropped = e->submit(preview(4));
  e = start(cpu);  // as EditController::configureEngine does: the old engine goes mid-job
  const EditResult last = dropped.get();
  EXPECT_TRUE(last.status == JobStatus::Done || last.status == JobStatus::Cancelled) << last.error;
  if (on_cuda() && before >= 0)  // reported, not bounded: cuBLAS keeps a workspace per stream it has served
    testing::report("device memory still allocated after switching to the CPU (MB)",
                    double(testing::cuda_allocated_bytes() - before) / 1e6);
  const at::Tensor on_cpu = finished(*e, preview(3)).image;
  const double apart = testing::relative_l2(on_device, on_cpu);
  testing::report("the same preview, " + GetParam() + " (" + here.precision + ") vs cpu (fp32)", apart);
  EXPECT_LE(apart, 0.02);
  e = start(here);
  const double again = testing::relative_l2(finished(*e, preview(3)).image, on_device);
  testing::report("the same preview on " + GetParam() + " after switching back", again);
  EXPECT_LE(again, on_cuda() ? 1e-3 : 0.0);
}

// An edit of a large photo when the device has nothing left: it fails with a message that says
// what ran out and what to do, and the same edit runs once memory is back. (A smooth start and a
// small hole keep the CPU twin's second run short; what fails first is the photo-sized work.)
TEST_P(EditorOnDevice, AnEditTooLargeForTheMemorySaysWhatToDoAndTheWorkerGoesOn) {
  if (on_cuda() && !testing::can_cap_cuda_memory()) GTEST_SKIP() << "this build has no CUDA caching allocator to cap";
  const auto e = start(editor_defaults());
  (void)finished(*e, preview(5));  // threads, kernels and caches set up before memory is scarce
  EditRequest large = preview(6, 1536);
  large.preview = false;
  large.use = EditRequest::Use::Final;  // as cmedit-cli asks: the edit's own work size
  large.region.max_work_size = -1;
  large.region.fill = edit::region::HoleFill::Smooth;
  large.mask = testing::box_mask(1536, 700, 700, 96, 96);
  EditResult starved;
  {
    struct Uncap {
      bool cuda;
      ~Uncap() { cuda ? testing::uncap_cuda_memory() : testing::uncap_cpu_memory(); }
    } uncap{on_cuda()};
    on_cuda() ? testing::cap_cuda_memory(0) : testing::cap_cpu_memory(0);
    starved = e->submit(large).get();
  }
  ASSERT_EQ(starved.status, JobStatus::Failed) << "it fitted after all";
  EXPECT_EQ(starved.error_code, ErrorCode::Device) << starved.error;
  EXPECT_NE(starved.error.find("ran out of memory"), std::string::npos) << starved.error;
  EXPECT_NE(starved.error.find("smaller region"), std::string::npos) << starved.error;
  if (on_cuda()) {
    EXPECT_NE(starved.error.find("Settings ▸ Device"), std::string::npos) << starved.error;
  }
  std::printf("the message: %s\n", starved.error.c_str());
  const EditResult later = e->submit(large).get();
  EXPECT_EQ(later.status, JobStatus::Done) << "the worker goes on: " << later.error;
}

CMEDIT_ON_CPU_AND_CUDA(EditorOnDevice);

}  // namespace
}  // namespace cm::engine
