// JPEG XL files through libjxl: decoded upright with their EXIF, XMP and colour profile, and
// encoded lossless or lossy with them. Internal to cm_imageio (codec.h).
#pragma once

#include "core/imageio/codec.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cm::imageio {

// Whether `bytes` begin with a JPEG XL signature: a bare codestream (FF 0A) or the container.
bool is_jxl(const std::uint8_t* bytes, std::size_t size);

// Decodes the image held in `bytes` (its first frame, for an animation), turned upright by its
// orientation: 8-bit when the file has up to 8 bits a sample, else 16-bit; gray as one channel,
// colour as B,G,R, alpha as a fourth channel (gray with alpha becomes B,G,R,A), colours
// un-premultiplied. metadata: EXIF (the TIFF structure, the box's 4-byte offset removed), XMP,
// and the pixels' ICC profile, left empty when they are plain sRGB (as a lossy file with its own
// ICC profile comes: libjxl 0.7 cannot give its pixels in that profile). format: "JPEG XL".
// Throws cm::Error: Unsupported (more than kMaxPixels), CorruptFile (anything libjxl refuses,
// a truncated file included).
Decoded decode_jxl(const std::uint8_t* bytes, std::size_t size, const std::string& name);

// Encodes `in` (8- or 16-bit, gray, B,G,R or B,G,R,A) as JPEG XL: quality 100 is lossless, lower
// qualities map to a Butteraugli distance as cjxl maps them (90 -> 1.0, visually lossless). The
// ICC profile is embedded (none: sRGB); lossy pixels are coded in libjxl's XYB either way.
// EXIF and XMP go into "Exif" and "xml " boxes.
// Throws cm::Error: Unsupported (other pixel types), Io (the encoder failed).
std::vector<std::uint8_t> encode_jxl(const ToEncode& in, const std::string& name);

// "0.7.0": libjxl's version, for --version.
std::string jxl_version();

}  // namespace cm::imageio
