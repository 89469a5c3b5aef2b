// Reads `torch.save` zip checkpoints (state dicts) without executing anything: the pickle is
// interpreted by a small machine that knows only the opcodes and globals state dicts use
// (OrderedDict, _rebuild_tensor_v2, _rebuild_parameter, Float/Half/BFloat16 storages) and
// refuses every other global by name. Shared storages, offsets and strides are kept.
#pragma once

#include "core/model/state_dict.h"

#include <filesystem>

namespace cm::model {

// Tensors of the file, keys joined with '.' for nested dicts ({"model": {...}} → "model.x").
// Non-tensor values (step counters, _metadata) are skipped. Throws cm::Error: FileNotFound,
// CorruptFile (not a zip, truncated, bad CRC, malformed pickle, a view outside its storage),
// Unsupported (a forbidden global, named in the message; big-endian files).
StateDict read_torch_checkpoint(const std::filesystem::path& path);

}  // namespace cm::model
