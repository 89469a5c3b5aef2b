// Image files <-> tensors. The rest of cmedit sees an image as a float tensor in [-1, 1]; this
// is the only core code that knows pixels are bytes, so pixel formats live in one place.
#pragma once

#include "core/base/build_info.h"
#include "core/imageio/file_metadata.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cm::imageio {

struct Image {
  // [1,3,H,W] float32 in [-1, 1]; a gray file gives three equal channels. Loaded with
  // Pixels::Stored: the file's own integers instead (uint8, or offset int16 for 16 bits:
  // core/base/pixel_format.h), a quarter (or half) of the memory, for photos of tens of megapixels.
  at::Tensor rgb;
  at::Tensor alpha;        // [1,1,H,W] float32 in [0, 1] (stored: integers like rgb); undefined when the file has no alpha
  int bit_depth = 8;       // of the source file: 8 or 16
  bool grayscale = false;  // the source file had a single gray channel
  // What the file held besides pixels, for the export. The pixels above are sRGB: a photo with
  // another colour profile (metadata.icc) was converted on load, into 16-bit stored pixels.
  FileMetadata metadata;
  std::string format;  // "JPEG", "HEIC", "RAW (Canon EOS 5D)": what the user opened

  int width() const;
  int height() const;
};

enum class Pixels { Float, Stored };

// Reads PNG, JPEG, TIFF, WebP, BMP (through OpenCV), HEIC and AVIF (libheif), JPEG XL (libjxl)
// and camera RAW (LibRaw, by the file's extension), 8- or 16-bit, gray, RGB or RGBA, turned
// upright by its orientation, converted into sRGB from its colour profile. Throws cm::Error: FileNotFound (missing/unreadable), CorruptFile (cannot be decoded),
// Unsupported (e.g. floating-point HDR pixels). The message names the file.
Image load_image(const std::filesystem::path& path, Pixels pixels = Pixels::Float);

// The extensions load_image reads, lower case with the dot (".png", ".heic", ".dng", …): what an
// Open dialog offers.
std::vector<std::string> readable_extensions();

// Whether a file's name says it is an image load_image reads (the formats above, any case): what
// folders of photos are filtered by.
bool is_image_file(const std::filesystem::path& path);

// The name an edited copy of `path` is written under: the same, or with .tif for a camera RAW,
// which cmedit reads but cannot write (TIFF keeps its 16 bits and its metadata).
std::filesystem::path writable_name(const std::filesystem::path& path);

// A mask painted as an image: white = edit, black = keep; where the file has alpha, transparent
// pixels keep too. Thresholded at half grey, so JPEG ringing never marks a pixel. [1,1,H,W]
// uint8 of 0 and 1 (a byte a pixel: a 50-megapixel mask is 50 MB). Throws like load_image.
at::Tensor load_mask(const std::filesystem::path& path);

struct SaveOptions {
  int bit_depth = 8;       // 16 is written where the format allows it (PNG, TIFF), else 8
  int jpeg_quality = 95;   // 1..100
  // Written into the file where the format has a place for text: a PNG "Description" text chunk,
  // a JPEG comment (e.g. the edit's parameters). Ignored for other formats.
  std::string description;
  // Leave out EXIF, XMP and IPTC (camera, place, date: privacy). The colour profile stays, since
  // without it the colours would change.
  bool strip_metadata = false;
  // Original: back into the photo's own colour profile and tagged with it. Srgb: sRGB pixels,
  // tagged sRGB (an untagged photo stays untagged either way).
  enum class Colour { Original, Srgb } colour = Colour::Original;
};

// Writes by file extension (PNG, JPEG, TIFF, WebP, AVIF, HEIC, JPEG XL, BMP) with the image's
// metadata where the format has a place for it; the image's pixels may be float or stored (load_image). The write is atomic: the image goes to a temporary file beside the
// target, which is renamed over it only when complete, so a failure (unknown extension, full
// disk, read-only folder) throws cm::Error and leaves any existing file untouched.
void save_image(const std::filesystem::path& path, const Image& image, const SaveOptions& options = {});

// [H, W, 3] uint8 RGB as JPEG bytes (for image packs). Throws cm::Error(BadArgument) for other
// pixels, Io when OpenCV cannot encode.
std::vector<std::uint8_t> encode_jpeg(const at::Tensor& rgb8, int quality);

// The description stored by save_image (PNG text chunk "Description" or JPEG comment), empty if none.
std::string read_description(const std::filesystem::path& path);

// 8-bit RGBA, row-major, for display (alpha 255 where the image has none).
struct Rgba8 {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // width·height·4 bytes
};
Rgba8 to_rgba8(const Image& image);

// The image libraries and their versions, for --version.
std::vector<Component> imageio_components();

}  // namespace cm::imageio
