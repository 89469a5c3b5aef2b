#include "core/imageio/file_formats.h"

#include "core/base/error.h"
#include "core/imageio/file_chunks.h"
#include "core/imageio/heif_codec.h"
#include "core/imageio/image_header.h"
#include "core/imageio/jxl_codec.h"
#include "core/imageio/metadata.h"
#include "core/imageio/raw_codec.h"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <optional>

namespace cm::imageio {
namespace fs = std::filesystem;

namespace {

struct Writer {
  const char* extension;
  OutputFormat format;
};

// What each output extension keeps. BMP carries no metadata: an export to it is plain sRGB. AVIF
// and HEIC are written at 8 bits (heif_codec.cpp says why).
constexpr Writer kWriters[] = {
    // extension  name       16 bits alpha  metadata lossy (WebP: written lossless, OpenCV's default)
    {".png", {"PNG", true, true, true, false}},          {".jpg", {"JPEG", false, false, true, true}},
    {".jpeg", {"JPEG", false, false, true, true}},       {".tif", {"TIFF", true, true, true, false}},
    {".tiff", {"TIFF", true, true, true, false}},        {".webp", {"WebP", false, true, true, false}},
    {".avif", {"AVIF", false, true, true, true}},        {".heic", {"HEIC", false, true, true, true}},
    {".heif", {"HEIC", false, true, true, true}},        {".jxl", {"JPEG XL", true, true, true, true}},
    {".bmp", {"BMP", false, false, false, false}},
};

// The camera RAW formats LibRaw 0.20 develops, by their makers' extensions.
constexpr const char* kRawExtensions[] = {".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2",
                                          ".orf", ".rw2", ".raf", ".pef", ".srw", ".x3f", ".3fr", ".fff", ".iiq",
                                          ".mos", ".mrw", ".erf", ".kdc", ".dcr", ".rwl", ".raw"};

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

// Turns decoded pixels upright according to an EXIF orientation (OpenCV's IMREAD_UNCHANGED
// leaves them as the sensor saw them).
cv::Mat apply_orientation(const cv::Mat& m, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2: cv::flip(m, out, 1); return out;                                  // mirrored left-right
    case 3: cv::rotate(m, out, cv::ROTATE_180); return out;
    case 4: cv::flip(m, out, 0); return out;                                  // mirrored top-bottom
    case 5: cv::transpose(m, out); return out;                                // mirrored along the main diagonal
    case 6: cv::rotate(m, out, cv::ROTATE_90_CLOCKWISE); return out;
    case 7: cv::transpose(m, out); cv::flip(out, out, -1); return out;        // the other diagonal
    case 8: cv::rotate(m, out, cv::ROTATE_90_COUNTERCLOCKWISE); return out;
    default: return m;
  }
}

// Refuses what would not fit in memory before a decoder allocates it (image_header.h).
void check_pixel_count(const std::vector<std::uint8_t>& bytes, const fs::path& path) {
  const std::optional<PixelSize> size = read_pixel_size(bytes.data(), bytes.size());
  if (!size) return;
  if (size->width > kMaxPixels || size->height > kMaxPixels || size->width * size->height > kMaxPixels)
    throw Error(ErrorCode::Unsupported,
                fmt::format("cannot open {}: it is {}×{} pixels ({:.0f} megapixels); cmedit opens up to {} megapixels",
                            quoted(path), size->width, size->height, double(size->width) * double(size->height) / 1e6,
                            kMaxPixels / 1'000'000));
}

// The name of a format OpenCV decodes, from the file's first bytes.
std::string opencv_format(const std::vector<std::uint8_t>& b) {
  const auto starts = [&b](const char* magic, std::size_t n, std::size_t at = 0) {
    return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
  };
  if (starts("\x89PNG", 4)) return "PNG";
  if (starts("\xFF\xD8", 2)) return "JPEG";
  if (starts("II*\0", 4) || starts("MM\0*", 4)) return "TIFF";
  if (starts("RIFF", 4) && starts("WEBP", 4, 8)) return "WebP";
  if (starts("BM", 2)) return "BMP";
  return "image";
}

Decoded decode_with_opencv(const std::vector<std::uint8_t>& bytes, const fs::path& path) {
  check_pixel_count(bytes, path);
  Decoded out;
  try {
    if (!bytes.empty()) out.pixels = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::CorruptFile, "cannot decode " + quoted(path) + ": " + e.err);
  }
  if (out.pixels.empty())
    throw Error(ErrorCode::CorruptFile, "cannot decode " + quoted(path) + ": not an image, or corrupt or truncated");
  out.metadata = read_metadata(bytes.data(), bytes.size());
  out.pixels = apply_orientation(out.pixels, exif_orientation(out.metadata));
  out.format = opencv_format(bytes);
  return out;
}

}  // namespace

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCode::FileNotFound, "cannot open " + quoted(path) + ": no such file");
  if (fs::is_directory(path, ec)) throw Error(ErrorCode::FileNotFound, "cannot open " + quoted(path) + ": it is a folder");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::FileNotFound, "cannot open " + quoted(path) + ": permission denied or unreadable");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) throw Error(ErrorCode::Io, "reading " + quoted(path) + " failed");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (!bytes.empty() && !in.read(reinterpret_cast<char*>(bytes.data()), size)) throw Error(ErrorCode::Io, "reading " + quoted(path) + " failed");
  return bytes;
}

