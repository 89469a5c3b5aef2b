#include "core/imageio/image_file.h"

#include "core/base/atomic_file.h"
#include "core/base/error.h"
#include "core/base/pixel_format.h"
#include "core/imageio/color_profile.h"
#include "core/imageio/file_chunks.h"
#include "core/imageio/file_formats.h"
#include "core/imageio/heif_codec.h"
#include "core/imageio/jxl_codec.h"
#include "core/imageio/metadata.h"
#include "core/imageio/raw_codec.h"

#include <spdlog/spdlog.h>

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

// The photo's pixels in sRGB, the space the model and the canvas work in (color_profile.h). A
// profile that cannot be used is dropped with a warning: the photo still opens, as untagged sRGB.
void convert_to_srgb(Decoded& decoded, const fs::path& path) {
  std::vector<std::uint8_t>& icc = decoded.metadata.icc;
  const ProfileKind kind = profile_kind(icc);
  if (kind == ProfileKind::OtherRgb && decoded.pixels.channels() >= 3) {
    const cv::Mat file = decoded.pixels;
    decoded.pixels = to_srgb(file, icc);
    decoded.metadata.source = std::make_shared<const SourcePixels>(SourcePixels{file, icc});
  } else if (kind != ProfileKind::Srgb) {
    spdlog::warn("{}: its colour profile is {} and is not used; the photo is taken as sRGB", path.string(),
                 kind == ProfileKind::Unusable ? "damaged or not an RGB profile" : "an RGB profile on grey pixels");
    icc.clear();
  }
}

}  // namespace

Image load_image(const fs::path& path, Pixels pixels) {
  Decoded decoded = decode_file(path);
  Image image;
  image.bit_depth = decoded.pixels.depth() == CV_16U ? 16 : 8;  // of the file, before a conversion to sRGB widens it
  convert_to_srgb(decoded, path);
  image.metadata = std::move(decoded.metadata);
  image.format = std::move(decoded.format);
  cv::Mat mat = std::move(decoded.pixels);
  const double max_value = mat.depth() == CV_16U ? 65535.0 : 255.0;
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
  const cv::Mat mat = decode_file(path).pixels;  // a mask is not a colour: no conversion
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
  const OutputFormat* format = output_format(ext);
  if (!format)
    throw Error(ErrorCode::Unsupported,
                "cannot save " + quoted(path) + ": unknown image format '" + ext + "' (" + writable_extensions() + ")");
  if (image.rgb.is_floating_point() && !at::isfinite(image.rgb).all().item<bool>())
    throw Error(ErrorCode::BadArgument, "cannot save " + quoted(path) + ": the image holds NaN or infinite values");

  // What goes with the pixels: the photo's metadata as an export carries it (metadata.h), or only
  // its colour profile when the user strips the rest; nothing for a format that has no place for it.
  FileMetadata metadata;
  if (format->metadata) {
    const FileMetadata& source = image.metadata;
    if (!options.strip_metadata && (!source.exif.empty() || !source.xmp.empty() || !source.iptc.empty()))
      metadata = for_export(source, image.width(), image.height(), "cmedit " + base_components().front().version);
    metadata.icc = source.icc;
    if (options.colour == SaveOptions::Colour::Srgb && !metadata.icc.empty() && profile_kind(metadata.icc) != ProfileKind::Srgb)
      metadata.icc = srgb_profile();
  }
  // The pixels are sRGB; a photo with another profile goes back into it, from 16 bits so that an
  // 8-bit photo's untouched pixels come back as they were.
  const bool convert = !metadata.icc.empty() && profile_kind(metadata.icc) == ProfileKind::OtherRgb;
  const int depth = options.bit_depth == 16 && format->bits16 ? CV_16U : CV_8U, work_depth = convert ? CV_16U : depth;
  cv::Mat bgr;
  cv::cvtColor(image.rgb.is_floating_point() ? to_hwc(image.rgb, -1.0, 1.0, work_depth) : stored_to_hwc(image.rgb, work_depth),
               bgr, cv::COLOR_RGB2BGR);
  ToEncode encode{bgr, std::move(metadata), options.jpeg_quality};
  if (image.alpha.defined() && format->alpha) {
    const cv::Mat alpha = image.alpha.is_floating_point() ? to_hwc(image.alpha, 0.0, 1.0, work_depth)
                                                          : stored_to_hwc(image.alpha, work_depth);
    cv::Mat planes[] = {bgr, alpha};
    cv::merge(planes, 2, encode.pixels);
  }
  if (convert) {
    const cv::Mat working = encode.pixels;
    encode.pixels = from_srgb(working, encode.metadata.icc, depth);
    const std::shared_ptr<const SourcePixels>& source = image.metadata.source;
    if (source && source->icc == encode.metadata.icc) keep_untouched_pixels(encode.pixels, working, *source);
  }
  std::vector<std::uint8_t> bytes = encode_file(ext, encode, quoted(path));
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

std::vector<Component> imageio_components() {
  return {{"OpenCV", cv::getVersionString(), "PNG, JPEG, TIFF, WebP, BMP"},
          {"libheif", heif_version(), "HEIC, AVIF"},
          {"libjxl", jxl_version(), "JPEG XL"},
          {"LibRaw", libraw_version_string(), "camera RAW"},
          {"Exiv2", exiv2_version(), "EXIF, XMP, IPTC"},
          {"LittleCMS", lcms_version(), "colour profiles"}};
}

}  // namespace cm::imageio
