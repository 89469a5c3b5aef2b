// Photos as cameras and phones write them, made by the tests themselves: EXIF with a camera's
// fields and a thumbnail, an XMP packet, a Display P3 colour profile (through Exiv2 and
// LittleCMS directly, not through cmedit's imageio), and readers that look at a written file
// the same independent way. Header-only; a test target using it links PkgConfig::CMEDIT_PHOTO_LIBS.
#pragma once

#include "core/imageio/image_file.h"

#include <ATen/ATen.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // Exiv2 0.27 returns std::auto_ptr
#include <exiv2/exiv2.hpp>
#include <lcms2.h>
#include <libheif/heif.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cm::testing {

// A smooth w×h photo (three different ramps), float in [−1, 1].
inline cm::imageio::Image gradient_image(int w, int h) {
  cm::imageio::Image image;
  const at::Tensor x = at::linspace(-0.9, 0.9, w).view({1, 1, 1, w}).expand({1, 1, h, w});
  const at::Tensor y = at::linspace(-0.8, 0.8, h).view({1, 1, h, 1}).expand({1, 1, h, w});
  image.rgb = at::cat({x, y, 0.5 * (x - y)}, 1).contiguous();
  return image;
}

// A profile's bytes, as a file embeds them; the profile is closed.
inline std::vector<std::uint8_t> profile_bytes(cmsHPROFILE profile) {
  cmsUInt32Number size = 0;
  cmsSaveProfileToMem(profile, nullptr, &size);
  std::vector<std::uint8_t> bytes(size);
  cmsSaveProfileToMem(profile, bytes.data(), &size);
  cmsCloseProfile(profile);
  return bytes;
}

