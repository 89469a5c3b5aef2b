// c10d's NCCL backend (collective.h): ranks on CUDA devices, one GPU each, whose messages stay on
// the GPUs. Built where the LibTorch is 2.x with CUDA and nccl.h is found (the GPU machine:
// PyTorch's wheel and its nvidia-nccl package).
#include "core/train/collective_backends.h"

#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#include <torch/version.h>  // TORCH_VERSION_*

#include <cstdlib>

namespace cm::train::backend {

namespace {

class NcclCollective final : public GroupCollective<c10d::ProcessGroupNCCL> {
 public:
  NcclCollective(const Rendezvous& m, c10::Device device)
      : GroupCollective(m, device.has_index() ? device : c10::Device(c10::kCUDA, c10::cuda::current_device())) {
    // The communicator belongs to this rank's GPU; without this, every rank would make a context on GPU 0.
    c10::cuda::set_device(device_.index());
    // By default NCCL's wait() only orders the streams, and a lost peer is found by a watchdog
    // thread that ends the process. A blocking wait raises the error in the rank's own thread
    // instead, after `timeout`, so the rank says why and stops like a Gloo rank (a variable the
    // user set wins).
    setenv("TORCH_NCCL_BLOCKING_WAIT", "1", /*overwrite=*/0);
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = m.timeout;
    store_ = meet(m);
    try {
      group_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(store_, m.rank, m.world, options);
    } catch (const std::exception& e) {
      throw Error(ErrorCode::Io, fmt::format("rank {} of {} could not start NCCL on {}: {}", m.rank, m.world, device_.str(),
                                             first_line(e.what())));
    }
  }
  ~NcclCollective() override {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    try {  // the communicators end here, not in a destructor that warns that nobody ended them
      group_->shutdown();
    } catch (const std::exception&) {  // a group whose peer is gone ends as it can
    }
#endif
  }
  std::string backend() const override { return "nccl"; }
};

}  // namespace

std::unique_ptr<Collective> connect_nccl(const Rendezvous& m, c10::Device device) {
  return std::make_unique<NcclCollective>(m, device);
}

}  // namespace cm::train::backend
