// Camera RAW files (DNG and the makers' own formats) through LibRaw: the sensor's mosaic developed
// the way the camera's settings say ("as shot": its white balance, its colour matrix, no
// automatic brightening) into 16-bit sRGB, turned upright. Internal to cm_imageio (codec.h).
#pragma once

#include "core/imageio/codec.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace cm::imageio {

// Decodes and develops the RAW file held in `bytes`: 16-bit B,G,R (one channel for a monochrome
// sensor), sRGB primaries and curve, upright. metadata is left empty: the pixels are sRGB (no ICC)
// and the caller reads EXIF/XMP from the same bytes. `name` is how messages name the file.
// Throws cm::Error: Unsupported (a format or camera this LibRaw does not know, more than
// kMaxPixels), CorruptFile (anything else LibRaw refuses: truncated, damaged, not a RAW file).
Decoded decode_raw(const std::uint8_t* bytes, std::size_t size, const std::string& name);

// "0.20.2-Release": LibRaw's version, for --version.
std::string libraw_version_string();

}  // namespace cm::imageio
