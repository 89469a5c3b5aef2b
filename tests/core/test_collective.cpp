// Data parallelism (core/train/collective.h) in one process: gradients and weights with a
// stand-in for the other rank, and where ranks meet (a rank that never comes, a restarted run).
#include "core/expect_error.h"
#include "core/train/collective.h"
#include "core/train/trainer.h"
#include "core/train_fixtures.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>

namespace {

using namespace std::chrono_literals;
using namespace cm::train;
using cm::testing::GaussianSource;
using cm::testing::tiny_config;

const c10::Device kCpu(c10::kCPU);


class OtherRankOfTwo final : public cm::train::Collective {
 public:
  int rank() const override { return 0; }
  int world() const override { return 2; }
  std::string backend() const override { return "stand-in"; }
  // The other rank's gradients are all 1 and its weights all 7.
  void allreduce_sum(std::vector<at::Tensor>& tensors) override {
    ++messages;
    for (at::Tensor& t : tensors) t.add_(1.0);
  }
  void broadcast(std::vector<at::Tensor>& tensors, int) override {
    for (at::Tensor& t : tensors) t.fill_(7.0);
  }
  int messages = 0;
};

TEST(Collective, GradientsAreAveragedInBucketsOfAnySize) {
  std::vector<at::Tensor> expected;
  for (const int64_t bucket_bytes : {int64_t(1), int64_t(40), int64_t(1) << 20}) {
    std::vector<at::Tensor> parameters = {at::zeros({3, 2}, at::requires_grad()), at::zeros({5}, at::requires_grad()),
                                          at::zeros({1}, at::requires_grad())};
    for (std::size_t i = 0; i < parameters.size(); ++i)
      parameters[i].mutable_grad() = at::arange(parameters[i].numel(), at::kFloat).view(parameters[i].sizes()) * double(i + 1);
    OtherRankOfTwo other;
    cm::train::average_gradients(other, parameters, bucket_bytes);
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const at::Tensor mine = at::arange(parameters[i].numel(), at::kFloat).view(parameters[i].sizes()) * double(i + 1);
      EXPECT_TRUE(at::allclose(parameters[i].grad(), (mine + 1) / 2)) << "bucket of " << bucket_bytes << " bytes, tensor " << i;
    }
    // 1 byte: one tensor a bucket; 40 bytes: the first (24 bytes), then the other two (20 + 4); 1 MiB: all.
    EXPECT_EQ(other.messages, bucket_bytes == 1 ? 3 : bucket_bytes == 40 ? 2 : 1);
  }
}

TEST(Collective, DistributingATrainerTakesTheFirstRanksWeightsAndNeedsADivisibleBatch) {
  cm::train::TrainConfig c = tiny_config(TrainMode::Ct, 4);
  c.batch = 4;
  cm::train::Trainer trainer(c, std::make_shared<GaussianSource>(8), kCpu);
  trainer.distribute(std::make_shared<OtherRankOfTwo>());
  EXPECT_EQ(trainer.world(), 2);
  for (const auto& [name, t] : trainer.online_weights()) EXPECT_TRUE((t == 7).all().item<bool>()) << name;
  for (const auto& [name, t] : trainer.ema_weights()) EXPECT_TRUE((t == 7).all().item<bool>()) << name;

  class Three final : public cm::train::Collective {
    int rank() const override { return 0; }
    int world() const override { return 3; }
    std::string backend() const override { return "stand-in"; }
    void allreduce_sum(std::vector<at::Tensor>&) override {}
    void broadcast(std::vector<at::Tensor>&, int) override {}
  };
  cm::train::Trainer other(c, std::make_shared<GaussianSource>(8), kCpu);
  EXPECT_CM_ERROR(other.distribute(std::make_shared<Three>()), cm::ErrorCode::BadArgument, "does not divide among 3 processes");
}

// torchrun's agent keeps its store when it restarts the ranks: the ranks of attempt 1 must not
// take attempt 0's arrivals for their own.
TEST(Collective, ARestartedRunMeetsAfreshOnTheSameStore) {
  if (!has_gloo()) GTEST_SKIP() << "this build has no Gloo (libgloo-dev)";
  const HostedStore store = host_store();
  const auto rendezvous = [&](int rank, int attempt, std::chrono::milliseconds timeout) {
    Rendezvous r;
    r.port = store.port;
    r.rank = rank;
    r.world = 2;
    r.timeout = timeout;
    r.hosted_elsewhere = true;
    r.attempt = attempt;
    return r;
  };
  {  // attempt 0: both ranks come, and sum
    auto other = std::async(std::launch::async, [&] { return connect(rendezvous(1, 0, 20s)); });
    const auto first = connect(rendezvous(0, 0, 20s));
    const auto second = other.get();
    std::vector<at::Tensor> a = {at::full({3}, 2.0)}, b = {at::full({3}, 5.0)};
    auto sum = std::async(std::launch::async, [&] { second->allreduce_sum(b); });
    first->allreduce_sum(a);
    sum.get();
    EXPECT_TRUE(at::equal(a[0], at::full({3}, 7.0)));
    EXPECT_TRUE(at::equal(b[0], at::full({3}, 7.0)));
  }
  // attempt 1: rank 1 does not come back, and rank 0 must say so instead of counting attempt 0's.
  EXPECT_CM_ERROR(connect(rendezvous(0, 1, 1500ms)), cm::ErrorCode::Io, "only 1 of the 2 processes of the run reached");
}

TEST(Collective, ABadRankOrPortIsRefused) {
  Rendezvous r;
  r.world = 2;
  r.rank = 2;
  EXPECT_CM_ERROR(connect(r), cm::ErrorCode::BadArgument, "rank 2 does not exist in a run of 2 processes");
  r.rank = 0;
  r.port = 70000;
  EXPECT_CM_ERROR(connect(r), cm::ErrorCode::BadArgument, "port 70000 is not a TCP port");
}

}  // namespace
