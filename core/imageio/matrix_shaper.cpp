#include "core/imageio/matrix_shaper.h"

#include <ATen/Parallel.h>
#include <lcms2.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace cm::imageio {
namespace {

constexpr int kEncodeSteps = 1 << 16;  // of √linear: the curve's error is far under 1/65535 (near 0 it is linear)

// The colorants as columns: linear RGB → PCS XYZ (D50, as ICC profiles store them).
bool colorant_matrix(cmsHPROFILE p, double m[3][3]) {
  const cmsTagSignature tags[3] = {cmsSigRedColorantTag, cmsSigGreenColorantTag, cmsSigBlueColorantTag};
  for (int c = 0; c < 3; ++c) {
    const auto* xyz = static_cast<const cmsCIEXYZ*>(cmsReadTag(p, tags[c]));
    if (!xyz) return false;
    m[0][c] = xyz->X, m[1][c] = xyz->Y, m[2][c] = xyz->Z;
  }
  return true;
}

bool invert(const double a[3][3], double out[3][3]) {
  const double det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
                     a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
  if (std::abs(det) < 1e-12) return false;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      const int r1 = (c + 1) % 3, r2 = (c + 2) % 3, c1 = (r + 1) % 3, c2 = (r + 2) % 3;
      out[r][c] = (a[r1][c1] * a[r2][c2] - a[r1][c2] * a[r2][c1]) / det;
    }
  return true;
}

template <typename In, typename Out>
void run(const cv::Mat& in, cv::Mat& out, const std::array<std::vector<float>, 3>& linear,
         const std::array<std::vector<float>, 3>& encode, const float m[3][3]) {
  const int ic = in.channels(), oc = out.channels();
  const float out_max = float(std::numeric_limits<Out>::max());
  const double alpha_scale = double(std::numeric_limits<Out>::max()) / double(std::numeric_limits<In>::max());
  at::parallel_for(0, in.rows, 16, [&](int64_t begin, int64_t end) {
    for (int y = int(begin); y < int(end); ++y) {
      const In* src = in.ptr<In>(y);
      Out* dst = out.ptr<Out>(y);
      for (int x = 0; x < in.cols; ++x, src += ic, dst += oc) {
        const float r = linear[0][src[2]], g = linear[1][src[1]], b = linear[2][src[0]];  // B,G,R in memory
        for (int c = 0; c < 3; ++c) {
          const float mixed = m[c][0] * r + m[c][1] * g + m[c][2] * b;
          const float v = mixed > 0 ? std::min(mixed, 1.0f) : 0.0f;  // the gamut's edge (and NaN to 0)
          const float at = std::sqrt(v) * float(kEncodeSteps);
          const int i = std::min(int(at), kEncodeSteps - 1);
          const float encoded = encode[c][std::size_t(i)] + (at - float(i)) * (encode[c][std::size_t(i) + 1] - encode[c][std::size_t(i)]);
          dst[2 - c] = Out(std::clamp(encoded, 0.0f, 1.0f) * out_max + 0.5f);
        }
        if (ic == 4 && oc == 4) dst[3] = Out(std::lround(double(src[3]) * alpha_scale));
      }
    }
  });
}

}  // namespace

std::optional<MatrixShaper> MatrixShaper::between(void* from, void* to) {
  if (!from || !to || cmsGetColorSpace(from) != cmsSigRgbData || cmsGetColorSpace(to) != cmsSigRgbData ||
      !cmsIsMatrixShaper(from) || !cmsIsMatrixShaper(to))
    return std::nullopt;
  double src[3][3], dst[3][3], dst_inverse[3][3];
  if (!colorant_matrix(from, src) || !colorant_matrix(to, dst) || !invert(dst, dst_inverse)) return std::nullopt;
  MatrixShaper s;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      double v = 0;
      for (int k = 0; k < 3; ++k) v += dst_inverse[r][k] * src[k][c];
      if (!std::isfinite(v)) return std::nullopt;
      s.matrix_[r][c] = float(v);
    }
  const cmsTagSignature trc[3] = {cmsSigRedTRCTag, cmsSigGreenTRCTag, cmsSigBlueTRCTag};
  for (int c = 0; c < 3; ++c) {
    s.from_curves_[std::size_t(c)] = cmsReadTag(from, trc[c]);
    auto* to_curve = static_cast<cmsToneCurve*>(cmsReadTag(to, trc[c]));
    if (!s.from_curves_[std::size_t(c)] || !to_curve) return std::nullopt;
    cmsToneCurve* reverse = cmsReverseToneCurve(to_curve);
    if (!reverse) return std::nullopt;
    s.encode_[std::size_t(c)].resize(kEncodeSteps + 1);
    bool finite = true;
    for (int i = 0; i <= kEncodeSteps; ++i) {
      const float t = float(i) / float(kEncodeSteps);
      const float v = cmsEvalToneCurveFloat(reverse, t * t);
      finite = finite && std::isfinite(v);
      s.encode_[std::size_t(c)][std::size_t(i)] = v;
    }
    cmsFreeToneCurve(reverse);
    if (!finite) return std::nullopt;  // a damaged curve: LittleCMS's own transform copes with it
  }
  return s;
}

std::optional<cv::Mat> MatrixShaper::convert(const cv::Mat& pixels, int depth) const {
  // The source's curves at every integer its pixels can hold: exact, 256 or 65536 entries.
  const bool sixteen = pixels.depth() == CV_16U;
  const int levels = sixteen ? 65536 : 256;
  std::array<std::vector<float>, 3> linear;
  for (std::size_t c = 0; c < 3; ++c) {
    linear[c].resize(std::size_t(levels));
    for (int i = 0; i < levels; ++i) {
      const float v = cmsEvalToneCurveFloat(static_cast<cmsToneCurve*>(from_curves_[c]), float(i) / float(levels - 1));
      if (!std::isfinite(v)) return std::nullopt;  // a damaged curve
      linear[c][std::size_t(i)] = v;
    }
  }
  cv::Mat out(pixels.size(), CV_MAKETYPE(depth, pixels.channels() == 4 ? 4 : 3));
  const bool out16 = depth == CV_16U;
  if (sixteen && out16) run<std::uint16_t, std::uint16_t>(pixels, out, linear, encode_, matrix_);
  else if (sixteen) run<std::uint16_t, std::uint8_t>(pixels, out, linear, encode_, matrix_);
  else if (out16) run<std::uint8_t, std::uint16_t>(pixels, out, linear, encode_, matrix_);
  else run<std::uint8_t, std::uint8_t>(pixels, out, linear, encode_, matrix_);
  return out;
}

}  // namespace cm::imageio
