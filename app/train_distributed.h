// cmedit-train across processes (core/train/collective.h). A rank is started the way PyTorch jobs
// are: torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT), or `--nproc N`, which starts N ranks of the same command on this machine.
#pragma once

#include "core/train/collective.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cli {

// With `--nproc N` (N > 1) among the arguments, in a process that is no rank yet: starts N copies
// of this program with the other arguments and the variables of ranks 0…N−1, and hosts their
// meeting point itself (as torchrun's agent does: TORCHELASTIC_USE_AGENT_STORE=True),
// waits for them, and returns the exit status: 0 when all succeeded, else the first failure's. When
// one rank fails, the others are stopped (SIGTERM, then SIGKILL after 10 s), so none waits for it.
// std::nullopt without --nproc (or with 1): the command runs here, as one process.
std::optional<int> launch_ranks(const std::vector<std::string>& args);

// The group of this rank, from the environment (nullptr for a single process): NCCL when `device`
// (this rank's) is a GPU and the build has it, else Gloo. `timeout_seconds` bounds how long a rank
// waits for the others, at the start and in every collective.
std::shared_ptr<cm::train::Collective> join_ranks(double timeout_seconds, c10::Device device);

// The device of this rank: with LOCAL_RANK set, "cuda" and "auto" (where CUDA is usable) mean
// this rank's own GPU, cuda:LOCAL_RANK. CPU threads: the machine's cores shared among
// LOCAL_WORLD_SIZE ranks, unless --threads says otherwise.
std::string rank_device(const std::string& preference);
int rank_threads();

}  // namespace cli
