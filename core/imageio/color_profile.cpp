#include "core/imageio/color_profile.h"

#include "core/base/error.h"
#include "core/imageio/file_metadata.h"
#include "core/imageio/matrix_shaper.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <lcms2.h>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>

namespace cm::imageio {
namespace {

struct ProfileCloser {
  void operator()(void* p) const { cmsCloseProfile(p); }
};
struct TransformDeleter {
  void operator()(void* t) const { cmsDeleteTransform(t); }
};
using Profile = std::unique_ptr<void, ProfileCloser>;
using Transform = std::unique_ptr<void, TransformDeleter>;

void use_lcms() {
  static std::once_flag once;
  std::call_once(once, [] {
    cmsSetLogErrorHandler([](cmsContext, cmsUInt32Number, const char* text) { spdlog::debug("lcms: {}", text); });
  });
}

Profile open_profile(const std::vector<std::uint8_t>& icc) {
  use_lcms();
  if (icc.empty()) return Profile(cmsCreate_sRGBProfile());
  return Profile(cmsOpenProfileFromMem(icc.data(), cmsUInt32Number(icc.size())));
}

// A float transform between two RGB profiles: LittleCMS evaluates matrix-shaper pairs in floating
// point without a lookup table, so a conversion there and back returns the same values.
Transform float_transform(const Profile& from, const Profile& to) {
  Transform t(cmsCreateTransform(from.get(), TYPE_RGB_FLT, to.get(), TYPE_RGB_FLT, INTENT_RELATIVE_COLORIMETRIC,
                                 cmsFLAGS_NOCACHE | cmsFLAGS_NOOPTIMIZE));
  if (!t) throw Error(ErrorCode::Unsupported, "LittleCMS cannot convert between the photo's colour profile and sRGB");
  return t;
}

// B,G,R(,A) integers → R,G,B floats in [0, 1] through `transform` → B,G,R(,A) integers of `depth`.
cv::Mat convert(const cv::Mat& pixels, const Transform& transform, int depth) {
  const double in_max = pixels.depth() == CV_16U ? 65535.0 : 255.0, out_max = depth == CV_16U ? 65535.0 : 255.0;
  cv::Mat bgr, alpha;
  if (pixels.channels() == 4) {
    cv::extractChannel(pixels, alpha, 3);
    cv::cvtColor(pixels, bgr, cv::COLOR_BGRA2BGR);
  } else {
    bgr = pixels;
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(rgb, CV_32FC3, 1.0 / in_max);
  // LittleCMS's transforms may run on several threads at once (no cache: cmsFLAGS_NOCACHE).
  at::parallel_for(0, rgb.rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t y = begin; y < end; ++y) {
      float* row = rgb.ptr<float>(int(y));
      cmsDoTransform(transform.get(), row, row, cmsUInt32Number(rgb.cols));
    }
  });
  cv::Mat out;
  rgb.convertTo(out, CV_MAKETYPE(depth, 3), out_max);  // saturating: clips what lies outside the gamut
  cv::cvtColor(out, out, cv::COLOR_RGB2BGR);
  if (!alpha.empty()) {
    if (alpha.depth() != depth) alpha.convertTo(alpha, depth, depth == CV_16U ? 257.0 : 1.0 / 257.0);
    cv::Mat planes[] = {out, alpha};
    cv::merge(planes, 2, out);
  }
  return out;
}

// The fast tables of matrix_shaper.h where both profiles allow them, else LittleCMS's own float
// transform (profiles built on lookup tables).
cv::Mat convert_between(const cv::Mat& pixels, const Profile& from, const Profile& to, int depth) {
  if (!from || !to) throw Error(ErrorCode::CorruptFile, "the photo's colour profile is damaged");
  if (const std::optional<MatrixShaper> fast = MatrixShaper::between(from.get(), to.get()))
    if (std::optional<cv::Mat> out = fast->convert(pixels, depth)) return std::move(*out);
  return convert(pixels, float_transform(from, to), depth);
}

}  // namespace

