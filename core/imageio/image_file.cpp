#include "core/imageio/image_file.h"

#include "core/base/atomic_file.h"
#include "core/base/error.h"
#include "core/base/pixel_format.h"
#include "core/imageio/image_header.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <optional>
#include <fstream>

namespace cm::imageio {
namespace fs = std::filesystem;

int Image::width() const { return rgb.defined() ? int(rgb.size(3)) : 0; }
int Image::height() const { return rgb.defined() ? int(rgb.size(2)) : 0; }

namespace {

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

std::vector<uchar> read_bytes(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCode::FileNotFound, "cannot open " + quoted(path) + ": no such file");
  if (fs::is_directory(path, ec)) throw Error(ErrorCode::FileNotFound, "cannot open " + quoted(path) + ": it is a folder");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::FileNotFound, "cannot open " + quoted(path) + ": permission denied or unreadable");
  // One read of the whole file (a byte-wise iterator costs ~0.5 s for a 60 MB photo).
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) throw Error(ErrorCode::Io, "reading " + quoted(path) + " failed");
  std::vector<uchar> bytes(static_cast<std::size_t>(size));
  if (!bytes.empty() && !in.read(reinterpret_cast<char*>(bytes.data()), size)) throw Error(ErrorCode::Io, "reading " + quoted(path) + " failed");
  return bytes;
}

// HWC float32 Mat (already scaled) -> [1,C,H,W] tensor clamped to [lo, hi]. The clamp matters:
// OpenCV computes v·(2/255) − 1 in float, which gives 1.0000002 for v = 255.
at::Tensor to_nchw(const cv::Mat& hwc, double lo, double hi) {
  const cv::Mat m = hwc.isContinuous() ? hwc : hwc.clone();
  // clone, not contiguous(): for one channel the permuted view is already contiguous and would
  // keep pointing into the Mat's buffer after it is freed.
  return at::from_blob(m.data, {1, m.rows, m.cols, m.channels()}, at::kFloat)
      .permute({0, 3, 1, 2})
      .clone(at::MemoryFormat::Contiguous)
      .clamp_(lo, hi);
}

// [1,C,H,W] tensor -> HWC Mat of the given depth, values mapped from [lo, hi] to [0, max] and rounded.
cv::Mat to_hwc(const at::Tensor& nchw, double lo, double hi, int depth) {
  const double max_value = depth == CV_16U ? 65535.0 : 255.0;
  at::Tensor t = nchw.detach().to(at::kCPU, at::kFloat).clamp(lo, hi).sub(lo).mul(max_value / (hi - lo)).round();
  t = t[0].permute({1, 2, 0}).contiguous();
  const int channels = int(t.size(2));
  cv::Mat f(int(t.size(0)), int(t.size(1)), CV_MAKETYPE(CV_32F, channels), t.data_ptr<float>());
  cv::Mat out;
  f.convertTo(out, CV_MAKETYPE(depth, channels));
  return out;
}

// [1,C,H,W] stored pixels (pixel_format.h) -> HWC Mat of the given depth: 8 bits ↔ 16 bits by the
// exact scale 257 (255 ↔ 65535), without a float copy of a large photo.
cv::Mat stored_to_hwc(const at::Tensor& nchw, int depth) {
  const at::Tensor t = nchw.detach().to(at::kCPU)[0].permute({1, 2, 0}).contiguous();
  const int channels = int(t.size(2));
  const bool sixteen = t.scalar_type() == at::kShort;
  if (!sixteen && t.scalar_type() != at::kByte)
    throw Error(ErrorCode::BadArgument, "an image's pixels must be float, uint8 or int16");
  const cv::Mat m(int(t.size(0)), int(t.size(1)), CV_MAKETYPE(sixteen ? CV_16S : CV_8U, channels), t.data_ptr());
  cv::Mat out;
  if (!sixteen) {
    if (depth == CV_8U) return m.clone();  // already the file's bytes: one copy, not a conversion
    m.convertTo(out, CV_MAKETYPE(depth, channels), 257.0);
    return out;
  }
  m.convertTo(out, CV_MAKETYPE(CV_16U, channels), 1.0, double(pixels::kOffset16));
  if (depth == CV_8U) out.convertTo(out, CV_MAKETYPE(CV_8U, channels), 1.0 / 257.0);
  return out;
}

