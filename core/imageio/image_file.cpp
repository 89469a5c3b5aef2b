#include "core/imageio/image_file.h"

#include "core/base/atomic_file.h"
#include "core/base/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
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
  std::vector<uchar> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorCode::Io, "reading " + quoted(path) + " failed");
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

std::string lower_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext;
}

bool format_has_16_bit(const std::string& ext) { return ext == ".png" || ext == ".tif" || ext == ".tiff"; }
bool format_has_alpha(const std::string& ext) {
  return ext == ".png" || ext == ".tif" || ext == ".tiff" || ext == ".webp";
}

}  // namespace

Image load_image(const fs::path& path) {
  const std::vector<uchar> bytes = read_bytes(path);
  cv::Mat mat;
  try {
    if (!bytes.empty()) mat = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::CorruptFile, "cannot decode " + quoted(path) + ": " + e.err);
  }
  if (mat.empty())
    throw Error(ErrorCode::CorruptFile, "cannot decode " + quoted(path) + ": not an image, or corrupt or truncated");

  Image image;
  switch (mat.depth()) {
    case CV_8U: image.bit_depth = 8; break;
    case CV_16U: image.bit_depth = 16; break;
    default:
      throw Error(ErrorCode::Unsupported,
                  "cannot open " + quoted(path) + ": only 8- and 16-bit integer images are supported");
  }
  const double max_value = image.bit_depth == 16 ? 65535.0 : 255.0;

  cv::Mat rgb, alpha;
  switch (mat.channels()) {
    case 1: image.grayscale = true; cv::cvtColor(mat, rgb, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(mat, rgb, cv::COLOR_BGR2RGB); break;
    case 4:
      cv::cvtColor(mat, rgb, cv::COLOR_BGRA2RGB);
      cv::extractChannel(mat, alpha, 3);
      break;
    default:
      throw Error(ErrorCode::Unsupported,
                  fmt::format("cannot open {}: images with {} channels are not supported", quoted(path), mat.channels()));
  }
  cv::Mat rgb_f, alpha_f;
  rgb.convertTo(rgb_f, CV_32FC3, 2.0 / max_value, -1.0);
  image.rgb = to_nchw(rgb_f, -1.0, 1.0);
  if (!alpha.empty()) {
    alpha.convertTo(alpha_f, CV_32FC1, 1.0 / max_value);
    image.alpha = to_nchw(alpha_f, 0.0, 1.0);
  }
  return image;
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
  if (!at::isfinite(image.rgb).all().item<bool>())
    throw Error(ErrorCode::BadArgument, "cannot save " + quoted(path) + ": the image holds NaN or infinite values");

  const int depth = options.bit_depth == 16 && format_has_16_bit(ext) ? CV_16U : CV_8U;
  cv::Mat bgr;
  cv::cvtColor(to_hwc(image.rgb, -1.0, 1.0, depth), bgr, cv::COLOR_RGB2BGR);
  cv::Mat out = bgr;
  if (image.alpha.defined() && format_has_alpha(ext)) {
    const cv::Mat alpha = to_hwc(image.alpha, 0.0, 1.0, depth);
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
  write_file_atomically(path, bytes.data(), bytes.size());
}

Rgba8 to_rgba8(const Image& image) {
  Rgba8 out;
  out.width = image.width();
  out.height = image.height();
  at::Tensor rgb = image.rgb.detach().to(at::kCPU, at::kFloat).clamp(-1, 1).add(1).mul(127.5).round();
  at::Tensor a = image.alpha.defined() ? image.alpha.detach().to(at::kCPU, at::kFloat).clamp(0, 1).mul(255).round()
                                       : at::full({1, 1, out.height, out.width}, 255.0f);
  at::Tensor rgba = at::cat({rgb, a}, 1)[0].permute({1, 2, 0}).to(at::kByte).contiguous();
  out.pixels.assign(rgba.data_ptr<std::uint8_t>(), rgba.data_ptr<std::uint8_t>() + rgba.numel());
  return out;
}

Component opencv_component() { return {"OpenCV", cv::getVersionString(), "image files"}; }

}  // namespace cm::imageio