ProfileKind profile_kind(const std::vector<std::uint8_t>& icc) {
  if (icc.empty()) return ProfileKind::Srgb;
  const Profile profile = open_profile(icc);
  if (!profile || cmsGetColorSpace(profile.get()) != cmsSigRgbData) return ProfileKind::Unusable;
  const Profile srgb = open_profile({});
  Transform t(cmsCreateTransform(profile.get(), TYPE_RGB_FLT, srgb.get(), TYPE_RGB_FLT, INTENT_RELATIVE_COLORIMETRIC,
                                 cmsFLAGS_NOCACHE | cmsFLAGS_NOOPTIMIZE));
  if (!t) return ProfileKind::Unusable;
  // Its colours on a grid of 9³ values, against sRGB's own: a profile that is sRGB by another
  // maker (a camera's, a phone's "sRGB IEC61966-2.1") passes well within a quarter of a step.
  constexpr int n = 9;
  std::vector<float> grid;
  for (int r = 0; r < n; ++r)
    for (int g = 0; g < n; ++g)
      for (int b = 0; b < n; ++b) grid.insert(grid.end(), {r / float(n - 1), g / float(n - 1), b / float(n - 1)});
  std::vector<float> out(grid.size());
  cmsDoTransform(t.get(), grid.data(), out.data(), cmsUInt32Number(grid.size() / 3));
  float worst = 0;
  for (std::size_t i = 0; i < grid.size(); ++i) worst = std::max(worst, std::abs(out[i] - grid[i]));
  return worst <= 0.25f / 255.0f ? ProfileKind::Srgb : ProfileKind::OtherRgb;
}

cv::Mat to_srgb(const cv::Mat& pixels, const std::vector<std::uint8_t>& icc) {
  return convert_between(pixels, open_profile(icc), open_profile({}), CV_16U);
}

cv::Mat from_srgb(const cv::Mat& pixels, const std::vector<std::uint8_t>& icc, int depth) {
  return convert_between(pixels, open_profile({}), open_profile(icc), depth);
}

cv::Mat to_srgb_by_lcms(const cv::Mat& pixels, const std::vector<std::uint8_t>& icc) {
  const Profile from = open_profile(icc), srgb = open_profile({});
  return convert(pixels, float_transform(from, srgb), CV_16U);
}

namespace {

template <typename Converted, typename Source>
void put_back(cv::Mat& converted, const cv::Mat& working, const cv::Mat& loaded, const cv::Mat& source) {
  const int cc = converted.channels(), wc = working.channels(), lc = loaded.channels(), sc = source.channels();
  // 8 ↔ 16 bits by the exact scale 257 (255 ↔ 65535).
  const double scale = double(std::numeric_limits<Converted>::max()) / double(std::numeric_limits<Source>::max());
  at::parallel_for(0, converted.rows, 64, [&](int64_t begin, int64_t end) {
    for (int y = int(begin); y < int(end); ++y) {
      Converted* out = converted.ptr<Converted>(y);
      const std::uint16_t* now = working.ptr<std::uint16_t>(y);
      const std::uint16_t* then = loaded.ptr<std::uint16_t>(y);
      const Source* file = source.ptr<Source>(y);
      for (int x = 0; x < converted.cols; ++x)
        if (now[x * wc] == then[x * lc] && now[x * wc + 1] == then[x * lc + 1] && now[x * wc + 2] == then[x * lc + 2])
          for (int c = 0; c < 3; ++c) out[x * cc + c] = Converted(std::lround(double(file[x * sc + c]) * scale));
    }
  });
}

}  // namespace

void keep_untouched_pixels(cv::Mat& converted, const cv::Mat& working, const SourcePixels& source) {
  const cv::Mat& file = source.pixels;
  if (file.size() != converted.size() || file.size() != working.size() || working.depth() != CV_16U || file.channels() < 3 ||
      converted.channels() < 3)
    return;
  const cv::Mat loaded = to_srgb(file, source.icc);  // exactly what the photo opened as: the same float transform
  const bool out16 = converted.depth() == CV_16U, file16 = file.depth() == CV_16U;
  if (out16 && file16) put_back<std::uint16_t, std::uint16_t>(converted, working, loaded, file);
  else if (out16) put_back<std::uint16_t, std::uint8_t>(converted, working, loaded, file);
  else if (file16) put_back<std::uint8_t, std::uint16_t>(converted, working, loaded, file);
  else put_back<std::uint8_t, std::uint8_t>(converted, working, loaded, file);
}

