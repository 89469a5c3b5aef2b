// Data parallelism (core/train/collective.h) on the device under test, with the backend a rank on
// it gets: NCCL on CUDA (where the build has it), Gloo on the CPU. The GPU machine has one GPU, and
// NCCL refuses two ranks on one device, so a one-rank group is what can run there: it must form,
// keep its messages on the GPU, and give back what it was given. A rank that never comes must be
// reported within the timeout on every device.
#include "core/expect_error.h"
#include "cuda/on_device.h"

#include "core/train/collective.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

namespace cm {
namespace {

using namespace std::chrono_literals;
using testing::OnDevice;

class CollectiveOnDevice : public OnDevice {
 protected:
  void SetUp() override {
    OnDevice::SetUp();
    if (IsSkipped()) return;
    if (!train::has_distributed(device()))
      GTEST_SKIP() << "this build has no c10d backend for " << device() << " (Gloo: libgloo-dev; NCCL: a CUDA LibTorch 2.x and nccl.h)";
  }
  // Rank `rank` of `world`, meeting at a store this test hosts (as `--nproc` does).
  std::unique_ptr<train::Collective> join(int rank, int world, std::chrono::milliseconds timeout) {
    store_ = train::host_store();
    train::Rendezvous r;
    r.port = store_.port;
    r.rank = rank;
    r.world = world;
    r.timeout = timeout;
    r.hosted_elsewhere = true;
    return train::connect(r, device());
  }
  train::HostedStore store_;
};

TEST_P(CollectiveOnDevice, AOneRankGroupKeepsItsMessagesOnItsDeviceAndGivesBackWhatItGot) {
  const auto group = join(0, 1, 60s);
  const bool nccl = on_cuda() && train::has_nccl();
  EXPECT_EQ(group->backend(), nccl ? "nccl" : "gloo");
  EXPECT_EQ(group->device(), nccl ? device() : c10::Device(c10::kCPU));
  EXPECT_EQ(group->world(), 1);

  // A sum and a broadcast over one rank leave the tensors as they were, wherever they are.
  const at::Tensor values = at::arange(1000, at::kFloat).div_(7);
  std::vector<at::Tensor> tensors = {values.to(device()), values.clone(), values.to(device()).view({10, 100}).t()};
  group->allreduce_sum(tensors);
  group->broadcast(tensors, 0);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_TRUE(at::equal(tensors[i].reshape({-1}).cpu(), i == 2 ? values.view({10, 100}).t().reshape({-1}) : values)) << "tensor " << i;
    EXPECT_EQ(tensors[i].device(), i == 1 ? c10::Device(c10::kCPU) : device()) << "tensor " << i;
  }

  // The gradients of the built-in model's size (7.6 M, 30 MB), in buckets of 25 MB and of 1 MB:
  // averaged over one rank they are unchanged and stay where they are.
  std::vector<at::Tensor> parameters;
  for (const int64_t n : {int64_t(5'000'000), int64_t(2'000'000), int64_t(600'000), int64_t(3)}) {
    parameters.push_back(at::zeros({n}, at::TensorOptions(device()).requires_grad(true)));
    parameters.back().mutable_grad() = at::randn({n}, at::TensorOptions(device()));
  }
  std::vector<at::Tensor> before;
  for (const at::Tensor& p : parameters) before.push_back(p.grad().clone());
  for (const int64_t bucket : {int64_t(25) << 20, int64_t(1) << 20}) {
    const auto t0 = std::chrono::steady_clock::now();
    train::average_gradients(*group, parameters, bucket);
    (void)parameters.back().grad()[0].item<float>();  // waits for the copies back on the device's stream
    testing::report(std::string(on_cuda() ? "cuda" : "cpu") + " one-rank " + group->backend() + " average of 30 MB in " +
                        std::to_string(bucket >> 20) + " MB buckets (ms)",
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      EXPECT_TRUE(at::equal(parameters[i].grad(), before[i])) << "parameter " << i;
      EXPECT_EQ(parameters[i].grad().device(), device());
    }
  }
}

TEST_P(CollectiveOnDevice, ARankThatNeverComesIsReportedWithinTheTimeout) {
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_CM_ERROR(join(1, 2, 1500ms), ErrorCode::Io, "rank 1 of 2: only 1 of the 2 processes of the run reached 127.0.0.1:");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);
}

CMEDIT_ON_CPU_AND_CUDA(CollectiveOnDevice);

}  // namespace
}  // namespace cm
