// c10d's Gloo backend (collective.h): every device, messages on the host. Built where Gloo's
// headers are (Debian's libgloo-dev).
#include "core/train/collective_backends.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <cstdlib>

namespace cm::train::backend {

namespace {

class GlooCollective final : public GroupCollective<c10d::ProcessGroupGloo> {
 public:
  explicit GlooCollective(const Rendezvous& m) : GroupCollective(m, c10::kCPU) {
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
  std::string backend() const override { return "gloo"; }
};

}  // namespace

std::unique_ptr<Collective> connect_gloo(const Rendezvous& m) { return std::make_unique<GlooCollective>(m); }

}  // namespace cm::train::backend
