// c10d's Gloo backend (collective.h): every device, messages on the host. Built where Gloo's
// headers are (Debian's libgloo-dev).
#include "core/train/collective_backends.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <cstdlib>

namespace cm::train::backend {

namespace {

class GlooCollective final : public Collective {
 public:
  explicit GlooCollective(const Rendezvous& m) : rank_(m.rank), world_(m.world) {
    auto options = c10d::ProcessGroupGloo::Options::create(m.timeout);
    // GLOO_SOCKET_IFNAME picks the interface, as in PyTorch; on one machine, the loopback.
    const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
    options->devices.push_back(interface && *interface ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                               : m.addr == "127.0.0.1" || m.addr == "localhost"
                                   ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    store_ = meet(m);
    try {
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, m.rank, m.world, options);
    } catch (const std::exception& e) {
      throw Error(ErrorCode::Io, fmt::format("rank {} of {} could not join the run at {}:{}: {}", m.rank, m.world, m.addr,
                                             m.port, first_line(e.what())));
    }
  }
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string backend() const override { return "gloo"; }

  void allreduce_sum(std::vector<at::Tensor>& tensors) override {
    each_on(tensors, c10::kCPU, [&](std::vector<at::Tensor>& one) { finish([&] { return group_->allreduce(one); }, *this, "sum"); });
  }
  void broadcast(std::vector<at::Tensor>& tensors, int root) override {
    c10d::BroadcastOptions options;
    options.rootRank = root;
    each_on(tensors, c10::kCPU,
            [&](std::vector<at::Tensor>& one) { finish([&] { return group_->broadcast(one, options); }, *this, "broadcast"); });
  }

 private:
  int rank_, world_;
  c10::intrusive_ptr<c10d::Store> store_;  // rank 0's hosts the run's meeting point: kept while the group lives
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

}  // namespace

std::unique_ptr<Collective> connect_gloo(const Rendezvous& m) { return std::make_unique<GlooCollective>(m); }

}  // namespace cm::train::backend
