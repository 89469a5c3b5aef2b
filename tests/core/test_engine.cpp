#include "core/analytic_model.h"
#include "core/engine/device.h"
#include "core/engine/edit_registry.h"
#include "core/engine/engine.h"
#include "core/engine/execute.h"
#include "core/model/model_loader.h"
#include "core/sampling/multistep.h"
#include "core/temp_dir.h"
#include "core/test_model_dir.h"
#include "core/expect_error.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <torch/version.h>

#include <atomic>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

namespace {

using cm::ErrorCode;
using cm::engine::choose_device;
using cm::engine::cuda_status;

TEST(Device, CpuIsAlwaysAvailable) { EXPECT_TRUE(choose_device("cpu").is_cpu()); }

TEST(Device, AutoPicksCudaExactlyWhenItIsUsable) {
  EXPECT_EQ(choose_device("auto").is_cuda(), cuda_status().usable());
}

TEST(Device, CudaWithoutAUsableGpuSaysWhy) {
  if (cuda_status().usable()) GTEST_SKIP() << "a CUDA device is present";
  const std::string why = cuda_status().built_in ? "no CUDA device found" : "built without CUDA";
  EXPECT_CM_ERROR(choose_device("cuda"), ErrorCode::Device, why);
  EXPECT_CM_ERROR(choose_device("cuda:0"), ErrorCode::Device, why);
}

TEST(Device, CudaIndexBeyondTheDevicesIsRefused) {
  if (!cuda_status().usable()) GTEST_SKIP() << "needs a CUDA device";
  EXPECT_TRUE(choose_device("cuda:0").is_cuda());
  EXPECT_CM_ERROR(choose_device("cuda:" + std::to_string(cuda_status().device_count)), ErrorCode::Device,
                  "CUDA device(s) found");
}

TEST(Device, UnknownNamesAreBadArguments) {
  EXPECT_CM_ERROR(choose_device("gpu"), ErrorCode::BadArgument, "unknown device 'gpu'");
  EXPECT_CM_ERROR(choose_device("cuda:x"), ErrorCode::BadArgument, "bad device 'cuda:x'");
  EXPECT_CM_ERROR(choose_device("cuda:"), ErrorCode::BadArgument, "bad device");
  EXPECT_CM_ERROR(choose_device("cuda:-1"), ErrorCode::BadArgument, "bad device");
}

TEST(Device, TorchComponentReportsVersionAndCuda) {
  const cm::Component c = cm::engine::torch_component();
  EXPECT_EQ(c.name, "LibTorch");
  EXPECT_EQ(c.version, TORCH_VERSION);
  EXPECT_NE(c.note.find("CUDA"), std::string::npos) << c.note;
}

}  // namespace

// ---- the engine -----------------------------------------------------------------------------

namespace {

using namespace cm::engine;

TEST(EngineChoices, ThreadsLeaveACoreToTheUi) {
  EXPECT_EQ(choose_cpu_threads(1), 1);
  EXPECT_EQ(choose_cpu_threads(2), 1);
  EXPECT_EQ(choose_cpu_threads(16), 15);
}

TEST(EngineChoices, Precision) {
  EXPECT_EQ(choose_precision("auto", c10::Device(c10::kCPU)), at::kFloat);
  EXPECT_EQ(choose_precision("bf16", c10::Device(c10::kCPU)), at::kBFloat16);
  EXPECT_CM_ERROR(choose_precision("fp16", c10::Device(c10::kCPU)), ErrorCode::Unsupported, "fp16 needs a CUDA device");
  EXPECT_CM_ERROR(choose_precision("fp8", c10::Device(c10::kCPU)), ErrorCode::BadArgument, "unknown precision 'fp8'");
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_GOLDEN();
    cm::testing::write_golden_model_dir(dir.path() / "model");
    EngineOptions options;
    options.device = "cpu";
    engine = std::make_unique<Engine>(options);
    info = engine->load_model(dir.path() / "model").get();
  }
  static EditRequest generate(int steps, bool preview = false, uint64_t seed = 1) {
    EditRequest r;
    r.kind = cm::edit::EditKind::Generate;
    r.steps = steps;
    r.seed = seed;
    r.preview = preview;
    return r;
  }
  cm::testing::TempDir dir;
  std::unique_ptr<Engine> engine;
  ModelInfo info;
};