std::string lower_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext;
}

const OutputFormat* output_format(const std::string& extension) {
  for (const Writer& w : kWriters)
    if (extension == w.extension) return &w.format;
  return nullptr;
}

std::vector<WritableFormat> writable_formats() {
  std::vector<WritableFormat> out;  // a format's extensions stand together in kWriters
  for (const Writer& w : kWriters) {
    if (out.empty() || std::strcmp(out.back().format->name, w.format.name) != 0) out.push_back({&w.format, {}});
    out.back().extensions.push_back(w.extension);
  }
  return out;
}

std::string writable_extensions() {
  std::vector<std::string> first;  // one extension a format: .png, .jpg, …
  for (const WritableFormat& f : writable_formats()) first.push_back(f.extensions.front());
  std::string out = "use " + first.front();
  for (std::size_t i = 1; i < first.size(); ++i) out += (i + 1 == first.size() ? " or " : ", ") + first[i];
  return out;
}

bool is_raw_name(const fs::path& path) {
  const std::string ext = lower_extension(path);
  return std::any_of(std::begin(kRawExtensions), std::end(kRawExtensions), [&](const char* raw) { return ext == raw; });
}

std::vector<std::string> readable_extensions() {
  std::vector<std::string> out;
  for (const Writer& w : kWriters) out.push_back(w.extension);
  out.insert(out.end(), std::begin(kRawExtensions), std::end(kRawExtensions));
  return out;
}

bool is_image_file(const fs::path& path) {
  const std::string ext = lower_extension(path);
  return output_format(ext) != nullptr || is_raw_name(path);
}

fs::path writable_name(const fs::path& path) {
  if (output_format(lower_extension(path))) return path;
  fs::path tif = path;
  return tif.replace_extension(".tif");
}

Decoded decode_file(const fs::path& path) {
  Decoded out;
  {
    const std::vector<std::uint8_t> bytes = read_bytes(path);  // gone before the pixels are used
    const std::string name = quoted(path);
    if (is_heif(bytes.data(), bytes.size())) {
      out = decode_heif(bytes.data(), bytes.size(), name);  // upright by its own irot/imir boxes
    } else if (is_jxl(bytes.data(), bytes.size())) {
      out = decode_jxl(bytes.data(), bytes.size(), name);  // upright by its own orientation field
    } else if (is_raw_name(path)) {
      out = decode_raw(bytes.data(), bytes.size(), name);  // upright, developed into sRGB
      out.metadata = read_metadata(bytes.data(), bytes.size());
      out.metadata.icc.clear();
    } else {
      out = decode_with_opencv(bytes, path);
    }
  }
  const cv::Mat& mat = out.pixels;
  if (mat.depth() != CV_8U && mat.depth() != CV_16U)
    throw Error(ErrorCode::Unsupported, "cannot open " + quoted(path) + ": only 8- and 16-bit integer images are supported");
  if (mat.channels() != 1 && mat.channels() != 3 && mat.channels() != 4)
    throw Error(ErrorCode::Unsupported,
                fmt::format("cannot open {}: images with {} channels are not supported", quoted(path), mat.channels()));
  return out;
}

std::vector<std::uint8_t> encode_file(const std::string& ext, const ToEncode& in, const std::string& name) {
  if (ext == ".avif" || ext == ".heic" || ext == ".heif") return encode_heif(in, ext == ".avif", name);
  if (ext == ".jxl") return encode_jxl(in, name);
  std::vector<int> params;
  if (ext == ".jpg" || ext == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, in.quality};
  std::vector<std::uint8_t> bytes;
  try {
    if (!cv::imencode(ext, in.pixels, bytes, params)) throw Error(ErrorCode::Io, "cannot encode " + name);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::Io, "cannot encode " + name + ": " + e.err);
  }
  const OutputFormat* format = output_format(ext);
  if (format && format->metadata) {
    if (ext == ".webp") {  // the profile goes in by hand (file_chunks.h says why)
      FileMetadata rest = in.metadata;
      rest.icc.clear();
      embed_metadata(bytes, rest, name);
      set_webp_icc_profile(bytes, in.metadata.icc);
    } else {
      embed_metadata(bytes, in.metadata, name);
    }
  }
  if (ext == ".png") name_png_icc_profile(bytes);
  return bytes;
}

}  // namespace cm::imageio
