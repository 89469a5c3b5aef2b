// What each output format keeps (16 bits, alpha, metadata, a quality), from the one table in
// file_formats.cpp: for imageio itself and for the editor's export dialog, which must not list it
// again. No torch, no OpenCV.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace cm::imageio {

struct OutputFormat {
  const char* name;  // "JPEG"
  bool bits16;       // keeps 16 bits
  bool alpha;
  bool metadata;     // carries EXIF, XMP and an ICC profile
  bool lossy;        // takes a quality (SaveOptions::jpeg_quality; JPEG XL at 100 is lossless)
};

// ".jpg" for "a/B.JPG".
std::string lower_extension(const std::filesystem::path& path);

// Whether a file's name says it is a camera RAW file (.dng, .cr2, .nef, .arw, …; any case): RAW
// files are TIFF-like or maker-specific, so they are told by name, not by their first bytes.
bool is_raw_name(const std::filesystem::path& path);

// The format an output name asks for; nullptr when cmedit cannot write it.
const OutputFormat* output_format(const std::string& extension);

// Every format cmedit writes, in the table's order (PNG first), with its extensions (".jpg",
// ".jpeg"): for usage texts and the export dialog's file types.
struct WritableFormat {
  const OutputFormat* format;
  std::vector<std::string> extensions;
};
std::vector<WritableFormat> writable_formats();

}  // namespace cm::imageio
