// Training checkpoints as a folder of small files, so a run moves between machines through
// channels that limit file size (16 MiB by default): named tensors packed into safetensors shards,
// tensors larger than a shard split into flat pieces, plus index.json with the run's state.
// A checkpoint folder appears only complete: it is written beside its final name and renamed.
#pragma once

#include "core/model/state_dict.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace cm::train {

constexpr int64_t kDefaultShardBytes = 16ll << 20;

struct Checkpoint {
  model::StateDict tensors;  // CPU tensors, in the order they were written
  nlohmann::json state;      // anything the writer wants back (step, config, …)
};

// Writes `dir` (must not exist yet). Every file in it is at most max_shard_bytes. Throws
// cm::Error(BadArgument) for a limit below 64 KiB or duplicate names, Io on write failure (then
// nothing named `dir` is left behind).
void write_checkpoint(const std::filesystem::path& dir, const model::StateDict& tensors, const nlohmann::json& state,
                      int64_t max_shard_bytes = kDefaultShardBytes);

// Throws cm::Error: FileNotFound, CorruptFile (index, shard or piece missing or inconsistent).
Checkpoint read_checkpoint(const std::filesystem::path& dir);

// The checkpoint folders "step-<n>" under `parent`, oldest first (incomplete ones are ignored).
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& parent);
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& parent);
std::filesystem::path checkpoint_dir(const std::filesystem::path& parent, int64_t step);

}  // namespace cm::train