std::string lower_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext;
}

bool format_has_16_bit(const std::string& ext) { return ext == ".png" || ext == ".tif" || ext == ".tiff"; }
bool format_has_alpha(const std::string& ext) {
  return ext == ".png" || ext == ".tif" || ext == ".tiff" || ext == ".webp";
}

// A header segment of a JPEG: its marker and where its body lies in the file's bytes.
struct JpegSegment {
  int marker;
  std::size_t body, end;
};

// The first header segment (before the image data) that `wanted` accepts. Every length is
// checked against the bytes, which come from any file; a broken header ends the search.
std::optional<JpegSegment> find_jpeg_segment(const std::vector<uchar>& b,
                                             const std::function<bool(const JpegSegment&)>& wanted) {
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return std::nullopt;
  for (std::size_t pos = 2; pos + 4 <= b.size() && b[pos] == 0xFF;) {
    const JpegSegment segment{b[pos + 1], pos + 4, pos + 2 + ((std::size_t(b[pos + 2]) << 8) | b[pos + 3])};
    if (segment.marker == 0xDA || segment.end < segment.body || segment.end > b.size()) return std::nullopt;
    if (wanted(segment)) return segment;
    pos = segment.end;
  }
  return std::nullopt;
}

// The EXIF orientation tag (1…8) of a JPEG, 1 when absent or unreadable. Cameras store pixels
// as the sensor saw them and this tag says how to turn them upright; imdecode with
// IMREAD_UNCHANGED ignores it. Every read is bounds-checked: the bytes come from any file.
int jpeg_exif_orientation(const std::vector<uchar>& b) {
  const std::optional<JpegSegment> app1 = find_jpeg_segment(b, [&b](const JpegSegment& s) {
    return s.marker == 0xE1 && s.end - s.body >= 14 && std::memcmp(&b[s.body], "Exif\0\0", 6) == 0;
  });
  if (!app1) return 1;
  const std::size_t tiff = app1->body + 6, end = app1->end;
  const bool little = b[tiff] == 'I' && b[tiff + 1] == 'I';
  if (!little && !(b[tiff] == 'M' && b[tiff + 1] == 'M')) return 1;
  const auto u16 = [&](std::size_t at) -> std::size_t {
    if (at + 2 > end) return 0;
    return little ? (b[at] | (b[at + 1] << 8)) : ((b[at] << 8) | b[at + 1]);
  };
  const auto u32 = [&](std::size_t at) -> std::size_t {
    if (at + 4 > end) return 0;
    return little ? (std::size_t(u16(at)) | (std::size_t(u16(at + 2)) << 16))
                  : ((std::size_t(u16(at)) << 16) | std::size_t(u16(at + 2)));
  };
  const std::size_t ifd = tiff + u32(tiff + 4);
  if (ifd + 2 > end || ifd < tiff + 8) return 1;
  const std::size_t entries = u16(ifd);
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t entry = ifd + 2 + 12 * i;
    if (entry + 12 > end) return 1;
    if (u16(entry) == 0x0112) {
      const std::size_t value = u16(entry + 8);
      return value >= 1 && value <= 8 ? int(value) : 1;
    }
  }
  return 1;
}

// CRC-32 (ISO 3309, as PNG chunks use), bitwise: chunks here are small.
std::uint32_t crc32(const uchar* data, std::size_t n, std::uint32_t crc = 0xFFFFFFFFu) {
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc;
}

// Puts `text` into encoded bytes: a PNG iTXt chunk "Description" before IEND, or a JPEG COM
// segment right after SOI. Text longer than a JPEG comment can hold is cut.
void add_description(std::vector<uchar>& bytes, const std::string& ext, const std::string& text) {
  if (ext == ".png" && bytes.size() >= 12) {
    std::vector<uchar> chunk;
    // iTXt (UTF-8): keyword, no compression, no language tag, no translated keyword, text.
    const std::string data = std::string("Description") + std::string(5, '\0') + text;
    const std::uint32_t length = std::uint32_t(data.size());
    for (int shift : {24, 16, 8, 0}) chunk.push_back(uchar(length >> shift));
    chunk.insert(chunk.end(), {'i', 'T', 'X', 't'});
    chunk.insert(chunk.end(), data.begin(), data.end());
    const std::uint32_t crc = ~crc32(chunk.data() + 4, chunk.size() - 4);
    for (int shift : {24, 16, 8, 0}) chunk.push_back(uchar(crc >> shift));
    bytes.insert(bytes.end() - 12, chunk.begin(), chunk.end());  // IEND is the last 12 bytes
  } else if ((ext == ".jpg" || ext == ".jpeg") && bytes.size() >= 2) {
    const std::string data = text.substr(0, 65533);
    std::vector<uchar> segment = {0xFF, 0xFE, uchar((data.size() + 2) >> 8), uchar((data.size() + 2) & 0xFF)};
    segment.insert(segment.end(), data.begin(), data.end());
    bytes.insert(bytes.begin() + 2, segment.begin(), segment.end());
  }
}

