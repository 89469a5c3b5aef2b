// A photo's EXIF, XMP, IPTC and colour profile, read from the file and written into an export,
// through Exiv2 (JPEG, PNG, TIFF, WebP and the TIFF-based camera RAWs). HEIF and JPEG XL carry
// theirs in boxes that their codecs read and write (heif_codec.h, jxl_codec.h); what an export
// changes in the metadata is decided here for every format (for_export).
#pragma once

#include "core/imageio/image_file.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cm::imageio {

// What Exiv2 finds in a file's bytes. Damaged metadata is not a damaged photo: it is logged and
// left out, and the pixels still open.
FileMetadata read_metadata(const std::uint8_t* bytes, std::size_t size);

// The EXIF orientation (1…8) that says how to turn stored pixels upright; 1 when absent or invalid.
int exif_orientation(const FileMetadata& metadata);

// The metadata an exported photo of width×height pixels carries: its pixels are upright, so the
// orientation is 1 (EXIF and XMP); the embedded thumbnail, which shows the unedited photo, is
// dropped; Software names `software`; EXIF's pixel dimensions are the new ones.
FileMetadata for_export(const FileMetadata& metadata, int width, int height, const std::string& software);

// Writes metadata (EXIF, XMP, IPTC, ICC profile) into an encoded JPEG, PNG, TIFF or WebP file's
// bytes. Throws cm::Error(Io) when Exiv2 cannot write that file.
void embed_metadata(std::vector<std::uint8_t>& encoded, const FileMetadata& metadata, const std::string& name);

// "0.27.6", for --version.
std::string exiv2_version();

}  // namespace cm::imageio