// Display P3 as phones tag their photos: DCI-P3 primaries, D65 white, the sRGB curve.
inline std::vector<std::uint8_t> display_p3_profile() {
  const cmsCIExyY white = {0.3127, 0.3290, 1.0};
  const cmsCIExyYTRIPLE primaries = {{0.680, 0.320, 1.0}, {0.265, 0.690, 1.0}, {0.150, 0.060, 1.0}};
  const cmsFloat64Number srgb_curve[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
  cmsToneCurve* curve = cmsBuildParametricToneCurve(nullptr, 4, srgb_curve);
  cmsToneCurve* curves[3] = {curve, curve, curve};
  cmsHPROFILE profile = cmsCreateRGBProfile(&white, &primaries, curves);
  cmsMLU* description = cmsMLUalloc(nullptr, 1);
  cmsMLUsetASCII(description, "en", "US", "Display P3");
  cmsWriteTag(profile, cmsSigProfileDescriptionTag, description);
  cmsMLUfree(description);
  cmsFreeToneCurve(curve);
  return profile_bytes(profile);
}

// LittleCMS's own sRGB profile, as a camera tags an sRGB photo.
inline std::vector<std::uint8_t> srgb_profile_bytes() { return profile_bytes(cmsCreate_sRGBProfile()); }

// One EXIF field of a TIFF-structure blob (FileMetadata::exif), as text; empty when absent.
inline std::string exif_value(const std::vector<std::uint8_t>& blob, const std::string& key) {
  if (blob.empty()) return {};
  Exiv2::ExifData exif;
  Exiv2::ExifParser::decode(exif, blob.data(), std::uint32_t(blob.size()));
  const auto it = exif.findKey(Exiv2::ExifKey(key));
  return it == exif.end() ? std::string() : it->toString();
}

// Adobe RGB (1998) as cameras tag it: its primaries, D65 white, a pure 2.2 curve (563/256).
inline std::vector<std::uint8_t> adobe_rgb_profile() {
  const cmsCIExyY white = {0.3127, 0.3290, 1.0};
  const cmsCIExyYTRIPLE primaries = {{0.64, 0.33, 1.0}, {0.21, 0.71, 1.0}, {0.15, 0.06, 1.0}};
  cmsToneCurve* curve = cmsBuildGamma(nullptr, 563.0 / 256.0);
  cmsToneCurve* curves[3] = {curve, curve, curve};
  cmsHPROFILE profile = cmsCreateRGBProfile(&white, &primaries, curves);
  cmsFreeToneCurve(curve);
  return profile_bytes(profile);
}

// The description of a profile ("Display P3"); empty for no or a broken profile.
inline std::string profile_description(const std::vector<std::uint8_t>& icc) {
  if (icc.empty()) return {};
  cmsHPROFILE profile = cmsOpenProfileFromMem(icc.data(), cmsUInt32Number(icc.size()));
  if (!profile) return {};
  char text[256] = {};
  cmsGetProfileInfoASCII(profile, cmsInfoDescription, "en", "US", text, sizeof text);
  cmsCloseProfile(profile);
  return text;
}

// A camera's EXIF: make, model, capture date, exposure, the given orientation, the photo's pixel
// size, and an embedded JPEG thumbnail (which shows the unedited photo and must not survive).
inline std::vector<std::uint8_t> camera_exif(int orientation = 1, std::uint32_t width = 0, std::uint32_t height = 0) {
  Exiv2::ExifData exif;
  exif["Exif.Image.Make"] = "cmedit test";
  exif["Exif.Image.Model"] = "Fixture Camera";
  exif["Exif.Image.Orientation"] = std::uint16_t(orientation);
  exif["Exif.Photo.DateTimeOriginal"] = "2026:12:05 10:11:12";
  exif["Exif.Photo.ExposureTime"] = Exiv2::URational(1, 250);
  if (width) {
    exif["Exif.Photo.PixelXDimension"] = width;
    exif["Exif.Photo.PixelYDimension"] = height;
  }
  const std::vector<std::uint8_t> jpeg = cm::imageio::encode_jpeg(at::full({8, 8, 3}, 128, at::kByte), 80);
  Exiv2::ExifThumb(exif).setJpegThumbnail(jpeg.data(), long(jpeg.size()));
  Exiv2::Blob blob;
  Exiv2::ExifParser::encode(blob, Exiv2::littleEndian, exif);
  return {blob.begin(), blob.end()};
}

inline std::string sample_xmp() {
  Exiv2::XmpParser::initialize();
  Exiv2::XmpData xmp;
  xmp["Xmp.dc.creator"] = "Test Photographer";
  xmp["Xmp.tiff.Orientation"] = "6";
  std::string packet;
  Exiv2::XmpParser::encode(packet, xmp);
  return packet;
}

// What an independent reader (Exiv2) finds in a written file.
struct FileTags {
  Exiv2::ExifData exif;
  Exiv2::XmpData xmp;
  Exiv2::IptcData iptc;
  std::vector<std::uint8_t> icc;
  bool has_thumbnail = false;

  std::string exif_value(const std::string& key) const {
    const auto it = exif.findKey(Exiv2::ExifKey(key));
    return it == exif.end() ? std::string() : it->toString();
  }
  std::string iptc_value(const std::string& key) const {
    const auto it = iptc.findKey(Exiv2::IptcKey(key));
    return it == iptc.end() ? std::string() : it->toString();
  }
  std::string xmp_value(const std::string& key) const {
    const auto it = xmp.findKey(Exiv2::XmpKey(key));
    return it == xmp.end() ? std::string() : it->toString();
  }
};

inline FileTags read_tags(const std::filesystem::path& path) {
  Exiv2::XmpParser::initialize();
  Exiv2::enableBMFF(true);  // HEIC, AVIF and JPEG XL: read-only in Exiv2 0.27
  Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(path.string());
  image->readMetadata();
  FileTags tags{image->exifData(), image->xmpData(), image->iptcData(), {}, false};
  if (image->iccProfileDefined()) tags.icc.assign(image->iccProfile()->pData_, image->iccProfile()->pData_ + image->iccProfile()->size_);
  tags.has_thumbnail = Exiv2::ExifThumbC(tags.exif).copy().size_ > 0;
  return tags;
}

// Writes EXIF, XMP and IPTC into an existing file with Exiv2 alone (what a camera would have
// written), keeping what the file holds otherwise.
inline void write_tags(const std::filesystem::path& path, const cm::imageio::FileMetadata& m) {
  Exiv2::XmpParser::initialize();
  Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(path.string());
  image->readMetadata();
  Exiv2::ExifData exif;
  if (!m.exif.empty()) Exiv2::ExifParser::decode(exif, m.exif.data(), std::uint32_t(m.exif.size()));
  image->setExifData(exif);
  Exiv2::IptcData iptc;
  if (!m.iptc.empty()) Exiv2::IptcParser::decode(iptc, m.iptc.data(), std::uint32_t(m.iptc.size()));
  image->setIptcData(iptc);
  image->setXmpPacket(m.xmp);
  image->writeXmpFromPacket(true);
  if (!m.icc.empty()) {
    Exiv2::DataBuf icc(m.icc.data(), long(m.icc.size()));
    image->setIccProfile(icc, false);  // unchecked: a test may embed a damaged one
  }
  image->writeMetadata();
}

// An AVIF whose colours are given as code points (an nclx box, no ICC profile), as browsers and
// some phones write them: `primaries` and `transfer` of ITU-T H.273, one colour everywhere.
inline bool write_coded_avif(const std::filesystem::path& path, int primaries, int transfer, std::uint8_t r, std::uint8_t g,
                             std::uint8_t b) {
  heif_context* ctx = heif_context_alloc();
  heif_image* image = nullptr;
  heif_image_create(64, 64, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &image);
  heif_image_add_plane(image, heif_channel_interleaved, 64, 64, 8);
  int stride = 0;
  std::uint8_t* p = heif_image_get_plane(image, heif_channel_interleaved, &stride);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) p[y * stride + 3 * x] = r, p[y * stride + 3 * x + 1] = g, p[y * stride + 3 * x + 2] = b;
  heif_color_profile_nclx* nclx = heif_nclx_color_profile_alloc();
  heif_nclx_color_profile_set_color_primaries(nclx, std::uint16_t(primaries));
  heif_nclx_color_profile_set_transfer_characteristics(nclx, std::uint16_t(transfer));
  nclx->matrix_coefficients = heif_matrix_coefficients_ITU_R_BT_601_6;
  nclx->full_range_flag = 1;
  heif_image_set_nclx_color_profile(image, nclx);
  heif_encoder* encoder = nullptr;
  heif_context_get_encoder_for_format(ctx, heif_compression_AV1, &encoder);
  heif_encoder_set_lossy_quality(encoder, 90);
  heif_encoding_options* options = heif_encoding_options_alloc();
  options->output_nclx_profile = nclx;
  const bool ok = heif_context_encode_image(ctx, image, encoder, options, nullptr).code == heif_error_Ok &&
                  heif_context_write_to_file(ctx, path.string().c_str()).code == heif_error_Ok;
  heif_encoding_options_free(options);
  heif_encoder_release(encoder);
  heif_nclx_color_profile_free(nclx);
  heif_image_release(image);
  heif_context_free(ctx);
  return ok;
}

// A phone's photo: EXIF (camera, date, thumbnail), XMP and a Display P3 profile.
inline cm::imageio::FileMetadata phone_metadata(int orientation = 1) {
  cm::imageio::FileMetadata m;
  m.exif = camera_exif(orientation);
  Exiv2::IptcData iptc;  // a news agency's caption
  iptc["Iptc.Application2.Caption"] = "A fixture photo";
  const Exiv2::DataBuf iptc_bytes = Exiv2::IptcParser::encode(iptc);
  m.iptc.assign(iptc_bytes.pData_, iptc_bytes.pData_ + iptc_bytes.size_);
  m.xmp = sample_xmp();
  m.icc = display_p3_profile();
  return m;
}

}  // namespace cm::testing

#pragma GCC diagnostic pop