// Turns decoded pixels upright according to an EXIF orientation.
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
void check_pixel_count(const std::vector<uchar>& bytes, const fs::path& path) {
  const std::optional<PixelSize> size = read_pixel_size(bytes.data(), bytes.size());
  if (!size) return;
  if (size->width > kMaxPixels || size->height > kMaxPixels || size->width * size->height > kMaxPixels)
    throw Error(ErrorCode::Unsupported,
                fmt::format("cannot open {}: it is {}×{} pixels ({:.0f} megapixels); cmedit opens up to {} megapixels",
                            quoted(path), size->width, size->height, double(size->width) * double(size->height) / 1e6,
                            kMaxPixels / 1'000'000));
}

}  // namespace

bool is_image_file(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  for (const char* known : {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"})
    if (ext == known) return true;
  return false;
}

namespace {

// A file's pixels, decoded and turned upright (8- or 16-bit, 1, 3 or 4 channels, as OpenCV gives
// them). The file's bytes are gone before the pixels are used.
cv::Mat decode(const fs::path& path) {
  cv::Mat mat;
  {
    const std::vector<uchar> bytes = read_bytes(path);
    check_pixel_count(bytes, path);
    try {
      if (!bytes.empty()) mat = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
      throw Error(ErrorCode::CorruptFile, "cannot decode " + quoted(path) + ": " + e.err);
    }
    if (mat.empty())
      throw Error(ErrorCode::CorruptFile, "cannot decode " + quoted(path) + ": not an image, or corrupt or truncated");
    mat = apply_orientation(mat, jpeg_exif_orientation(bytes));
  }
  if (mat.depth() != CV_8U && mat.depth() != CV_16U)
    throw Error(ErrorCode::Unsupported, "cannot open " + quoted(path) + ": only 8- and 16-bit integer images are supported");
  if (mat.channels() != 1 && mat.channels() != 3 && mat.channels() != 4)
    throw Error(ErrorCode::Unsupported,
                fmt::format("cannot open {}: images with {} channels are not supported", quoted(path), mat.channels()));
  return mat;
}

// HWC 8- or 16-bit Mat -> [1,C,H,W] in the stored form of core/base/pixel_format.h.
at::Tensor to_stored_nchw(const cv::Mat& hwc) {
  cv::Mat m = hwc.isContinuous() ? hwc : hwc.clone();
  at::ScalarType type = at::kByte;
  if (m.depth() == CV_16U) {
    cv::Mat shifted;
    m.convertTo(shifted, CV_MAKETYPE(CV_16S, m.channels()), 1.0, -double(pixels::kOffset16));
    m = shifted, type = at::kShort;
  }
  // clone: for one channel the permuted view is contiguous already and would keep pointing into the Mat.
  return at::from_blob(m.data, {1, m.rows, m.cols, m.channels()}, type).permute({0, 3, 1, 2}).clone(at::MemoryFormat::Contiguous);
}

}  // namespace

Image load_image(const fs::path& path, Pixels pixels) {
  cv::Mat mat = decode(path);
  Image image;
  image.bit_depth = mat.depth() == CV_16U ? 16 : 8;
  const double max_value = image.bit_depth == 16 ? 65535.0 : 255.0;
  cv::Mat rgb, alpha;
  switch (mat.channels()) {
    case 1: image.grayscale = true; cv::cvtColor(mat, rgb, cv::COLOR_GRAY2RGB); break;
    case 3: rgb = mat; cv::cvtColor(rgb, rgb, cv::COLOR_BGR2RGB); break;  // in place: one copy less of a large photo
    default:
      cv::extractChannel(mat, alpha, 3);
      cv::cvtColor(mat, rgb, cv::COLOR_BGRA2RGB);
  }
  mat.release();
  if (pixels == Pixels::Stored) {
    image.rgb = to_stored_nchw(rgb);
    if (!alpha.empty()) image.alpha = to_stored_nchw(alpha);
    return image;
  }
  cv::Mat rgb_f, alpha_f;
  rgb.convertTo(rgb_f, CV_32FC3, 2.0 / max_value, -1.0);
  rgb.release();
  image.rgb = to_nchw(rgb_f, -1.0, 1.0);
  if (!alpha.empty()) {
    alpha.convertTo(alpha_f, CV_32FC1, 1.0 / max_value);
    image.alpha = to_nchw(alpha_f, 0.0, 1.0);
  }
  return image;
}

at::Tensor load_mask(const fs::path& path) {
  const cv::Mat mat = decode(path);
  // White: the mean of the colour, times alpha where there is one, at least half the full scale;
  // summed in integers, so the threshold is exact.
  const int channels = mat.channels(), colours = channels == 4 ? 3 : channels;
  const double full = mat.depth() == CV_16U ? 65535.0 : 255.0;
  const double needed = 0.5 * colours * full * (channels == 4 ? full : 1.0);
  at::Tensor mask = at::empty({1, 1, mat.rows, mat.cols}, at::kByte);
  uint8_t* out = mask.data_ptr<uint8_t>();
  for (int y = 0; y < mat.rows; ++y) {
    const auto row = [&](auto* p) {
      for (int x = 0; x < mat.cols; ++x, p += channels) {
        double sum = 0;
        for (int c = 0; c < colours; ++c) sum += double(p[c]);
        if (channels == 4) sum *= double(p[3]);
        out[std::size_t(y) * std::size_t(mat.cols) + std::size_t(x)] = sum >= needed;
      }
    };
    if (mat.depth() == CV_16U) row(mat.ptr<uint16_t>(y));
    else row(mat.ptr<uint8_t>(y));
  }
  return mask;
}

void save_image(const fs::path& path, const Image& image, const SaveOptions& options) {
  if (!image.rgb.defined() || image.rgb.dim() != 4 || image.rgb.size(0) != 1 || image.rgb.size(1) != 3)
    throw Error(ErrorCode::BadArgument, "cannot save " + quoted(path) + ": the image must be a [1,3,H,W] tensor");
  if (options.bit_depth != 8 && options.bit_depth != 16)
    throw Error(ErrorCode::BadArgument, fmt::format("bit depth must be 8 or 16, got {}", options.bit_depth));
  if (options.jpeg_quality < 1 || options.jpeg_quality > 100)
    throw Error(ErrorCode::BadArgument, fmt::format("JPEG quality must lie in 1..100, got {}", options.jpeg_quality));
  const std::string ext = lower_extension(path);
  if (ext.empty() || !cv::haveImageWriter("x" + ext))
    throw Error(ErrorCode::Unsupported, "cannot save " + quoted(path) + ": unknown image format '" + ext +
                                            "' (use .png, .jpg, .tif, .webp or .bmp)");
  if (image.rgb.is_floating_point() && !at::isfinite(image.rgb).all().item<bool>())
    throw Error(ErrorCode::BadArgument, "cannot save " + quoted(path) + ": the image holds NaN or infinite values");

  const int depth = options.bit_depth == 16 && format_has_16_bit(ext) ? CV_16U : CV_8U;
  cv::Mat bgr;
  cv::cvtColor(image.rgb.is_floating_point() ? to_hwc(image.rgb, -1.0, 1.0, depth) : stored_to_hwc(image.rgb, depth), bgr,
               cv::COLOR_RGB2BGR);
  cv::Mat out = bgr;
  if (image.alpha.defined() && format_has_alpha(ext)) {
    const cv::Mat alpha = image.alpha.is_floating_point() ? to_hwc(image.alpha, 0.0, 1.0, depth) : stored_to_hwc(image.alpha, depth);
    cv::Mat planes[] = {bgr, alpha};
    cv::merge(planes, 2, out);
  }
  std::vector<int> params;
  if (ext == ".jpg" || ext == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality};
  std::vector<uchar> bytes;
  try {
    if (!cv::imencode(ext, out, bytes, params)) throw Error(ErrorCode::Io, "cannot encode " + quoted(path));
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::Io, "cannot encode " + quoted(path) + ": " + e.err);
  }
  if (!options.description.empty()) add_description(bytes, ext, options.description);
  write_file_atomically(path, bytes.data(), bytes.size());
}

std::vector<std::uint8_t> encode_jpeg(const at::Tensor& rgb8, int quality) {
  if (rgb8.dim() != 3 || rgb8.size(2) != 3 || rgb8.scalar_type() != at::kByte)
    throw Error(ErrorCode::BadArgument, "encode_jpeg needs [H, W, 3] uint8 pixels");
  if (quality < 1 || quality > 100) throw Error(ErrorCode::BadArgument, "JPEG quality must lie in 1..100");
  const at::Tensor c = rgb8.contiguous();
  const cv::Mat rgb(int(c.size(0)), int(c.size(1)), CV_8UC3, const_cast<uint8_t*>(c.data_ptr<uint8_t>()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<std::uint8_t> bytes;
  if (!cv::imencode(".jpg", bgr, bytes, {cv::IMWRITE_JPEG_QUALITY, quality})) throw Error(ErrorCode::Io, "OpenCV cannot encode JPEG");
  return bytes;
}

std::string read_description(const fs::path& path) {
  const std::vector<uchar> b = read_bytes(path);
  static const uchar png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (b.size() >= 8 && std::memcmp(b.data(), png_signature, 8) == 0) {
    for (std::size_t pos = 8; pos + 12 <= b.size();) {
      const std::size_t length = (std::size_t(b[pos]) << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3];
      if (pos + 12 + length > b.size()) break;
      const char* type = reinterpret_cast<const char*>(&b[pos + 4]);
      const std::string data(reinterpret_cast<const char*>(&b[pos + 8]), length);
      const std::string key = std::string("Description") + '\0';
      if (std::memcmp(type, "tEXt", 4) == 0 && data.rfind(key, 0) == 0) return data.substr(key.size());
      if (std::memcmp(type, "iTXt", 4) == 0 && data.rfind(key, 0) == 0 && data.size() >= key.size() + 2 &&
          data[key.size()] == 0) {  // uncompressed: skip flag, method, language tag and translated keyword
        std::size_t at = key.size() + 2;
        for (int field = 0; field < 2 && at < data.size(); ++field) at = data.find('\0', at) + 1;
        if (at != 0 && at <= data.size()) return data.substr(at);
      }
      pos += 12 + length;
    }
  } else if (const auto comment = find_jpeg_segment(b, [](const JpegSegment& s) { return s.marker == 0xFE; })) {
    return std::string(reinterpret_cast<const char*>(&b[comment->body]), comment->end - comment->body);
  }
  return {};
}

Rgba8 to_rgba8(const Image& image) {
  Rgba8 out;
  out.width = image.width();
  out.height = image.height();
  // Stored pixels as 0…255 directly (16 bits by the scale 257), floats from their unit ranges.
  const auto bytes = [](const at::Tensor& x, double lo, double hi) {
    const at::Tensor c = x.detach().to(at::kCPU);
    if (c.scalar_type() == at::kByte) return c.to(at::kFloat);
    if (c.scalar_type() == at::kShort) return c.to(at::kFloat).add(double(pixels::kOffset16)).div(257.0).round();
    return c.to(at::kFloat).clamp(lo, hi).sub(lo).mul(255.0 / (hi - lo)).round();
  };
  at::Tensor rgb = bytes(image.rgb, -1.0, 1.0);
  at::Tensor a = image.alpha.defined() ? bytes(image.alpha, 0.0, 1.0) : at::full({1, 1, out.height, out.width}, 255.0f);
  at::Tensor rgba = at::cat({rgb, a}, 1)[0].permute({1, 2, 0}).to(at::kByte).contiguous();
  out.pixels.assign(rgba.data_ptr<std::uint8_t>(), rgba.data_ptr<std::uint8_t>() + rgba.numel());
  return out;
}

Component opencv_component() { return {"OpenCV", cv::getVersionString(), "image files"}; }

}  // namespace cm::imageio