TEST_F(EngineTest, LoadsAModelAndRunsAJobLikeTheLibraryDoes) {
  EXPECT_EQ(info.name, "golden-unet-a");
  EXPECT_EQ(info.image_size, 32);
  EXPECT_EQ(info.parameters, 998755);
  EditRequest request = generate(3);
  request.batch = 2;
  const EditResult r = engine->submit(request).get();
  ASSERT_EQ(r.status, JobStatus::Done) << r.error;
  EXPECT_EQ(r.image.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_EQ(r.timings.evaluations, 3);
  EXPECT_GT(r.timings.model_ms, 0);
  EXPECT_LE(r.timings.model_ms, r.timings.total_ms);
  // The same request through the library gives the same pixels.
  const cm::model::LoadedModel m = cm::model::load_model(dir.path() / "model");
  const at::Tensor direct = cm::sampling::generate(*m.function, 2, 1, cm::sampling::karras_schedule(3, 80),
                                                   at::full({2}, 1 % 10, at::kLong));
  EXPECT_TRUE(at::equal(r.image, direct));
  EXPECT_EQ(engine->stats().jobs_done, 1);
  EXPECT_GT(engine->stats().memory_bytes, 0);
}

// Every finished edit leaves its cost in the log (the editor's log file takes debug lines), so a
// report of a slow edit says where its time went.
TEST_F(EngineTest, EachFinishedJobLogsWhatItCost) {
  std::ostringstream lines;
  const auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
  capture->set_level(spdlog::level::debug);
  spdlog::set_default_logger(capture);
  EditRequest request = generate(2);
  request.use = EditRequest::Use::Interactive;
  const EditResult r = engine->submit(request).get();
  spdlog::set_default_logger(previous);
  ASSERT_EQ(r.status, JobStatus::Done) << r.error;
  const std::string expected = "job " + std::to_string(r.id) + " (generate, interactive) done in ";
  EXPECT_NE(lines.str().find(expected), std::string::npos) << lines.str();
  EXPECT_NE(lines.str().find(": 2 evaluations, the model "), std::string::npos) << lines.str();
}

TEST_F(EngineTest, ANewerPreviewStopsTheRunningOneAtItsNextStep) {
  std::promise<void> started;
  std::atomic<int> steps_seen{0};
  JobCallbacks watch;
  watch.estimates = true;
  watch.on_progress = [&](const Progress& p) {
    if (steps_seen++ == 0) started.set_value();
    EXPECT_EQ(p.estimate.sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
    EXPECT_TRUE(p.estimate.is_cpu());
  };
  std::future<EditResult> first = engine->submit(generate(200, true), watch);
  started.get_future().wait();
  const EditResult second = engine->submit(generate(1, true, 2)).get();
  const EditResult stopped = first.get();
  EXPECT_EQ(second.status, JobStatus::Done);
  EXPECT_EQ(stopped.status, JobStatus::Cancelled);
  EXPECT_LT(steps_seen.load(), 200);  // it stopped early instead of finishing its 200 steps
}

// The per-step host copy of the estimate is opt-in: the editor's previews only count steps.
TEST_F(EngineTest, ProgressCarriesTheEstimateOnlyWhenAskedFor) {
  for (const bool estimates : {false, true}) {
    int steps = 0, with_image = 0;
    JobCallbacks watch;
    watch.estimates = estimates;
    watch.on_progress = [&](const Progress& p) {
      ++steps;
      with_image += p.estimate.defined();
    };
    ASSERT_EQ(engine->submit(generate(3, true), watch).get().status, JobStatus::Done);
    EXPECT_EQ(steps, 3);
    EXPECT_EQ(with_image, estimates ? 3 : 0);
  }
}

// Several UI-like threads at once: previews superseding each other, final jobs, cancels by id and
// of everything, stats reads, and a model swap while jobs run. Every future resolves exactly once
// with a coherent status, final jobs that nobody cancelled finish, and the engine still works
// afterwards. (scripts/test --sanitize runs this under ThreadSanitizer.)
TEST_F(EngineTest, ManyThreadsSubmitSupersedeCancelAndSwapModels) {
  std::atomic<int> done{0}, cancelled{0}, failed{0}, callbacks{0};
  std::mutex futures_mutex;
  std::vector<std::future<EditResult>> finals;
  const auto record = [&](const EditResult& r) {
    (r.status == JobStatus::Done ? done : r.status == JobStatus::Cancelled ? cancelled : failed)++;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 12; ++i) {
        JobCallbacks cb;
        cb.on_result = [&](const EditResult&) { callbacks++; };
        std::uint64_t id = 0;
        if (i % 3 == 2) {  // a final job, never superseded
          std::lock_guard<std::mutex> lock(futures_mutex);
          finals.push_back(engine->submit(generate(2, false, std::uint64_t(100 * t + i)), cb));
          continue;
        }
        std::future<EditResult> f = engine->submit(generate(3, true, std::uint64_t(100 * t + i)), cb, &id);
        if (i % 4 == 1) engine->cancel(id);
        (void)engine->stats();
        record(f.get());
      }
    });
  }
  threads.emplace_back([&] {  // the model swapped (the same file) while the others work
    for (int i = 0; i < 2; ++i) EXPECT_EQ(engine->load_model(dir.path() / "model").get().name, "golden-unet-a");
  });
  for (auto& thread : threads) thread.join();
  for (auto& f : finals) {
    const EditResult r = f.get();
    EXPECT_EQ(r.status, JobStatus::Done) << r.error;
    record(r);
  }
  EXPECT_EQ(done + cancelled + failed, 48);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(finals.size(), 16u);
  EXPECT_GE(done.load(), 16);
  engine->cancel_all();
  EXPECT_EQ(engine->submit(generate(1)).get().status, JobStatus::Done);  // still serving
  EXPECT_EQ(callbacks.load(), 48);  // every job of the threads called back exactly once
}

