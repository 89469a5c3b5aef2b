#include "core/train/collective.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#if defined(CMEDIT_HAS_GLOO) || defined(CMEDIT_HAS_NCCL)
#include "core/train/collective_backends.h"
#endif

namespace cm::train {

namespace {

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

// Concatenates tensors into one float32 buffer on `device`, lets `op` change it, and copies it back.
template <typename Op>
void through_flat_buffer(const std::vector<at::Tensor>& tensors, c10::Device device, const Op& op) {
  std::vector<at::Tensor> flat;
  for (const at::Tensor& t : tensors) flat.push_back(t.detach().reshape({-1}).to(device, at::kFloat));
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

int free_local_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    throw Error(ErrorCode::Io, "cannot find a free local port for the ranks to meet on");
  }
  close(fd);
  return ntohs(a.sin_port);
}

bool has_gloo() {
#ifdef CMEDIT_HAS_GLOO
  return true;
#else
  return false;
#endif
}

bool has_nccl() {
#ifdef CMEDIT_HAS_NCCL
  return true;
#else
  return false;
#endif
}

bool has_distributed(c10::Device device) { return has_gloo() || (device.is_cuda() && has_nccl()); }

std::unique_ptr<Collective> connect(const std::string& addr, int port, int rank, int world, std::chrono::milliseconds timeout,
                                    c10::Device device) {
  if (world < 1 || rank < 0 || rank >= world)
    throw Error(ErrorCode::BadArgument, fmt::format("rank {} does not exist in a run of {} processes", rank, world));
  if (port < 1 || port > 65535) throw Error(ErrorCode::BadArgument, fmt::format("port {} is not a TCP port", port));
#if defined(CMEDIT_HAS_GLOO) || defined(CMEDIT_HAS_NCCL)
  const backend::Meeting meeting{addr, port, rank, world, timeout};
#endif
#ifdef CMEDIT_HAS_NCCL
  if (device.is_cuda()) return backend::connect_nccl(meeting, device);
#endif
#ifdef CMEDIT_HAS_GLOO
  return backend::connect_gloo(meeting);
#else
  (void)addr, (void)timeout;
  throw Error(ErrorCode::Unsupported, device.is_cuda() || !has_nccl()
                                          ? "this build has no torch.distributed backend: install libgloo-dev (or, on CUDA, "
                                            "build against a LibTorch with NCCL) and rebuild, or train with one process"
                                          : "this build trains several processes on CUDA devices only (NCCL): install "
                                            "libgloo-dev and rebuild to train them on the CPU");
#endif
}

std::unique_ptr<Collective> connect_from_environment(std::chrono::milliseconds timeout, c10::Device device) {
  const int world = rank_variable("WORLD_SIZE", 1);
  if (world <= 1) return nullptr;
  const char* addr = std::getenv("MASTER_ADDR");
  return connect(addr && *addr ? addr : "127.0.0.1", rank_variable("MASTER_PORT", 29500), rank_variable("RANK", 0), world, timeout, device);
}

void average_gradients(Collective& collective, const std::vector<at::Tensor>& parameters, int64_t bucket_bytes) {
  std::vector<at::Tensor> grads;
  for (const at::Tensor& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  const double world = collective.world();
  in_buckets(grads, bucket_bytes, [&](const std::vector<at::Tensor>& bucket) {
    through_flat_buffer(bucket, collective.device(), [&](std::vector<at::Tensor>& buffer) {
      collective.allreduce_sum(buffer);
      buffer[0].div_(world);
    });
  });
}

void broadcast_from_first(Collective& collective, const std::vector<at::Tensor>& tensors) {
  c10::NoGradGuard no_grad;
  in_buckets(tensors, int64_t(25) << 20, [&](const std::vector<at::Tensor>& bucket) {
    through_flat_buffer(bucket, collective.device(), [&](std::vector<at::Tensor>& buffer) { collective.broadcast(buffer, 0); });
  });
}

}  // namespace cm::train
