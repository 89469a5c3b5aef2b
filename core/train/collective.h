// Data-parallel training across processes, on torch.distributed's c10d: NCCL between CUDA devices,
// Gloo over TCP otherwise (and on CUDA where this build has no NCCL, through the host). The
// processes find each other through a TCPStore (Rendezvous below). Each rank trains on its slice of
// every global batch and the gradients are averaged in buckets, so all ranks take the same
// optimizer step and hold the same weights (Trainer::distribute).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

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
  // Where the messages go without a copy: the CPU for Gloo, this rank's GPU for NCCL. Tensors
  // elsewhere are accepted too, and copied there and back.
  virtual c10::Device device() const { return c10::kCPU; }
  // The backend's name, "gloo" or "nccl", for the log.
  virtual std::string backend() const = 0;
  // Sums each tensor over all ranks, in place. Throws cm::Error(Io) when another rank has died or
  // stopped answering within the timeout.
  virtual void allreduce_sum(std::vector<at::Tensor>& tensors) = 0;
  // Every rank's tensors become root's.
  virtual void broadcast(std::vector<at::Tensor>& tensors, int root) = 0;
};

// Whether this build has c10d's Gloo backend (Debian: libgloo-dev), which every device can use.
bool has_gloo();
// Whether this build has c10d's NCCL backend (a CUDA LibTorch 2.x and nccl.h: the GPU machine).
bool has_nccl();
// Whether ranks on `device` can form a group in this build.
bool has_distributed(c10::Device device);

// Where and how rank `rank` of `world` meets the others. The meeting point is a TCPStore on
// addr:port, which rank 0 hosts, unless a launcher hosts it already (torchrun's agent says so with
// TORCHELASTIC_USE_AGENT_STORE=True; `--nproc` does the same): then every rank is a client.
struct Rendezvous {
  std::string addr = "127.0.0.1";
  int port = 29500;
  int rank = 0;
  int world = 1;
  std::chrono::milliseconds timeout{300000};
  bool hosted_elsewhere = false;
  int attempt = 0;  // TORCHELASTIC_RESTART_COUNT: a restarted run does not read its last attempt's keys
};

// The process group of this rank. Ranks on CUDA use NCCL where the build has it, on their own GPU;
// otherwise Gloo. `timeout` bounds every wait: for all ranks to arrive, and for a collective whose
// peer is gone. Throws cm::Error(BadArgument) for a rank outside the world or a bad port,
// Unsupported without a backend for `device`, Io when the group cannot form.
std::unique_ptr<Collective> connect(const Rendezvous& where, c10::Device device = c10::kCPU);

// A meeting point that this process hosts on 127.0.0.1, at a port the kernel picks, for ranks it
// starts (`--nproc`): they are given its port with hosted_elsewhere, so no port is chosen first and
// taken later, when another program may have it. It closes when the last copy of `keep` goes.
struct HostedStore {
  int port = 0;
  std::shared_ptr<void> keep;
};
// Throws cm::Error(Unsupported) in a build without data parallelism, Io when it cannot listen.
HostedStore host_store();

// One of torchrun's whole-number variables (RANK, WORLD_SIZE, LOCAL_RANK, …), or `fallback` when
// unset. Throws cm::Error(BadArgument) for a value that is not a whole number ≥ 0.
int rank_variable(const char* name, int fallback);

// torchrun's environment: RANK, WORLD_SIZE, MASTER_ADDR (default 127.0.0.1), MASTER_PORT (default
// 29500), TORCHELASTIC_USE_AGENT_STORE and TORCHELASTIC_RESTART_COUNT. nullptr when WORLD_SIZE is
// unset or 1. Throws cm::Error(BadArgument) for a bad value.
std::unique_ptr<Collective> connect_from_environment(std::chrono::milliseconds timeout, c10::Device device = c10::kCPU);

// The mean of every parameter's gradient over the ranks, summed in buckets of about
// `bucket_bytes` (one message each instead of one per tensor), each flattened on the collective's
// device: on the GPU itself with NCCL, staged through the host with Gloo.
void average_gradients(Collective& collective, const std::vector<at::Tensor>& parameters,
                       int64_t bucket_bytes = int64_t(25) << 20);

// Makes every rank's tensors rank 0's (weights at the start of a run).
void broadcast_from_first(Collective& collective, const std::vector<at::Tensor>& tensors);

}  // namespace cm::train
