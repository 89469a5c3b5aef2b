// A camera RAW file written by hand for the RAW decoder's tests: no licence-clean camera sample
// ships in a Debian package, and DNG is the one RAW format whose layout is public. make_dng
// writes a little-endian TIFF that is a valid DNG 1.4: one 16-bit uncompressed RGGB Bayer mosaic
// of a known scene, whose camera space is linear sRGB (ColorMatrix1 = XYZ→sRGB) and whose white
// balance is neutral, so what a developer should give back is known exactly.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace cm::testing {

// The scene, in linear sRGB: the left half (x < width/2) 18% grey, the right half a red.
constexpr double kDngGrey = 0.18;
constexpr double kDngRed[3] = {0.5, 0.04, 0.04};

// The sRGB encoding of a linear value: what a developed pixel should be, in [0, 1].
inline double srgb_encode(double linear) {
  return linear <= 0.0031308 ? 12.92 * linear : 1.055 * std::pow(linear, 1.0 / 2.4) - 0.055;
}

namespace dng_detail {

enum Type : std::uint16_t { Byte = 1, Ascii = 2, Short = 3, Long = 4, Rational = 5, SRational = 10 };

struct Entry {
  std::uint16_t tag, type;
  std::uint32_t count;
  std::vector<std::uint8_t> value;  // already little-endian
};

inline void put16(std::vector<std::uint8_t>& b, std::uint32_t v) {
  b.push_back(std::uint8_t(v)), b.push_back(std::uint8_t(v >> 8));
}
inline void put32(std::vector<std::uint8_t>& b, std::uint32_t v) { put16(b, v & 0xFFFF), put16(b, v >> 16); }

inline Entry shorts(std::uint16_t tag, std::vector<std::uint32_t> values) {
  Entry e{tag, Short, std::uint32_t(values.size()), {}};
  for (std::uint32_t v : values) put16(e.value, v);
  return e;
}
inline Entry longs(std::uint16_t tag, std::vector<std::uint32_t> values) {
  Entry e{tag, Long, std::uint32_t(values.size()), {}};
  for (std::uint32_t v : values) put32(e.value, v);
  return e;
}
inline Entry bytes(std::uint16_t tag, std::vector<std::uint8_t> values) {
  return {tag, Byte, std::uint32_t(values.size()), values};
}
inline Entry ascii(std::uint16_t tag, const std::string& text) {
  Entry e{tag, Ascii, std::uint32_t(text.size() + 1), {text.begin(), text.end()}};
  e.value.push_back(0);
  return e;
}
// (S)RATIONALs with a common denominator: exact enough for a matrix given to 7 digits.
inline Entry rationals(std::uint16_t tag, Type type, const std::vector<double>& values) {
  Entry e{tag, type, std::uint32_t(values.size()), {}};
  for (double v : values) {
    put32(e.value, std::uint32_t(std::int32_t(std::lround(v * 10'000'000.0))));
    put32(e.value, 10'000'000u);
  }
  return e;
}

}  // namespace dng_detail