TEST_F(EngineTest, QueuedPreviewsAreSupersededButFinalJobsAreNot) {
  std::future<EditResult> final_job = engine->submit(generate(20));  // keeps the worker busy
  std::future<EditResult> p1 = engine->submit(generate(1, true, 1));
  std::future<EditResult> p2 = engine->submit(generate(1, true, 2));
  const EditResult r1 = p1.get();
  EXPECT_EQ(r1.status, JobStatus::Cancelled);
  EXPECT_EQ(r1.error, "superseded by a newer preview request");
  EXPECT_EQ(p2.get().status, JobStatus::Done);
  EXPECT_EQ(final_job.get().status, JobStatus::Done);
}

TEST_F(EngineTest, VariationsAreTheSameEditOncePerSeed) {
  EditRequest r = generate(2);
  r.class_label = 4;
  r.variation_seeds = {7, 8, 9};
  const EditResult all = engine->submit(r).get();
  ASSERT_EQ(all.status, JobStatus::Done) << all.error;
  ASSERT_EQ(all.image.size(0), 3);
  EXPECT_EQ(all.timings.evaluations, 6);
  r.variation_seeds.clear();
  r.seed = 8;
  EXPECT_TRUE(at::equal(all.image[1], engine->submit(r).get().image[0]));
}

TEST_F(EngineTest, GroupsSupersedeOnlyTheirOwnJobs) {
  EditRequest variations = generate(30);
  variations.group = "variations";
  std::future<EditResult> busy = engine->submit(generate(20));  // holds the worker
  std::future<EditResult> v1 = engine->submit(variations);
  std::future<EditResult> preview = engine->submit(generate(1, true));
  std::future<EditResult> v2 = engine->submit(variations);
  EXPECT_EQ(v1.get().error, "superseded by a newer variations request");
  EXPECT_EQ(preview.get().status, JobStatus::Done);  // a preview does not touch the variations
  EXPECT_EQ(v2.get().status, JobStatus::Done);
  EXPECT_EQ(busy.get().status, JobStatus::Done);
}

