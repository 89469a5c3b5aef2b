#include "core/train/collective.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

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

std::unique_ptr<Collective> connect(const Rendezvous& where, c10::Device device) {
  if (where.world < 1 || where.rank < 0 || where.rank >= where.world)
    throw Error(ErrorCode::BadArgument, fmt::format("rank {} does not exist in a run of {} processes", where.rank, where.world));
  if (where.port < 1 || where.port > 65535) throw Error(ErrorCode::BadArgument, fmt::format("port {} is not a TCP port", where.port));
#ifdef CMEDIT_HAS_NCCL
  if (device.is_cuda()) return backend::connect_nccl(where, device);
#endif
#ifdef CMEDIT_HAS_GLOO
  return backend::connect_gloo(where);
#else
  throw Error(ErrorCode::Unsupported, device.is_cuda() || !has_nccl()
                                          ? "this build has no torch.distributed backend: install libgloo-dev (or, on CUDA, "
                                            "build against a LibTorch with NCCL) and rebuild, or train with one process"
                                          : "this build trains several processes on CUDA devices only (NCCL): install "
                                            "libgloo-dev and rebuild to train them on the CPU");
#endif
}

#if !defined(CMEDIT_HAS_GLOO) && !defined(CMEDIT_HAS_NCCL)
HostedStore host_store() {
  throw Error(ErrorCode::Unsupported, "this build has no torch.distributed backend: install libgloo-dev and rebuild, "
                                      "or train with one process");
}
#endif

std::unique_ptr<Collective> connect_from_environment(std::chrono::milliseconds timeout, c10::Device device) {
  Rendezvous r;
  r.world = rank_variable("WORLD_SIZE", 1);
  if (r.world <= 1) return nullptr;
  const char* addr = std::getenv("MASTER_ADDR");
  if (addr && *addr) r.addr = addr;
  r.port = rank_variable("MASTER_PORT", r.port);
  r.rank = rank_variable("RANK", 0);
  r.timeout = timeout;
  // torch.distributed's rule (_torchelastic_use_agent_store): exactly "True".
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  r.hosted_elsewhere = agent && std::string(agent) == "True";
  r.attempt = rank_variable("TORCHELASTIC_RESTART_COUNT", 0);
  return connect(r, device);
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
