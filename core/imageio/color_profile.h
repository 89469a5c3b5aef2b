// Colour management with LittleCMS 2. The model was trained on sRGB photos and the editor's canvas
// shows sRGB, so a photo is converted into sRGB when it opens and back into its own profile when
// it is exported (image_file.cpp). Matrix-shaper profiles (Display P3, Adobe RGB, ProPhoto) convert
// in floating point; colours outside sRGB's gamut are clipped to its edge, the one loss of working
// in sRGB. Internal to cm_imageio.
#pragma once

#include "core/imageio/file_metadata.h"

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace cm::imageio {

enum class ProfileKind { Srgb, OtherRgb, Unusable };

// Srgb: the profile's colours are sRGB's within a quarter of an 8-bit step, so the pixels need no
// conversion and a photo tagged so opens bit for bit. OtherRgb: an RGB profile to convert from.
// Unusable: not a valid profile, or not an RGB one (grey, CMYK: the decoder already gave RGB).
ProfileKind profile_kind(const std::vector<std::uint8_t>& icc);

// 8- or 16-bit pixels in OpenCV's B,G,R(,A) order, in the colour space of `icc`, as 16-bit sRGB
// (16 bits so that an 8-bit photo goes back to its own profile exactly). Alpha is kept.
cv::Mat to_srgb(const cv::Mat& pixels, const std::vector<std::uint8_t>& icc);

// to_srgb through LittleCMS's floating-point transform always: the reference the fast tables of
// matrix_shaper.h are tested against.
cv::Mat to_srgb_by_lcms(const cv::Mat& pixels, const std::vector<std::uint8_t>& icc);

// The reverse: sRGB pixels into the space of `icc`, at `depth` (CV_8U or CV_16U).
cv::Mat from_srgb(const cv::Mat& pixels, const std::vector<std::uint8_t>& icc, int depth);

struct SourcePixels {
  cv::Mat pixels;                 // as decoded: 8- or 16-bit B,G,R(,A), upright
  std::vector<std::uint8_t> icc;  // the profile they are in
};

// `converted` (from_srgb of `working`, at its own depth) with the file's own values put back
// wherever `working` (16-bit sRGB) still equals what `source` converted into on load: the pixels
// no edit touched keep their exact values, inside and outside sRGB's gamut. Alpha is left as it
// is. Nothing changes when the sizes differ (an enlarged photo).
void keep_untouched_pixels(cv::Mat& converted, const cv::Mat& working, const SourcePixels& source);

// Colours a file describes by code points (ITU-T H.273, HEIF's and AVIF's nclx box) instead of an
// ICC profile: the primaries as CIE xy chromaticities and the transfer characteristics' number.
struct CodedColours {
  double red[2], green[2], blue[2], white[2];
  int primaries;  // their number: 1 BT.709 (sRGB's), 9 BT.2020, 11 DCI-P3, 12 Display P3
  int transfer;  // 13 sRGB; 1, 6, 14, 15 BT.709's curve; 8 linear; 4 gamma 2.2; 5 gamma 2.8; 2 unspecified (sRGB)
};

// An ICC profile for those colours (a phone's Display P3 AVIF), empty when they are sRGB's or name
// a transfer cmedit does not tone-map (PQ, HLG: HDR), which is then taken as sRGB with a warning.
std::vector<std::uint8_t> profile_for(const CodedColours& colours);

// LittleCMS's sRGB profile, for a photo the user chose to tag as sRGB.
std::vector<std::uint8_t> srgb_profile();

// "2.14", for --version.
std::string lcms_version();

}  // namespace cm::imageio