TEST_F(EngineTest, CancelByIdStopsAQueuedJob) {
  std::future<EditResult> busy = engine->submit(generate(10));
  uint64_t id = 0;
  std::future<EditResult> queued = engine->submit(generate(1), {}, &id);
  engine->cancel(id);
  EXPECT_EQ(queued.get().status, JobStatus::Cancelled);
  EXPECT_EQ(busy.get().status, JobStatus::Done);
}

TEST_F(EngineTest, AFailingJobIsAResultAndTheWorkerGoesOn) {
  EditRequest bad;
  bad.kind = cm::edit::EditKind::Inpaint;
  bad.image = cm::testing::smooth_photo(40, 40);
  EditResult r = engine->submit(bad).get();
  EXPECT_EQ(r.status, JobStatus::Failed);
  EXPECT_EQ(r.error_code, ErrorCode::BadArgument);
  EXPECT_EQ(r.error, "inpaint needs a mask");
  bad.mask = at::ones({1, 1, 20, 40});
  r = engine->submit(bad).get();
  EXPECT_EQ(r.error_code, ErrorCode::ShapeMismatch);
  EXPECT_EQ(engine->submit(generate(1)).get().status, JobStatus::Done);
  EXPECT_EQ(engine->stats().jobs_failed, 2);
}

TEST_F(EngineTest, AModelThatFailsToLoadLeavesTheCurrentOne) {
  try {
    engine->load_model(dir.path() / "missing").get();
    ADD_FAILURE() << "loading a missing model should fail";
  } catch (const cm::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::FileNotFound);
  }
  EXPECT_EQ(engine->submit(generate(1)).get().status, JobStatus::Done);
}

TEST(Engine, NaNWeightsGiveAFailedJobThatSaysSo) {
  REQUIRE_GOLDEN();
  cm::testing::TempDir dir;
  cm::testing::write_golden_model_dir(dir.path(), [](cm::model::StateDict& w) {
    for (auto& [name, t] : w)
      if (name == "out.2.bias") t = at::full_like(t, NAN);
  });
  EngineOptions options;
  options.device = "cpu";
  Engine engine(options);
  engine.load_model(dir.path()).get();
  EditRequest r;
  const EditResult result = engine.submit(r).get();
  EXPECT_EQ(result.status, JobStatus::Failed);
  EXPECT_NE(result.error.find("NaN or infinite values"), std::string::npos) << result.error;
}

TEST(Engine, WithoutAModelJobsFailClearly) {
  EngineOptions options;
  options.device = "cpu";
  Engine engine(options);
  const EditResult r = engine.submit(EditRequest{}).get();
  EXPECT_EQ(r.status, JobStatus::Failed);
  EXPECT_EQ(r.error, "no model is loaded");
}

TEST(Execute, SchedulesFollowTheRequest) {
  cm::model::ModelCard card;
  EditRequest r;
  r.ts = {0, 22, 39};
  EXPECT_EQ(schedule_for(r, card).steps(), 2);
  r.ts.clear();
  r.steps = 3;
  EXPECT_EQ(schedule_for(r, card).sigmas.front(), 80.0);
  r.kind = cm::edit::EditKind::Sketch;
  r.strength = 0.5;  // half way from ε to T on a log scale: their geometric mean
  EXPECT_NEAR(schedule_for(r, card).sigmas.front(), std::sqrt(0.002 * 80.0), 1e-9);
  r.strength = -1;   // the edit's own default
  EXPECT_NEAR(schedule_for(r, card).sigmas.front(), cm::sampling::sigma_for_strength(cm::engine::spec_of(r.kind).strength), 1e-9);
  r.steps = 0;
  EXPECT_CM_ERROR(schedule_for(r, card), ErrorCode::BadArgument, "steps must lie in 1…1000");
}

}  // namespace