// width and height even and at least 22 (LibRaw refuses smaller sensors); orientation is the
// TIFF/EXIF tag (1 upright, 6 to be turned 90° clockwise, …).
inline std::vector<std::uint8_t> make_dng(int width, int height, std::uint16_t orientation = 1) {
  using namespace dng_detail;
  const std::uint32_t w = std::uint32_t(width), h = std::uint32_t(height);
  const std::uint32_t strip_bytes = w * h * 2;
  // XYZ (D65) → linear sRGB, IEC 61966-2-1: the camera "sees" linear sRGB.
  const std::vector<double> xyz_to_srgb = {3.2404542, -1.5371385, -0.4985314, -0.9692660, 1.8760108,
                                           0.0415560, 0.0556434,  -0.2040259, 1.0572252};
  std::vector<Entry> entries = {
      longs(254, {0}),                  // NewSubfileType: the main image
      longs(256, {w}),                  // ImageWidth
      longs(257, {h}),                  // ImageLength
      shorts(258, {16}),                // BitsPerSample
      shorts(259, {1}),                 // Compression: none
      shorts(262, {32803}),             // PhotometricInterpretation: CFA
      ascii(271, "cmedit"),             // Make
      ascii(272, "Test DNG"),           // Model
      longs(273, {0}),                  // StripOffsets, set below
      shorts(274, {orientation}),       // Orientation
      shorts(277, {1}),                 // SamplesPerPixel
      longs(278, {h}),                  // RowsPerStrip: one strip
      longs(279, {strip_bytes}),        // StripByteCounts
      shorts(284, {1}),                 // PlanarConfiguration: chunky
      shorts(33421, {2, 2}),            // CFARepeatPatternDim
      bytes(33422, {0, 1, 1, 2}),       // CFAPattern: R G / G B
      bytes(50706, {1, 4, 0, 0}),       // DNGVersion
      ascii(50708, "cmedit Test DNG"),  // UniqueCameraModel
      longs(50714, {0}),                // BlackLevel
      longs(50717, {65535}),            // WhiteLevel
      rationals(50721, SRational, xyz_to_srgb),          // ColorMatrix1
      rationals(50728, Rational, {1.0, 1.0, 1.0}),       // AsShotNeutral: neutral white balance
      shorts(50778, {21}),                               // CalibrationIlluminant1: D65
  };  // ascending by tag, as TIFF requires

  // Header, IFD, then the values that do not fit in an entry (each at an even offset), then pixels.
  const std::uint32_t ifd_at = 8, ifd_size = 2 + 12 * std::uint32_t(entries.size()) + 4;
  std::uint32_t extra_at = ifd_at + ifd_size;
  std::vector<std::uint8_t> extra;
  std::vector<std::uint8_t> out = {'I', 'I', 42, 0};
  put32(out, ifd_at);
  put16(out, std::uint32_t(entries.size()));
  std::uint32_t strip_entry = 0;
  for (const Entry& e : entries) {
    if (e.tag == 273) strip_entry = std::uint32_t(out.size()) + 8;
    put16(out, e.tag), put16(out, e.type), put32(out, e.count);
    if (e.value.size() <= 4) {
      out.insert(out.end(), e.value.begin(), e.value.end());
      out.insert(out.end(), 4 - e.value.size(), 0);
    } else {
      put32(out, extra_at + std::uint32_t(extra.size()));
      extra.insert(extra.end(), e.value.begin(), e.value.end());
      if (extra.size() % 2) extra.push_back(0);
    }
  }
  put32(out, 0);  // no next IFD
  out.insert(out.end(), extra.begin(), extra.end());
  const std::uint32_t strip_at = std::uint32_t(out.size());
  for (int k = 0; k < 4; ++k) out[strip_entry + k] = std::uint8_t(strip_at >> (8 * k));

  // The mosaic: each photosite records its own colour of the scene (R G / G B).
  for (std::uint32_t y = 0; y < h; ++y)
    for (std::uint32_t x = 0; x < w; ++x) {
      const int colour = (y % 2) + (x % 2);  // 0 R, 1 G, 2 B
      const double linear = x < w / 2 ? kDngGrey : kDngRed[colour];
      put16(out, std::uint32_t(std::lround(linear * 65535.0)));
    }
  return out;
}

// make_dng written to `path`; throws when the file cannot be written.
inline void write_dng(const std::filesystem::path& path, int width, int height, std::uint16_t orientation = 1) {
  const std::vector<std::uint8_t> dng = make_dng(width, height, orientation);
  std::ofstream out(path, std::ios::binary);
  if (!out.write(reinterpret_cast<const char*>(dng.data()), std::streamsize(dng.size())))
    throw std::runtime_error("cannot write " + path.string());
}

}  // namespace cm::testing
