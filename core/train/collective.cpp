#include "core/train/collective.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cstdlib>

#ifdef CMEDIT_HAS_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace cm::train {

namespace {

#ifdef CMEDIT_HAS_GLOO
class GlooCollective final : public Collective {
 public:
  GlooCollective(const std::string& addr, int port, int rank, int world, std::chrono::milliseconds timeout)
      : rank_(rank), world_(world) {
    c10d::TCPStoreOptions store_options;
    store_options.port = std::uint16_t(port);
    store_options.isServer = rank == 0;
    store_options.numWorkers = std::size_t(world);
    store_options.waitWorkers = false;
    store_options.timeout = timeout;
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // GLOO_SOCKET_IFNAME picks the interface, as in PyTorch; on one machine, the loopback.
    const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
    options->devices.push_back(interface && *interface ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                               : addr == "127.0.0.1" || addr == "localhost"
                                   ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(addr, store_options);
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, rank, world, options);
    } catch (const std::exception& e) {
      throw Error(ErrorCode::Io, fmt::format("rank {} of {} could not join the run at {}:{}: {}", rank, world, addr, port,
                                             first_line(e.what())));
    }
  }
  int rank() const override { return rank_; }
  int world() const override { return world_; }

  void allreduce_sum(std::vector<at::Tensor>& tensors) override {
    for (at::Tensor& t : tensors) {
      std::vector<at::Tensor> one = {t};
      wait([&] { return group_->allreduce(one); }, "sum");
    }
  }
  void broadcast(std::vector<at::Tensor>& tensors, int root) override {
    for (at::Tensor& t : tensors) {
      std::vector<at::Tensor> one = {t};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      wait([&] { return group_->broadcast(one, options); }, "broadcast");
    }
  }

 private:
  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
  template <typename Start>
  void wait(const Start& start, const char* what) {
    try {
      start()->wait();
    } catch (const std::exception& e) {
      throw Error(ErrorCode::Io, fmt::format("rank {} of {}: another process of the run died or stopped answering during a {} "
                                             "({}); every rank stops, and the last checkpoint is intact",
                                             rank_, world_, what, first_line(e.what())));
    }
  }

  int rank_, world_;
  c10::intrusive_ptr<c10d::TCPStore> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};
#endif

// Runs `each` over runs of consecutive tensors of at most `bucket_bytes` (one tensor may exceed it).
template <typename Each>
void in_buckets(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes, const Each& each) {
  std::size_t begin = 0;
  while (begin < tensors.size()) {
    std::size_t end = begin;
    int64_t bytes = 0;
    while (end < tensors.size() && (end == begin || bytes + tensors[end].numel() * 4 <= bucket_bytes)) bytes += tensors[end++].numel() * 4;
    each(std::vector<at::Tensor>(tensors.begin() + std::ptrdiff_t(begin), tensors.begin() + std::ptrdiff_t(end)));
    begin = end;
  }
}

// Concatenates tensors into one float32 host buffer, lets `op` change it, and copies it back.
template <typename Op>
void through_flat_buffer(const std::vector<at::Tensor>& tensors, const Op& op) {
  std::vector<at::Tensor> flat;
  for (const at::Tensor& t : tensors) flat.push_back(t.detach().reshape({-1}).to(at::kCPU, at::kFloat));
  std::vector<at::Tensor> buffer = {at::cat(flat)};
  op(buffer);
  int64_t offset = 0;
  for (const at::Tensor& t : tensors) {
    t.detach().copy_(buffer[0].narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

}  // namespace

int rank_variable(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end || n < 0 || n > 1 << 20) throw Error(ErrorCode::BadArgument, fmt::format("{}={} is not a whole number ≥ 0", name, v));
  return int(n);
}

bool has_distributed() {
#ifdef CMEDIT_HAS_GLOO
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Collective> connect(const std::string& addr, int port, int rank, int world, std::chrono::milliseconds timeout) {
  if (world < 1 || rank < 0 || rank >= world)
    throw Error(ErrorCode::BadArgument, fmt::format("rank {} does not exist in a run of {} processes", rank, world));
  if (port < 1 || port > 65535) throw Error(ErrorCode::BadArgument, fmt::format("port {} is not a TCP port", port));
#ifdef CMEDIT_HAS_GLOO
  return std::make_unique<GlooCollective>(addr, port, rank, world, timeout);
#else
  (void)addr, (void)timeout;
  throw Error(ErrorCode::Unsupported, "this build has no torch.distributed (Gloo): install libgloo-dev and rebuild, "
                                      "or train with one process");
#endif
}

std::unique_ptr<Collective> connect_from_environment(std::chrono::milliseconds timeout) {
  const int world = rank_variable("WORLD_SIZE", 1);
  if (world <= 1) return nullptr;
  const char* addr = std::getenv("MASTER_ADDR");
  return connect(addr && *addr ? addr : "127.0.0.1", rank_variable("MASTER_PORT", 29500), rank_variable("RANK", 0), world, timeout);
}

void average_gradients(Collective& collective, const std::vector<at::Tensor>& parameters, int64_t bucket_bytes) {
  std::vector<at::Tensor> grads;
  for (const at::Tensor& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  const double world = collective.world();
  in_buckets(grads, bucket_bytes, [&](const std::vector<at::Tensor>& bucket) {
    through_flat_buffer(bucket, [&](std::vector<at::Tensor>& buffer) {
      collective.allreduce_sum(buffer);
      buffer[0].div_(world);
    });
  });
}

void broadcast_from_first(Collective& collective, const std::vector<at::Tensor>& tensors) {
  c10::NoGradGuard no_grad;
  in_buckets(tensors, int64_t(25) << 20, [&](const std::vector<at::Tensor>& bucket) {
    through_flat_buffer(bucket, [&](std::vector<at::Tensor>& buffer) { collective.broadcast(buffer, 0); });
  });
}

}  // namespace cm::train
