// The engine on the device under test, as a user's GPU worker runs it: the default precision with
// the warm-up against the CPU in float32 (the noise is drawn on the CPU, so both see the same),
// memory that runs out, progress without host copies, and the exemplar fill.
#include "core/analytic_model.h"
#include "cuda/cuda_memory.h"
#include "cuda/on_device.h"

#include "core/edit/estimates.h"
#include "core/edit/exemplar_fill.h"
#include "core/engine/engine.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>

namespace cm {
namespace {

using engine::EditRequest;
using engine::EditResult;
using engine::JobStatus;
using testing::OnDevice;

// Relative L2 error of a finished two-step edit in the device's reduced precision against the CPU
// in float32, over the whole image. bf16 on the CPU (2026-11-30): generate 0.0088, inpaint 0.0006
// (most of its pixels are the photo's); another seed is 1.3 and 0.06 away. fp16 on CUDA is printed
// by the GPU window.
constexpr double kEditBound = 0.02;
// Without AVX-512 on the CPU (OnDevice::reduced_rounds_tightly; an AVX2 AMD EPYC, 2026-12-06):
// generate 0.043, inpaint 0.0002.
constexpr double kEditBoundAvx2 = 0.09;

EditRequest generate(std::uint64_t seed, int batch = 1, int64_t first_image = 0) {
  EditRequest r;
  r.kind = edit::EditKind::Generate;
  r.steps = 2;
  r.seed = seed;
  r.batch = batch;
  r.first_image = first_image;
  return r;
}

EditRequest inpaint(std::uint64_t seed) {
  EditRequest r;
  r.kind = edit::EditKind::Inpaint;
  r.image = (testing::smooth_photo(96, 128) + 0.2 * at::sin(at::arange(128, at::kFloat) * 0.7).view({1, 1, 1, 128})).clamp(-1, 1);
  r.mask = at::zeros({1, 1, 96, 128});
  // A brush stroke, 8 px wide: the healed start (a blob of the mask, a spot, would start from the
  // exemplar fill, region.h). At the default strength each window takes one of the two steps
  // (engine::window_steps); a strength set takes both.
  r.mask.narrow(2, 38, 8).narrow(3, 30, 60).fill_(1);
  r.steps = 2;
  r.seed = seed;
  return r;
}

class EngineOnDevice : public OnDevice {
 protected:
  // The engine as the editor starts it on this device: precision "auto" (fp16 on CUDA) with the
  // warm-up; on the CPU, bf16, so that the comparison below compares something.
  std::unique_ptr<engine::Engine> start(const std::string& precision = "") {
    engine::EngineOptions options;
    options.device = GetParam();
    options.precision = !precision.empty() ? precision : on_cuda() ? "auto" : "bf16";
    auto e = std::make_unique<engine::Engine>(options);
    info = e->load_model(model::builtin_model_path()).get();
    return e;
  }
  static at::Tensor run(engine::Engine& e, EditRequest r) {
    const EditResult result = e.submit(std::move(r)).get();
    EXPECT_EQ(result.status, JobStatus::Done) << result.error;
    return result.image;
  }
  engine::ModelInfo info;
};

TEST_P(EngineOnDevice, TheDefaultPrecisionGivesTheCpuResultFromTheSameNoise) {
  const auto fast = start();
  EXPECT_EQ(info.precision, on_cuda() ? "fp16" : "bf16");
  EXPECT_EQ(info.warm_up_ms > 0, on_cuda()) << "the warm-up runs on CUDA only";
  engine::EngineOptions cpu_options;
  cpu_options.device = "cpu";
  engine::Engine cpu(cpu_options);
  cpu.load_model(model::builtin_model_path()).get();

  for (const auto& [name, request] : {std::pair{"generate", generate(5)}, std::pair{"inpaint", inpaint(5)}}) {
    const at::Tensor on_device = run(*fast, request), reference = run(cpu, request);
    EditRequest other_seed = request;
    other_seed.seed = 6;
    const double error = testing::relative_l2(on_device, reference);
    const double seeds_apart = testing::relative_l2(run(cpu, other_seed), reference);
    testing::report(std::string(name) + ", " + info.precision + " on " + GetParam() + " vs fp32 on cpu", error);
    testing::report(std::string(name) + ", another seed on cpu", seeds_apart);
    EXPECT_LE(error, reduced_rounds_tightly() ? kEditBound : kEditBoundAvx2) << name;
    EXPECT_LT(error * 5, seeds_apart) << name << ": closer to another seed's image than to its own";
    if (request.mask.defined()) {  // what the mask leaves is the photo's, on every device
      EXPECT_TRUE(at::equal(on_device * (request.mask <= 0), request.image * (request.mask <= 0)));
    }
  }
}

TEST_P(EngineOnDevice, ProgressCopiesTheEstimateToTheHostOnlyWhenAsked) {
  const auto e = start();
  for (const bool estimates : {false, true}) {
    int steps = 0, on_host = 0;
    engine::JobCallbacks callbacks;
    callbacks.estimates = estimates;
    callbacks.on_progress = [&](const engine::Progress& p) {
      ++steps;
      on_host += p.estimate.defined() && p.estimate.is_cpu();
    };
    EditRequest request = inpaint(1);
    request.strength = 0.49;  // both steps run, so each reports
    ASSERT_EQ(e->submit(request, callbacks).get().status, JobStatus::Done);
    EXPECT_EQ(steps, 2);
    EXPECT_EQ(on_host, estimates ? 2 : 0);
  }
}

TEST_P(EngineOnDevice, AnEditThatDoesNotFitIsSplitOrReportedAndTheWorkerGoesOn) {
  if (!on_cuda()) GTEST_SKIP() << "running out of device memory on purpose needs CUDA's caching allocator";
  if (!testing::can_cap_cuda_memory()) GTEST_SKIP() << "this build has no CUDA caching allocator to cap";
  const auto e = start();
  const at::Tensor first = run(*e, generate(3, 1, 0)), later = run(*e, generate(3, 1, 300));
  struct Uncap {
    ~Uncap() { testing::uncap_cuda_memory(); }
  } uncap;

  // 512 images at once need gigabytes; with 64 MB to spare the batch is split in halves until the
  // parts fit, and image k is still image k of the seed's sequence.
  testing::cap_cuda_memory(64 << 20);
  const EditResult split = e->submit(generate(3, 512)).get();
  ASSERT_EQ(split.status, JobStatus::Done) << split.error;
  ASSERT_EQ(split.image.size(0), 512);
  EXPECT_LE(testing::relative_l2(split.image.narrow(0, 0, 1), first), kEditBound);
  EXPECT_LE(testing::relative_l2(split.image.narrow(0, 300, 1), later), kEditBound);

  // With nothing to spare, an edit that cannot be split (or whose last halves still do not fit)
  // fails with a message, not an internal error or a crash.
  testing::cap_cuda_memory(0);
  const EditResult starved = e->submit(inpaint(2)).get();
  if (starved.status == JobStatus::Failed) {
    EXPECT_EQ(starved.error_code, ErrorCode::Device) << starved.error;
    EXPECT_NE(starved.error.find("out of memory"), std::string::npos) << starved.error;
  } else {
    EXPECT_EQ(starved.status, JobStatus::Done) << "it fitted in what the allocator still held";
  }
  testing::uncap_cuda_memory();
  EXPECT_EQ(e->submit(inpaint(2)).get().status, JobStatus::Done) << "the worker goes on";
}

// Stripes, every patch of which has an exact copy outside the hole: the fill continues them on
// every device. PatchMatch is chaotic, so the CPU's and the GPU's fills need not be identical
// (distances summed in another order pick another of two equal patches); their agreement is printed.
TEST_P(EngineOnDevice, TheExemplarFillContinuesATextureAndKeepsKnownPixels) {
  const at::Tensor truth = testing::stripes(96), hole = testing::box_mask(96, 30, 34, 32, 32);
  const at::Tensor holed = truth * (1 - hole);
  const at::Tensor filled = edit::exemplar_fill(holed.to(device()), (hole <= 0).to(device())).cpu();
  const double error = ((filled - truth).abs() * hole).sum().item<double>() / (hole.sum().item<double>() * 3);
  testing::report("exemplar fill, mean error in the hole on " + GetParam(), error);
  EXPECT_LT(error, 0.05);
  EXPECT_TRUE(at::equal(filled * (1 - hole), holed));
  const at::Tensor on_cpu = edit::exemplar_fill(holed, hole <= 0);
  testing::report("exemplar fill, share of hole pixels equal to the CPU's on " + GetParam(),
                  ((filled - on_cpu).abs().amax(1, true) < 1e-6).logical_and(hole > 0).sum().item<double>() /
                      hole.sum().item<double>());
}

CMEDIT_ON_CPU_AND_CUDA(EngineOnDevice);

}  // namespace
}  // namespace cm
