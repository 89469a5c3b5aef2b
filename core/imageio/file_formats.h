// The one table of the image formats cmedit reads and writes, and the dispatch from a file to its
// decoder (OpenCV or a codec of codec.h) and from an output name to its encoder. Internal to
// cm_imageio: image_file.cpp turns what comes out of here into tensors.
#pragma once

#include "core/imageio/codec.h"
#include "core/imageio/format_table.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cm::imageio {

// "use .png, .jpg, .tif, .webp, .avif, .heic, .jxl or .bmp", for messages.
std::string writable_extensions();

// A whole file in one read (a byte-wise iterator costs ~0.5 s for a 60 MB photo). Throws
// cm::Error: FileNotFound (missing, a folder, unreadable), Io.
std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path);

// The file's pixels, upright, with its metadata. Throws cm::Error naming the file: FileNotFound,
// CorruptFile, Unsupported (too many pixels, floating-point pixels, a variant no decoder reads).
Decoded decode_file(const std::filesystem::path& path);

// The bytes of `in` encoded as `extension` (output_format must know it), metadata included.
std::vector<std::uint8_t> encode_file(const std::string& extension, const ToEncode& in, const std::string& name);

}  // namespace cm::imageio
