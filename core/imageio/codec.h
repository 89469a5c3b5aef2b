// What a decoder of one file format gives load_image, and what save_image gives its encoder
// (image_file.cpp). OpenCV decodes PNG, JPEG, TIFF, WebP and BMP itself; the formats OpenCV does
// not know each have a codec beside this header: heif_codec (HEIC, AVIF), jxl_codec (JPEG XL)
// and raw_codec (camera RAW). Internal to cm_imageio.
#pragma once

#include "core/imageio/file_metadata.h"

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cm::imageio {

// A libheif or libjxl object goes back through its own free function on every path out, a thrown
// cm::Error included: std::unique_ptr<T, Release<free_function>>.
template <auto Free>
struct Release {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};

struct Decoded {
  cv::Mat pixels;         // 8- or 16-bit (CV_8U / CV_16U), 1, 3 or 4 channels in OpenCV's B,G,R(,A) order, upright
  FileMetadata metadata;  // EXIF, XMP, ICC as the file holds them (empty where it has none)
  std::string format;     // what the user is told it was: "HEIC", "AVIF", "JPEG XL", "RAW (Canon EOS 5D)"
};

// What an encoder is given: 8- or 16-bit pixels in OpenCV's order, 3 or 4 channels, already in
// the colour space that metadata.icc names (empty: sRGB), and the metadata to embed.
struct ToEncode {
  cv::Mat pixels;
  FileMetadata metadata;
  int quality = 95;  // 1..100, as for JPEG; 100 asks for lossless where the format has it
};

}  // namespace cm::imageio
