#include "core/imageio/heif_codec.h"

#include "core/imageio/color_profile.h"

#include "core/base/error.h"
#include "core/imageio/image_header.h"

#include <libheif/heif.h>
#include <opencv2/core.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <memory>

namespace cm::imageio {

bool is_heif(const std::uint8_t* bytes, std::size_t size) {
  // An ISO-BMFF file opens with its 'ftyp' box: size (32-bit big-endian), "ftyp", the major brand,
  // a minor version, then compatible brands to the end of the box.
  if (bytes == nullptr || size < 16 || std::memcmp(bytes + 4, "ftyp", 4) != 0) return false;
  const std::size_t box = (std::size_t(bytes[0]) << 24) | (std::size_t(bytes[1]) << 16) |
                          (std::size_t(bytes[2]) << 8) | std::size_t(bytes[3]);
  if (box < 16) return false;  // 0 (to the end of the file) and 1 (64-bit size) never open a HEIF file
  const auto heif_brand = [&](std::size_t at) {
    for (const char* brand : {"heic", "heix", "hevc", "heim", "heis", "mif1", "msf1", "avif", "avis"})
      if (std::memcmp(bytes + at, brand, 4) == 0) return true;
    return false;
  };
  if (heif_brand(8)) return true;
  for (std::size_t at = 16; at + 4 <= std::min(box, size); at += 4)
    if (heif_brand(at)) return true;
  return false;
}

namespace {

// libheif registers its codecs in heif_init (1.13+; without it some builds find none). Once per
// process: the function-local static makes concurrent first calls wait for one init. No
// heif_deinit: a decode may still run on another thread while the process ends.
void init_libheif() {
  static const bool initialised = [] {
    heif_init(nullptr);  // an error here resurfaces, with its message, as the first call that fails
    return true;
  }();
  (void)initialised;
}

// Every libheif object goes back through its own free function (codec.h's Release).
using Context = std::unique_ptr<heif_context, Release<heif_context_free>>;
using Handle = std::unique_ptr<heif_image_handle, Release<heif_image_handle_release>>;
using HeifImage = std::unique_ptr<heif_image, Release<heif_image_release>>;
using Encoder = std::unique_ptr<heif_encoder, Release<heif_encoder_release>>;
using DecodingOptions = std::unique_ptr<heif_decoding_options, Release<heif_decoding_options_free>>;
using EncodingOptions = std::unique_ptr<heif_encoding_options, Release<heif_encoding_options_free>>;
using Nclx = std::unique_ptr<heif_color_profile_nclx, Release<heif_nclx_color_profile_free>>;

Context new_context() {
  Context context(heif_context_alloc());
  if (!context) throw std::bad_alloc();
  return context;
}

// libheif's message, without the line break some of them end with.
std::string message_of(const heif_error& e) {
  std::string text = e.message ? e.message : "unknown error";
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

// A codec or feature this libheif lacks (e.g. no AV1 decoder, an unknown item type) is a file this
// build cannot open; anything else (truncated boxes, a broken bitstream) reads as a damaged file.
void check_decode(const heif_error& e, const std::string& name) {
  if (e.code == heif_error_Ok) return;
  const bool unsupported = e.code == heif_error_Unsupported_feature || e.code == heif_error_Unsupported_filetype ||
                           e.subcode == heif_suberror_Security_limit_exceeded;
  std::string message = "cannot decode " + name + ": " + message_of(e);
  if (e.subcode == heif_suberror_Unsupported_codec)
    message += " (this libheif " + std::string(heif_get_version()) + " has no decoder for its compression)";
  throw Error(unsupported ? ErrorCode::Unsupported : ErrorCode::CorruptFile, message);
}

void check_encode(const heif_error& e, const std::string& name) {
  if (e.code == heif_error_Ok) return;
  const bool unsupported = e.code == heif_error_Unsupported_feature || e.subcode == heif_suberror_Unsupported_codec;
  throw Error(unsupported ? ErrorCode::Unsupported : ErrorCode::Io, "cannot encode " + name + ": " + message_of(e));
}

// libheif's EXIF block starts with a 4-byte big-endian offset from its end to the TIFF header
// (Apple's files put "Exif\0\0" in between). FileMetadata keeps the TIFF structure alone; a
// block whose offset misses the header is searched for one, and dropped when it has none.
std::vector<std::uint8_t> exif_tiff(const std::vector<std::uint8_t>& block) {
  const auto is_tiff = [&](std::size_t at) {
    return at + 8 <= block.size() && (std::memcmp(&block[at], "II*\0", 4) == 0 || std::memcmp(&block[at], "MM\0*", 4) == 0);
  };
  if (block.size() < 4) return {};
  const std::size_t offset = (std::size_t(block[0]) << 24) | (std::size_t(block[1]) << 16) |
                             (std::size_t(block[2]) << 8) | std::size_t(block[3]);
  std::size_t start = offset <= block.size() - 4 ? 4 + offset : block.size();
  if (!is_tiff(start)) {
    start = 4;
    while (start < block.size() && !is_tiff(start)) ++start;
  }
  if (!is_tiff(start)) return {};
  return {block.begin() + std::ptrdiff_t(start), block.end()};
}

// EXIF, XMP and the ICC profile of the primary image. A block libheif cannot hand over is left
// out, as metadata.cpp does: damaged metadata is not a damaged photo.
FileMetadata read_metadata(const heif_image_handle* handle) {
  FileMetadata metadata;
  const int count = heif_image_handle_get_number_of_metadata_blocks(handle, nullptr);
  std::vector<heif_item_id> ids(std::size_t(std::max(count, 0)));
  const int listed = ids.empty() ? 0 : heif_image_handle_get_list_of_metadata_block_IDs(handle, nullptr, ids.data(), count);
  for (int i = 0; i < listed; ++i) {
    // Both strings live only until the next libheif call: copied at once (null: none).
    const auto text = [](const char* s) { return std::string(s ? s : ""); };
    const std::string type = text(heif_image_handle_get_metadata_type(handle, ids[i]));
    const std::string content_type = text(heif_image_handle_get_metadata_content_type(handle, ids[i]));
    const bool exif = type == "Exif" && metadata.exif.empty();
    const bool xmp = type == "mime" && content_type == "application/rdf+xml" && metadata.xmp.empty();
    if (!exif && !xmp) continue;
    std::vector<std::uint8_t> data(heif_image_handle_get_metadata_size(handle, ids[i]));
    if (data.empty()) continue;
    const heif_error e = heif_image_handle_get_metadata(handle, ids[i], data.data());
    if (e.code != heif_error_Ok) {
      spdlog::warn("the photo's {} cannot be read and is left out: {}", exif ? "EXIF" : "XMP", message_of(e));
      continue;
    }
    if (exif) metadata.exif = exif_tiff(data);
    if (xmp) metadata.xmp.assign(data.begin(), data.end());
  }
  const heif_color_profile_type profile = heif_image_handle_get_color_profile_type(handle);
  if (profile == heif_color_profile_type_prof || profile == heif_color_profile_type_rICC) {
    std::vector<std::uint8_t> icc(heif_image_handle_get_raw_color_profile_size(handle));
    const heif_error e = icc.empty() ? heif_error{heif_error_Ok, heif_suberror_Unspecified, ""}
                                     : heif_image_handle_get_raw_color_profile(handle, icc.data());
    if (e.code == heif_error_Ok)
      metadata.icc = std::move(icc);
    else
      spdlog::warn("the photo's colour profile cannot be read and is left out: {}", message_of(e));
  } else if (profile == heif_color_profile_type_nclx) {
    // Colours as code points (an AVIF's Display P3, say): made into an ICC profile, so the photo
    // is converted like any other; sRGB's own code points give none.
    heif_color_profile_nclx* raw = nullptr;
    if (heif_image_handle_get_nclx_color_profile(handle, &raw).code == heif_error_Ok && raw) {
      const Nclx nclx(raw);
      metadata.icc = profile_for({{nclx->color_primary_red_x, nclx->color_primary_red_y},
                                  {nclx->color_primary_green_x, nclx->color_primary_green_y},
                                  {nclx->color_primary_blue_x, nclx->color_primary_blue_y},
                                  {nclx->color_primary_white_x, nclx->color_primary_white_y},
                                  int(nclx->color_primaries), int(nclx->transfer_characteristics)});
    }
  }
  return metadata;
}

// "AVIF" or "HEIC" by the file's brands: libheif 1.15 does not say which codec an item uses.
std::string format_name(const std::uint8_t* bytes, std::size_t size) {
  const int n = int(std::min<std::size_t>(size, INT_MAX));
  const heif_brand2 major = heif_read_main_brand(bytes, n);
  if (major == heif_fourcc_to_brand("avif") || major == heif_fourcc_to_brand("avis")) return "AVIF";
  for (const char* hevc : {"heic", "heix", "hevc", "hevx", "heim", "heis"})
    if (major == heif_fourcc_to_brand(hevc)) return "HEIC";
  return heif_has_compatible_brand(bytes, n, "avif") == 1 ? "AVIF" : "HEIC";  // a generic mif1/msf1 file
}

// Interleaved 8- or 16-bit samples, 16-bit ones in this machine's byte order.
constexpr bool kLittleEndianHost = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// Straight alpha from premultiplied (a rare HEIF flag; cmedit, like PNG, keeps colours straight).
template <typename T>
void unpremultiply(cv::Mat& bgra, double max_value) {
  for (int y = 0; y < bgra.rows; ++y) {
    T* p = bgra.ptr<T>(y);
    for (int x = 0; x < bgra.cols; ++x, p += 4) {
      if (p[3] == 0) continue;
      for (int c = 0; c < 3; ++c) p[c] = cv::saturate_cast<T>(p[c] * max_value / p[3]);
    }
  }
}

}  // namespace

Decoded decode_heif(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  if (bytes == nullptr || size == 0) throw Error(ErrorCode::CorruptFile, "cannot decode " + name + ": the file is empty");
  init_libheif();
  const Context context = new_context();
  check_decode(heif_context_read_from_memory_without_copy(context.get(), bytes, size, nullptr), name);
  heif_image_handle* primary = nullptr;
  check_decode(heif_context_get_primary_image_handle(context.get(), &primary), name);
  const Handle handle(primary);

  // The size after irot/clap, from the header, before the decoder allocates the pixels.
  const std::int64_t width = heif_image_handle_get_width(handle.get());
  const std::int64_t height = heif_image_handle_get_height(handle.get());
  if (width <= 0 || height <= 0) throw Error(ErrorCode::CorruptFile, "cannot decode " + name + ": it has no image size");
  if (width * height > kMaxPixels)
    throw Error(ErrorCode::Unsupported, "cannot open " + name + ": it is " + std::to_string(width) + "×" +
                                            std::to_string(height) + " pixels; cmedit opens up to " +
                                            std::to_string(kMaxPixels / 1'000'000) + " megapixels");

  const bool alpha = heif_image_handle_has_alpha_channel(handle.get()) != 0;
  const bool deep = heif_image_handle_get_luma_bits_per_pixel(handle.get()) > 8;
  heif_chroma chroma = alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB;
  if (deep && alpha) chroma = kLittleEndianHost ? heif_chroma_interleaved_RRGGBBAA_LE : heif_chroma_interleaved_RRGGBBAA_BE;
  if (deep && !alpha) chroma = kLittleEndianHost ? heif_chroma_interleaved_RRGGBB_LE : heif_chroma_interleaved_RRGGBB_BE;

  // Default options: libheif applies the file's rotation, mirror and crop, so pixels come upright.
  const DecodingOptions options(heif_decoding_options_alloc());
  if (!options) throw std::bad_alloc();
  heif_image* decoded = nullptr;
  check_decode(heif_decode_image(handle.get(), &decoded, heif_colorspace_RGB, chroma, options.get()), name);
  const HeifImage image(decoded);

  int stride = 0;
  const std::uint8_t* plane = heif_image_get_plane_readonly(image.get(), heif_channel_interleaved, &stride);
  const int w = heif_image_get_width(image.get(), heif_channel_interleaved);
  const int h = heif_image_get_height(image.get(), heif_channel_interleaved);
  const int bits = heif_image_get_bits_per_pixel_range(image.get(), heif_channel_interleaved);
  if (plane == nullptr || w <= 0 || h <= 0 || bits <= 0 || bits > 16)
    throw Error(ErrorCode::CorruptFile, "cannot decode " + name + ": libheif gave no pixels");

  // libheif's R,G,B(,A) rows -> OpenCV's B,G,R(,A), in one pass that also drops the row padding.
  const int channels = alpha ? 4 : 3;
  const int depth = deep ? CV_16U : CV_8U;
  const cv::Mat rgb(h, w, CV_MAKETYPE(depth, channels), const_cast<std::uint8_t*>(plane), std::size_t(stride));
  Decoded out;
  out.pixels.create(h, w, CV_MAKETYPE(depth, channels));
  const int to_bgr[] = {0, 2, 1, 1, 2, 0, 3, 3};
  cv::mixChannels(&rgb, 1, &out.pixels, 1, to_bgr, std::size_t(channels));
  // 10- or 12-bit values fill 0…1023 or 0…4095; cmedit's 16 bits are 0…65535 (×65535/1023, rounded).
  if (deep && bits < 16) out.pixels.convertTo(out.pixels, -1, 65535.0 / double((1 << bits) - 1));
  // The decoded image's flag, not the file's: it says whether libheif left the colours premultiplied.
  if (alpha && heif_image_is_premultiplied_alpha(image.get())) {
    if (deep) unpremultiply<std::uint16_t>(out.pixels, 65535.0);
    else unpremultiply<std::uint8_t>(out.pixels, 255.0);
  }

  out.metadata = read_metadata(handle.get());
  out.format = format_name(bytes, size);
  return out;
}

namespace {

struct Written {
  std::vector<std::uint8_t> bytes;
};

// heif_writer's callback: libheif hands the file over in pieces. No exception may cross into C.
heif_error append(heif_context*, const void* data, std::size_t size, void* userdata) {
  try {
    auto& out = static_cast<Written*>(userdata)->bytes;
    const auto* p = static_cast<const std::uint8_t*>(data);
    out.insert(out.end(), p, p + size);
  } catch (...) {
    return {heif_error_Encoding_error, heif_suberror_Cannot_write_output_data, "out of memory"};
  }
  return {heif_error_Ok, heif_suberror_Unspecified, "Success"};
}

// BGR(A) 8/16-bit -> libheif's interleaved R,G,B(,A) of `bits` a sample (8; 10 or 12 for 16-bit
// input once an encoder takes them: see encode_heif).
HeifImage to_heif_image(const cv::Mat& bgr, int bits, const std::string& name) {
  const bool alpha = bgr.channels() == 4;
  const bool deep = bits > 8;
  heif_chroma chroma = alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB;
  if (deep && alpha) chroma = kLittleEndianHost ? heif_chroma_interleaved_RRGGBBAA_LE : heif_chroma_interleaved_RRGGBBAA_BE;
  if (deep && !alpha) chroma = kLittleEndianHost ? heif_chroma_interleaved_RRGGBB_LE : heif_chroma_interleaved_RRGGBB_BE;
  heif_image* created = nullptr;
  check_encode(heif_image_create(bgr.cols, bgr.rows, heif_colorspace_RGB, chroma, &created), name);
  HeifImage image(created);
  check_encode(heif_image_add_plane(image.get(), heif_channel_interleaved, bgr.cols, bgr.rows, bits), name);
  int stride = 0;
  std::uint8_t* plane = heif_image_get_plane(image.get(), heif_channel_interleaved, &stride);
  if (plane == nullptr) throw Error(ErrorCode::Io, "cannot encode " + name + ": libheif gave no image plane");

  // The source in the target's depth first: 8 bits as they are, 16 bits scaled to 0…2^bits−1.
  cv::Mat source = bgr;
  const int depth = deep ? CV_16U : CV_8U;
  if (bgr.depth() != depth || (deep && bits < 16))
    bgr.convertTo(source, CV_MAKETYPE(depth, bgr.channels()),
                  deep ? double((1 << bits) - 1) / 65535.0 : 1.0 / 257.0);  // 8-bit from 16: 65535 -> 255
  cv::Mat rgb(bgr.rows, bgr.cols, CV_MAKETYPE(depth, bgr.channels()), plane, std::size_t(stride));
  const int to_rgb[] = {0, 2, 1, 1, 2, 0, 3, 3};
  cv::mixChannels(&source, 1, &rgb, 1, to_rgb, std::size_t(bgr.channels()));
  return image;
}

// One encode of `bgr` at `bits` a sample.
std::vector<std::uint8_t> encode_at(const ToEncode& in, const cv::Mat& bgr, heif_compression_format format, int bits,
                                    const std::string& name) {
  const Context context = new_context();
  heif_encoder* found = nullptr;
  check_encode(heif_context_get_encoder_for_format(context.get(), format, &found), name);
  const Encoder encoder(found);
  // x265's "medium" instead of libheif's "slow": a 13.4 MP photo's HEIC in 5.3 s instead of 13.2 s
  // on 2 cores, 2 % larger (bench/photo_io, docs/BENCHMARKS.md).
  if (format == heif_compression_HEVC) heif_encoder_set_parameter_string(encoder.get(), "preset", "medium");
  const bool lossless = in.quality >= 100;
  if (lossless) {
    check_encode(heif_encoder_set_lossless(encoder.get(), 1), name);
    // Lossless needs full-resolution chroma; an encoder without the parameter keeps its own choice.
    heif_encoder_set_parameter_string(encoder.get(), "chroma", "444");
  } else {
    check_encode(heif_encoder_set_lossy_quality(encoder.get(), std::clamp(in.quality, 0, 100)), name);
  }

  const HeifImage image = to_heif_image(bgr, bits, name);
  // sRGB as nclx: BT.709 primaries, sRGB curve, full range; the matrix is BT.601's YCbCr, or the
  // identity (G,B,R planes) for lossless, where any YCbCr rounding would change the pixels.
  const Nclx nclx(heif_nclx_color_profile_alloc());
  if (!nclx) throw std::bad_alloc();
  nclx->color_primaries = heif_color_primaries_ITU_R_BT_709_5;
  nclx->transfer_characteristics = heif_transfer_characteristic_IEC_61966_2_1;
  nclx->matrix_coefficients = lossless ? heif_matrix_coefficients_RGB_GBR : heif_matrix_coefficients_ITU_R_BT_601_6;
  nclx->full_range_flag = 1;
  if (!in.metadata.icc.empty())
    check_encode(heif_image_set_raw_color_profile(image.get(), "prof", in.metadata.icc.data(), in.metadata.icc.size()),
                 name);
  check_encode(heif_image_set_nclx_color_profile(image.get(), nclx.get()), name);

  const EncodingOptions options(heif_encoding_options_alloc());
  if (!options) throw std::bad_alloc();
  // Both colr boxes: the ICC profile says the colours, the nclx one how YCbCr maps back to RGB.
  options->save_two_colr_boxes_when_ICC_and_nclx_available = 1;
  options->output_nclx_profile = nclx.get();

  heif_image_handle* encoded = nullptr;
  check_encode(heif_context_encode_image(context.get(), image.get(), encoder.get(), options.get(), &encoded), name);
  const Handle handle(encoded);

  const auto too_large = [&](std::size_t n) {
    if (n > std::size_t(INT_MAX)) throw Error(ErrorCode::Unsupported, "cannot encode " + name + ": its metadata is too large");
    return int(n);
  };
  // heif_context_add_exif_metadata takes the TIFF structure and writes the 4-byte offset itself.
  if (!in.metadata.exif.empty())
    check_encode(heif_context_add_exif_metadata(context.get(), handle.get(), in.metadata.exif.data(),
                                                too_large(in.metadata.exif.size())), name);
  if (!in.metadata.xmp.empty())
    check_encode(heif_context_add_XMP_metadata(context.get(), handle.get(), in.metadata.xmp.data(),
                                               too_large(in.metadata.xmp.size())), name);

  Written written;
  heif_writer writer{1, append};
  check_encode(heif_context_write(context.get(), &writer, &written), name);
  return std::move(written.bytes);
}

}  // namespace

std::vector<std::uint8_t> encode_heif(const ToEncode& in, bool av1, const std::string& name) {
  init_libheif();
  const cv::Mat& m = in.pixels;
  if (m.empty() || (m.depth() != CV_8U && m.depth() != CV_16U) ||
      (m.channels() != 1 && m.channels() != 3 && m.channels() != 4))
    throw Error(ErrorCode::Unsupported, "cannot encode " + name + ": HEIF takes 8- or 16-bit gray, RGB or RGBA pixels");
  const heif_compression_format format = av1 ? heif_compression_AV1 : heif_compression_HEVC;
  if (!heif_have_encoder_for_format(format))
    throw Error(ErrorCode::Unsupported, "cannot encode " + name + ": this libheif (" + heif_get_version() +
                                            ") has no " + (av1 ? "AVIF (AV1)" : "HEIC (HEVC)") + " encoder");
  // Gray is written as RGB: HEIF viewers read monochrome files less reliably than colour ones.
  cv::Mat bgr = m;
  if (m.channels() == 1) cv::merge(std::vector<cv::Mat>{m, m, m}, bgr);

  // 8 bits, from 16-bit pixels too. Not 10-bit AVIF: with libheif 1.15 and Debian's libaom 3.6
  // (built with assertions), 10-bit AV1 aborts the whole process (libaom's write_color_config
  // asserts that the AV1 profile suits the chroma subsampling) instead of returning an error,
  // for 4:2:0 and 4:4:4, lossy and lossless; with alpha it fails and leaks the aom encoder. HEIC
  // stays at 8 bits (HEVC Main) for the widest support among viewers.
  return encode_at(in, bgr, format, 8, name);
}

bool heif_can_encode(bool av1) {
  init_libheif();
  return heif_have_encoder_for_format(av1 ? heif_compression_AV1 : heif_compression_HEVC) != 0;
}

std::string heif_version() { return heif_get_version(); }

}  // namespace cm::imageio
