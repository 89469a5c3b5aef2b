// Data-parallel training across processes, on torch.distributed's c10d (Gloo over TCP; the
// processes find each other through a TCPStore that rank 0 hosts). Each rank trains on its slice
// of every global batch and the gradients are averaged in buckets, so all ranks take the same
// optimizer step and hold the same weights (Trainer::distribute).
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cm::train {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  // Sums each tensor over all ranks, in place. Throws cm::Error(Io) when another rank has died or
  // stopped answering within the timeout.
  virtual void allreduce_sum(std::vector<at::Tensor>& tensors) = 0;
  // Every rank's tensors become root's.
  virtual void broadcast(std::vector<at::Tensor>& tensors, int root) = 0;
};

// Whether this build has c10d's Gloo backend (Debian: libgloo-dev; off in the GPU campaign's build).
bool has_distributed();

// The process group of rank `rank` of `world`: rank 0 listens on addr:port, the others connect.
// `timeout` bounds every wait, for the others at start and for a collective whose peer is gone.
// Throws cm::Error(Unsupported) without Gloo, Io when the group cannot form.
std::unique_ptr<Collective> connect(const std::string& addr, int port, int rank, int world, std::chrono::milliseconds timeout);

// One of torchrun's whole-number variables (RANK, WORLD_SIZE, LOCAL_RANK, …), or `fallback` when
// unset. Throws cm::Error(BadArgument) for a value that is not a whole number ≥ 0.
int rank_variable(const char* name, int fallback);

// torchrun's environment: RANK, WORLD_SIZE, MASTER_ADDR (default 127.0.0.1), MASTER_PORT (default
// 29500). nullptr when WORLD_SIZE is unset or 1. Throws cm::Error(BadArgument) for a bad value.
std::unique_ptr<Collective> connect_from_environment(std::chrono::milliseconds timeout);

// The mean of every parameter's gradient over the ranks, summed in buckets of about
// `bucket_bytes` (one message each instead of one per tensor); on a GPU staged through the host.
void average_gradients(Collective& collective, const std::vector<at::Tensor>& parameters,
                       int64_t bucket_bytes = int64_t(25) << 20);

// Makes every rank's tensors rank 0's (weights at the start of a run).
void broadcast_from_first(Collective& collective, const std::vector<at::Tensor>& tensors);

}  // namespace cm::train
