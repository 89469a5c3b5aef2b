// Camera RAW files (DNG and the makers' own formats) through LibRaw: the sensor's mosaic developed
// the way the camera's settings say ("as shot": its white balance, its colour matrix, no
// automatic brightening) into 16-bit sRGB, turned upright. Internal to cm_imageio (codec.h).
//
// LibRaw 0.20 crashes on some damaged files (a segmentation fault in parse_tiff_ifd, found by
// mutating a DNG: fuzz/corpus/raw), and a crash would take the editor and its work with it. So
// cmedit develops a RAW in a child process, cmedit-raw-decoder (app/raw_decoder_main.cpp), that
// runs develop_raw; decode_raw starts it and reads the pixels back through a pipe.
#pragma once

#include "core/imageio/codec.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace cm::imageio {

// Develops the RAW file held in `bytes`, in this process: 16-bit B,G,R (one channel for a monochrome
// sensor), sRGB primaries and curve, upright. metadata is left empty: the pixels are sRGB (no ICC)
// and the caller reads EXIF/XMP from the same bytes. `name` is how messages name the file.
// Throws cm::Error: Unsupported (a format or camera this LibRaw does not know, more than
// kMaxPixels), CorruptFile (anything else LibRaw refuses: truncated, damaged, not a RAW file).
Decoded develop_raw(const std::uint8_t* bytes, std::size_t size, const std::string& name);

// develop_raw in a cmedit-raw-decoder process (raw_sandbox.cpp), found beside the running program
// or in ../libexec/cmedit/ (or at $CMEDIT_RAW_DECODER). Throws what develop_raw throws, and
// CorruptFile when the decoder crashes or takes more than two minutes, Unsupported when it is missing.
Decoded decode_raw(const std::uint8_t* bytes, std::size_t size, const std::string& name);

// The child's side of the pipe: `decoded` (or the error) as decode_raw reads it back.
void write_raw_result(int fd, const Decoded* decoded, int error_code, const std::string& message);

// "0.20.2-Release": LibRaw's version, for --version.
std::string libraw_version_string();

}  // namespace cm::imageio
