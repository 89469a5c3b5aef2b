// Reading and writing .safetensors files (the Hugging Face format), the way cmedit exchanges
// weights with other tools:
//
//   8 bytes   little-endian uint64 N, the header length
//   N bytes   UTF-8 JSON object: name -> {"dtype", "shape", "data_offsets": [begin, end]},
//             plus an optional "__metadata__" object of strings
//   the rest  the data section: each tensor C-contiguous, little-endian, at its offsets
//
// Reading validates the whole header before it allocates anything, then reads each tensor's
// bytes straight into its own tensor (no copy of the whole file in memory). Writing goes through
// a temporary file, so a failed write never damages an existing file.
#pragma once

#include "core/model/state_dict.h"

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>

namespace cm::model {

struct SafetensorsFile {
  StateDict tensors;                            // CPU tensors, in the order of increasing data offset
  std::map<std::string, std::string> metadata;  // the "__metadata__" object (string -> string)
};

// Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
// As in the reference implementation, the non-empty tensors must tile the data section exactly
// (no overlap, no gap, no unused tail); empty tensors may sit at any offset inside it.
// Throws cm::Error: FileNotFound (missing or unreadable file), CorruptFile (any header or size
// inconsistency: the message names the file, the tensor and what is wrong), Unsupported (a dtype
// outside the list above, such as F8_E4M3), Io (a read that fails after validation).
SafetensorsFile read_safetensors(const std::filesystem::path& path);

// Writes the tensors in the given order (any device or strides; stored as CPU contiguous data) and
// the metadata, when non-empty. Throws cm::Error: BadArgument (duplicate or reserved names,
// undefined tensors, names that are not UTF-8), Unsupported (dtype or layout), Io (the file cannot
// be written; an existing file is then left as it was).
void write_safetensors(const std::filesystem::path& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace cm::model
