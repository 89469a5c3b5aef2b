// HEIF files, HEIC (HEVC inside) and AVIF (AV1 inside), through libheif: the primary image
// decoded upright with its EXIF, XMP and ICC profile, and an image encoded with them.
// Internal to cm_imageio (codec.h).
#pragma once

#include "core/imageio/codec.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cm::imageio {

// Whether `bytes` begin with an ISO-BMFF 'ftyp' box whose major or compatible brands name HEIF
// (heic, heix, hevc, heim, heis, mif1, msf1, avif, avis). Reads nothing past `size`.
bool is_heif(const std::uint8_t* bytes, std::size_t size);

// Decodes the primary image held in `bytes` (not copied; they must outlive the call), turned
// upright by the file's irot/imir: 8-bit B,G,R(,A), or 16-bit when the file has more than 8 bits
// a sample (10- or 12-bit values scaled to the full 0…65535). metadata: the EXIF TIFF structure
// (libheif's 4-byte offset removed), the XMP packet, the ICC profile (none for an nclx-only file:
// sRGB). format: "HEIC" or "AVIF". `name` is how messages name the file.
// Throws cm::Error: Unsupported (more than kMaxPixels, a codec this libheif cannot decode),
// CorruptFile (anything else libheif refuses: truncated, damaged, not HEIF at all).
Decoded decode_heif(const std::uint8_t* bytes, std::size_t size, const std::string& name);

// Encodes `in` as AVIF (`av1`: AV1 through libaom) or HEIC (HEVC through x265), 8 bits a sample
// (16-bit pixels are rounded: 10-bit AV1 crashes this libheif/libaom, heif_codec.cpp); quality
// 100 is lossless (4:4:4, RGB matrix). EXIF, XMP and the ICC profile are embedded (no profile:
// sRGB, as an nclx colour box).
// Throws cm::Error: Unsupported (no encoder for that format in this libheif, pixels that are not
// 8/16-bit with 1, 3 or 4 channels), Io (the encoder failed).
std::vector<std::uint8_t> encode_heif(const ToEncode& in, bool av1, const std::string& name);

// Whether this libheif has an encoder for AVIF (`av1`) or HEIC.
bool heif_can_encode(bool av1);

// "1.15.1": libheif's version, for --version.
std::string heif_version();

}  // namespace cm::imageio