std::vector<std::uint8_t> srgb_profile() {
  const Profile srgb = open_profile({});
  cmsUInt32Number size = 0;
  if (!cmsSaveProfileToMem(srgb.get(), nullptr, &size)) return {};
  std::vector<std::uint8_t> bytes(size);
  if (!cmsSaveProfileToMem(srgb.get(), bytes.data(), &size)) return {};
  return bytes;
}

std::vector<std::uint8_t> profile_for(const CodedColours& c) {
  use_lcms();
  // Parametric curves of type 4 (Y = (aX + b)^g for X ≥ d, else cX) for each transfer.
  std::vector<cmsFloat64Number> curve;
  switch (c.transfer) {
    case 2: case 13: curve = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045}; break;
    case 1: case 6: case 14: case 15: curve = {1.0 / 0.45, 1.0 / 1.099, 0.099 / 1.099, 1.0 / 4.5, 0.081}; break;
    case 8: curve = {1.0, 1.0, 0.0, 1.0, 0.0}; break;
    case 4: curve = {2.2, 1.0, 0.0, 1.0, 0.0}; break;
    case 5: curve = {2.8, 1.0, 0.0, 1.0, 0.0}; break;
    default:
      spdlog::warn("the photo's transfer characteristics ({}) are HDR or unknown: it is shown as sRGB, without tone mapping", c.transfer);
      return {};
  }
  const cmsCIExyY white = {c.white[0], c.white[1], 1.0};
  const cmsCIExyYTRIPLE primaries = {{c.red[0], c.red[1], 1.0}, {c.green[0], c.green[1], 1.0}, {c.blue[0], c.blue[1], 1.0}};
  cmsToneCurve* tone = cmsBuildParametricToneCurve(nullptr, 4, curve.data());
  if (!tone) return {};
  cmsToneCurve* curves[3] = {tone, tone, tone};
  const Profile profile(cmsCreateRGBProfile(&white, &primaries, curves));
  cmsFreeToneCurve(tone);
  // Named as the user knows it in the status bar and the export dialog.
  const std::string gamut = c.primaries == 12 ? "Display P3" : c.primaries == 11 ? "DCI-P3" : c.primaries == 9 ? "BT.2020"
                            : c.primaries == 1 ? "BT.709" : fmt::format("H.273 primaries {}", c.primaries);
  const std::string name = c.transfer == 2 || c.transfer == 13 ? gamut : fmt::format("{} (transfer {})", gamut, c.transfer);
  if (profile) {
    cmsMLU* description = cmsMLUalloc(nullptr, 1);
    cmsMLUsetASCII(description, "en", "US", name.c_str());
    cmsWriteTag(profile.get(), cmsSigProfileDescriptionTag, description);
    cmsMLUfree(description);
  }
  std::vector<std::uint8_t> bytes;
  cmsUInt32Number size = 0;
  if (profile && cmsSaveProfileToMem(profile.get(), nullptr, &size)) {
    bytes.resize(size);
    if (!cmsSaveProfileToMem(profile.get(), bytes.data(), &size)) bytes.clear();
  }
  return profile_kind(bytes) == ProfileKind::Srgb ? std::vector<std::uint8_t>() : bytes;
}

std::string colour_profile_name(const FileMetadata& metadata) {
  if (metadata.icc.empty()) return "sRGB";
  const Profile profile = open_profile(metadata.icc);
  char text[256] = {};
  if (!profile || !cmsGetProfileInfoASCII(profile.get(), cmsInfoDescription, "en", "US", text, sizeof text) || !text[0])
    return "an unnamed colour profile";
  return text;
}

std::string lcms_version() { return fmt::format("{}.{}", cmsGetEncodedCMMversion() / 1000, cmsGetEncodedCMMversion() % 1000 / 10); }

}  // namespace cm::imageio
