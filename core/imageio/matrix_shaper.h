// A conversion between two matrix-shaper RGB profiles (sRGB, Display P3, Adobe RGB, ProPhoto: the
// profiles of nearly every photo) evaluated from tables, about ten times faster than LittleCMS's
// floating-point transform and within one 16-bit step of it (test_color_profile.cpp). A 13-megapixel
// Display P3 photo opens in 0.58 s instead of 2.2 s on 2 cores (docs/BENCHMARKS.md).
// The input is integers, so its curves are exact tables; the 3×3 matrix is evaluated in float;
// the output curve is a fine table over √linear with linear interpolation. Internal to cm_imageio
// (color_profile.cpp, which falls back to LittleCMS's own transform for other profiles).
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <optional>
#include <vector>

namespace cm::imageio {

class MatrixShaper {
 public:
  // From profile `from` to profile `to` (LittleCMS handles, cmsHPROFILE), relative colorimetric;
  // nullopt when either is not a matrix-shaper RGB profile.
  static std::optional<MatrixShaper> between(void* from, void* to);

  // 8- or 16-bit B,G,R(,A) → B,G,R(,A) of `depth` (CV_8U or CV_16U). Colours outside the target's
  // gamut are clipped to its edge; alpha is carried over (8 ↔ 16 bits by the scale 257). nullopt
  // when the source's curves give no finite number somewhere (a damaged profile).
  std::optional<cv::Mat> convert(const cv::Mat& pixels, int depth) const;

 private:
  std::array<void*, 3> from_curves_{};  // cmsToneCurve*, owned by the profile (which outlives this object's use)
  std::array<std::vector<float>, 3> encode_;  // the target's curves over √linear
  float matrix_[3][3] = {};                  // source linear RGB → target linear RGB
};

}  // namespace cm::imageio
