#include "core/imageio/jxl_codec.h"

#include "core/base/error.h"
#include "core/imageio/image_header.h"

#include <jxl/decode.h>
#include <jxl/encode.h>
#include <jxl/resizable_parallel_runner.h>
#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <thread>

namespace cm::imageio {

bool is_jxl(const std::uint8_t* bytes, std::size_t size) {
  if (bytes == nullptr) return false;
  const JxlSignature signature = JxlSignatureCheck(bytes, size);
  return signature == JXL_SIG_CODESTREAM || signature == JXL_SIG_CONTAINER;
}

namespace {

// Every libjxl object goes back through its own destroy function (codec.h's Release).
using Decoder = std::unique_ptr<JxlDecoder, Release<JxlDecoderDestroy>>;
using Encoder = std::unique_ptr<JxlEncoder, Release<JxlEncoderDestroy>>;
using Runner = std::unique_ptr<void, Release<JxlResizableParallelRunnerDestroy>>;

// Worker threads for an image: libjxl's suggestion for its size, from 2 to the machine's threads.
std::size_t threads_for(std::uint64_t xsize, std::uint64_t ysize) {
  const std::size_t machine = std::max(2u, std::thread::hardware_concurrency());
  return std::clamp<std::size_t>(JxlResizableParallelRunnerSuggestThreads(xsize, ysize), 2, machine);
}

Runner new_runner() {
  Runner runner(JxlResizableParallelRunnerCreate(nullptr));
  if (!runner) throw std::bad_alloc();
  return runner;
}

// Whether the decoded pixels are plain sRGB (or sRGB's gray), which FileMetadata says with no
// profile at all: an sRGB photo stays untagged, as it came in.
bool is_srgb(const JxlColorEncoding& c) {
  const bool curve = c.white_point == JXL_WHITE_POINT_D65 && c.transfer_function == JXL_TRANSFER_FUNCTION_SRGB;
  return curve && (c.color_space == JXL_COLOR_SPACE_GRAY ||
                   (c.color_space == JXL_COLOR_SPACE_RGB && c.primaries == JXL_PRIMARIES_SRGB));
}

// An "Exif" box opens with a 4-byte big-endian offset from its end to the TIFF header (0 as a
// rule). FileMetadata keeps the TIFF structure alone; a box whose offset misses it is dropped.
std::vector<std::uint8_t> exif_tiff(const std::vector<std::uint8_t>& box) {
  if (box.size() < 4) return {};
  const std::size_t offset = (std::size_t(box[0]) << 24) | (std::size_t(box[1]) << 16) |
                             (std::size_t(box[2]) << 8) | std::size_t(box[3]);
  if (offset > box.size() - 4 || box.size() - 4 - offset < 8) return {};
  const std::uint8_t* tiff = box.data() + 4 + offset;
  if (std::memcmp(tiff, "II*\0", 4) != 0 && std::memcmp(tiff, "MM\0*", 4) != 0) return {};
  return {tiff, box.data() + box.size()};
}

// A metadata box larger than this is no photo's metadata: the file is refused as damaged rather
// than letting a Brotli-compressed box expand without bound.
constexpr std::size_t kMaxBox = std::size_t(64) << 20;

// Collects the contents of the "Exif" and "xml " boxes as the decoder passes them (their size is
// known only once the last byte is out, for a compressed "brob" box).
class BoxReader {
 public:
  BoxReader(JxlDecoder* dec, const std::string& name) : dec_(dec), name_(name) {}

  // At JXL_DEC_BOX: ends the previous box, starts collecting this one if it is wanted.
  void start(FileMetadata& metadata, std::size_t file_size) {
    finish(metadata);
    JxlBoxType type;
    if (JxlDecoderGetBoxType(dec_, type, JXL_TRUE) != JXL_DEC_SUCCESS) return;
    if (std::memcmp(type, "Exif", 4) == 0 && metadata.exif.empty()) kind_ = Kind::Exif;
    else if (std::memcmp(type, "xml ", 4) == 0 && metadata.xmp.empty()) kind_ = Kind::Xmp;
    else return;
    std::uint64_t raw = 0;
    JxlDecoderGetBoxSizeRaw(dec_, &raw);
    buffer_.resize(std::clamp<std::size_t>(std::size_t(std::min<std::uint64_t>(raw, file_size)), 4096, kMaxBox));
    JxlDecoderSetBoxBuffer(dec_, buffer_.data(), buffer_.size());
  }

  // At JXL_DEC_BOX_NEED_MORE_OUTPUT: twice the room, the bytes so far kept.
  void grow() {
    const std::size_t used = buffer_.size() - JxlDecoderReleaseBoxBuffer(dec_);
    if (buffer_.size() >= kMaxBox)
      throw Error(ErrorCode::CorruptFile, "cannot decode " + name_ + ": a metadata box is larger than 64 MB");
    buffer_.resize(std::min(buffer_.size() * 2, kMaxBox));
    JxlDecoderSetBoxBuffer(dec_, buffer_.data() + used, buffer_.size() - used);
  }

  // At the next JXL_DEC_BOX or JXL_DEC_SUCCESS: the collected box, if any, into `metadata`.
  void finish(FileMetadata& metadata) {
    if (kind_ == Kind::None) return;
    buffer_.resize(buffer_.size() - JxlDecoderReleaseBoxBuffer(dec_));
    if (kind_ == Kind::Exif) metadata.exif = exif_tiff(buffer_);
    else metadata.xmp.assign(buffer_.begin(), buffer_.end());
    kind_ = Kind::None;
    buffer_.clear();
  }

 private:
  enum class Kind { None, Exif, Xmp };
  JxlDecoder* dec_;
  const std::string& name_;
  Kind kind_ = Kind::None;
  std::vector<std::uint8_t> buffer_;
};

// The pixels' profile: none for plain sRGB, else the ICC profile libjxl gives for them (the
// file's own where the pixels keep its colour space; one it writes for an encoded colour space).
std::vector<std::uint8_t> data_profile(const JxlDecoder* dec) {
  JxlColorEncoding encoding;
  if (JxlDecoderGetColorAsEncodedProfile(dec, nullptr, JXL_COLOR_PROFILE_TARGET_DATA, &encoding) == JXL_DEC_SUCCESS &&
      is_srgb(encoding))
    return {};
  std::size_t size = 0;
  if (JxlDecoderGetICCProfileSize(dec, nullptr, JXL_COLOR_PROFILE_TARGET_DATA, &size) != JXL_DEC_SUCCESS || size == 0)
    return {};
  std::vector<std::uint8_t> icc(size);
  if (JxlDecoderGetColorAsICCProfile(dec, nullptr, JXL_COLOR_PROFILE_TARGET_DATA, icc.data(), size) != JXL_DEC_SUCCESS)
    return {};
  return icc;
}

// A lossy (XYB) file whose own colour space is an ICC profile comes out of libjxl 0.7 in linear
// sRGB unless asked otherwise: 8-bit linear values band in the shadows. Asked for sRGB instead,
// it gives the same colours (both clip at sRGB's gamut) with sRGB's curve, and no profile to tag.
void prefer_srgb(JxlDecoder* dec, const JxlBasicInfo& info) {
  JxlColorEncoding original;
  if (info.uses_original_profile ||
      JxlDecoderGetColorAsEncodedProfile(dec, nullptr, JXL_COLOR_PROFILE_TARGET_ORIGINAL, &original) == JXL_DEC_SUCCESS)
    return;
  JxlColorEncoding srgb;
  JxlColorEncodingSetToSRGB(&srgb, info.num_color_channels == 1 ? JXL_TRUE : JXL_FALSE);
  JxlDecoderSetPreferredColorProfile(dec, &srgb);  // a refusal leaves linear sRGB, still tagged right
}

// libjxl's interleaved R,G,B(,A) / gray(+alpha) -> OpenCV's B,G,R(,A) / gray.
cv::Mat to_opencv(const cv::Mat& decoded) {
  if (decoded.channels() == 1) return decoded;
  const int channels = decoded.channels() == 2 ? 4 : decoded.channels();
  cv::Mat out(decoded.rows, decoded.cols, CV_MAKETYPE(decoded.depth(), channels));
  if (decoded.channels() == 2) {
    const int gray_alpha[] = {0, 0, 0, 1, 0, 2, 1, 3};
    cv::mixChannels(&decoded, 1, &out, 1, gray_alpha, 4);
  } else {
    const int to_bgr[] = {0, 2, 1, 1, 2, 0, 3, 3};
    cv::mixChannels(&decoded, 1, &out, 1, to_bgr, std::size_t(channels));
  }
  return out;
}

}  // namespace

Decoded decode_jxl(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  if (bytes == nullptr || size == 0) throw Error(ErrorCode::CorruptFile, "cannot decode " + name + ": the file is empty");
  const auto corrupt = [&](const std::string& why) { return Error(ErrorCode::CorruptFile, "cannot decode " + name + ": " + why); };
  const Decoder dec(JxlDecoderCreate(nullptr));
  if (!dec) throw std::bad_alloc();
  const Runner runner = new_runner();  // one thread until the image's size is known
  if (JxlDecoderSetParallelRunner(dec.get(), JxlResizableParallelRunner, runner.get()) != JXL_DEC_SUCCESS ||
      JxlDecoderSubscribeEvents(dec.get(), JXL_DEC_BASIC_INFO | JXL_DEC_COLOR_ENCODING | JXL_DEC_FULL_IMAGE |
                                               JXL_DEC_BOX) != JXL_DEC_SUCCESS ||
      JxlDecoderSetUnpremultiplyAlpha(dec.get(), JXL_TRUE) != JXL_DEC_SUCCESS)
    throw Error(ErrorCode::Internal, "cannot decode " + name + ": libjxl refused the decoder's settings");
  // Brotli-compressed ("brob") metadata boxes come out decompressed where libjxl has Brotli.
  JxlDecoderSetDecompressBoxes(dec.get(), JXL_TRUE);
  // The whole file is there: libjxl may say "truncated" instead of waiting for more.
  JxlDecoderSetInput(dec.get(), bytes, size);
  JxlDecoderCloseInput(dec.get());

  Decoded out;
  out.format = "JPEG XL";
  BoxReader boxes(dec.get(), name);
  JxlBasicInfo info{};
  JxlPixelFormat format{0, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
  cv::Mat pixels;  // libjxl's order, filled by the decoder
  bool have_image = false;
  for (;;) {
    const JxlDecoderStatus status = JxlDecoderProcessInput(dec.get());
    if (status == JXL_DEC_ERROR)  // libjxl 0.7 gives no reason; with the input closed, truncation ends here too
      throw corrupt(is_jxl(bytes, size) ? "libjxl cannot decode it (damaged or truncated)" : "it is not a JPEG XL file");
    if (status == JXL_DEC_NEED_MORE_INPUT) throw corrupt("the file is truncated");
    if (status == JXL_DEC_SUCCESS) break;
    switch (status) {
      case JXL_DEC_BASIC_INFO: {
        if (JxlDecoderGetBasicInfo(dec.get(), &info) != JXL_DEC_SUCCESS) throw corrupt("its header cannot be read");
        // The size is already the upright one; checked before any pixel buffer exists.
        const std::int64_t width = info.xsize, height = info.ysize;
        if (width * height > kMaxPixels)
          throw Error(ErrorCode::Unsupported, "cannot open " + name + ": it is " + std::to_string(width) + "×" +
                                                  std::to_string(height) + " pixels; cmedit opens up to " +
                                                  std::to_string(kMaxPixels / 1'000'000) + " megapixels");
        JxlResizableParallelRunnerSetThreads(runner.get(), threads_for(info.xsize, info.ysize));
        format.num_channels = info.num_color_channels + (info.alpha_bits > 0 ? 1 : 0);
        // Float and over-8-bit files as 16 bits (libjxl scales to the full 0…65535).
        format.data_type = info.bits_per_sample > 8 ? JXL_TYPE_UINT16 : JXL_TYPE_UINT8;
        break;
      }
      case JXL_DEC_COLOR_ENCODING:
        prefer_srgb(dec.get(), info);
        out.metadata.icc = data_profile(dec.get());
        break;
      case JXL_DEC_NEED_IMAGE_OUT_BUFFER: {
        if (have_image) {  // a later frame of an animation: only the first is the photo
          JxlDecoderSkipCurrentFrame(dec.get());
          break;
        }
        const int depth = format.data_type == JXL_TYPE_UINT16 ? CV_16U : CV_8U;
        pixels.create(int(info.ysize), int(info.xsize), CV_MAKETYPE(depth, int(format.num_channels)));
        std::size_t needed = 0;
        const std::size_t have = pixels.total() * pixels.elemSize();
        if (JxlDecoderImageOutBufferSize(dec.get(), &format, &needed) != JXL_DEC_SUCCESS || needed > have ||
            JxlDecoderSetImageOutBuffer(dec.get(), &format, pixels.data, have) != JXL_DEC_SUCCESS)
          throw corrupt("libjxl cannot give its pixels");
        break;
      }
      case JXL_DEC_FULL_IMAGE:
        if (!have_image && info.have_animation) JxlDecoderSkipFrames(dec.get(), std::size_t(-1) / 2);
        have_image = true;
        break;
      case JXL_DEC_BOX:
        boxes.start(out.metadata, size);
        break;
      case JXL_DEC_BOX_NEED_MORE_OUTPUT:
        boxes.grow();
        break;
      default:
        throw corrupt("libjxl stopped with status " + std::to_string(int(status)));
    }
  }
  boxes.finish(out.metadata);
  if (!have_image) throw corrupt("it holds no image");
  out.pixels = to_opencv(pixels);
  return out;
}

namespace {

// cjxl's quality -> Butteraugli distance: 90 is 1.0 (visually lossless), 30 is 6.4, steeper below;
// capped at 15, the largest distance libjxl 0.7 takes.
float distance_for(int quality) {
  const double q = std::clamp(quality, 1, 99);
  const double d = q >= 30 ? 0.1 + (100.0 - q) * 0.09 : 6.4 + std::pow(2.5, (30.0 - q) / 5.0) / 6.25;
  return float(std::min(d, 15.0));
}

std::string encoder_error(JxlEncoder* enc) {
  switch (JxlEncoderGetError(enc)) {
    case JXL_ENC_ERR_OOM: return "out of memory";
    case JXL_ENC_ERR_BAD_INPUT: return "libjxl rejects the input (pixels or colour profile)";
    case JXL_ENC_ERR_NOT_SUPPORTED: return "libjxl does not support this image";
    case JXL_ENC_ERR_API_USAGE: return "libjxl was called the wrong way (a bug in cmedit)";
    default: return "libjxl failed";
  }
}

}  // namespace

std::vector<std::uint8_t> encode_jxl(const ToEncode& in, const std::string& name) {
  const cv::Mat& m = in.pixels;
  if (m.empty() || (m.depth() != CV_8U && m.depth() != CV_16U) ||
      (m.channels() != 1 && m.channels() != 3 && m.channels() != 4))
    throw Error(ErrorCode::Unsupported, "cannot encode " + name + ": JPEG XL takes 8- or 16-bit gray, RGB or RGBA pixels");
  const auto check = [&](JxlEncoderStatus status, JxlEncoder* enc) {
    if (status != JXL_ENC_SUCCESS) throw Error(ErrorCode::Io, "cannot encode " + name + ": " + encoder_error(enc));
  };
  const int channels = m.channels();
  const bool sixteen = m.depth() == CV_16U;
  const bool lossless = in.quality >= 100;

  // B,G,R(,A) -> R,G,B(,A), continuous rows as libjxl reads them.
  cv::Mat rgb = m.isContinuous() ? m : m.clone();
  if (channels > 1) {
    rgb = cv::Mat(m.rows, m.cols, m.type());
    const int to_rgb[] = {0, 2, 1, 1, 2, 0, 3, 3};
    cv::mixChannels(&m, 1, &rgb, 1, to_rgb, std::size_t(channels));
  }

  const Encoder enc(JxlEncoderCreate(nullptr));
  if (!enc) throw std::bad_alloc();
  const Runner runner = new_runner();
  JxlResizableParallelRunnerSetThreads(runner.get(), threads_for(std::uint64_t(m.cols), std::uint64_t(m.rows)));
  check(JxlEncoderSetParallelRunner(enc.get(), JxlResizableParallelRunner, runner.get()), enc.get());
  const bool boxes = !in.metadata.exif.empty() || !in.metadata.xmp.empty();
  if (boxes) check(JxlEncoderUseBoxes(enc.get()), enc.get());  // must precede everything else

  JxlBasicInfo info;
  JxlEncoderInitBasicInfo(&info);
  info.xsize = std::uint32_t(m.cols);
  info.ysize = std::uint32_t(m.rows);
  info.bits_per_sample = sixteen ? 16 : 8;
  info.exponent_bits_per_sample = 0;
  info.num_color_channels = channels == 1 ? 1 : 3;
  info.num_extra_channels = channels == 4 ? 1 : 0;
  info.alpha_bits = channels == 4 ? info.bits_per_sample : 0;
  info.alpha_exponent_bits = 0;
  // Lossless keeps the pixels' own colour space. Lossy goes through XYB, libjxl's perceptual
  // space, also with an ICC profile (which is stored and says what the colours were): coded in
  // the profile's own space, a photo came out 3× larger at quality 90. The price: libjxl 0.7
  // decodes such a file only to sRGB-gamut pixels (decode_jxl), which is cmedit's working space.
  info.uses_original_profile = lossless ? JXL_TRUE : JXL_FALSE;
  check(JxlEncoderSetBasicInfo(enc.get(), &info), enc.get());
  if (!in.metadata.icc.empty()) {
    check(JxlEncoderSetICCProfile(enc.get(), in.metadata.icc.data(), in.metadata.icc.size()), enc.get());
  } else {
    JxlColorEncoding srgb;
    JxlColorEncodingSetToSRGB(&srgb, channels == 1 ? JXL_TRUE : JXL_FALSE);
    check(JxlEncoderSetColorEncoding(enc.get(), &srgb), enc.get());
  }

  // Owned by the encoder, freed with it.
  JxlEncoderFrameSettings* frame = JxlEncoderFrameSettingsCreate(enc.get(), nullptr);
  if (frame == nullptr) throw std::bad_alloc();
  if (lossless) {
    check(JxlEncoderSetFrameDistance(frame, 0.0f), enc.get());
    check(JxlEncoderSetFrameLossless(frame, JXL_TRUE), enc.get());
  } else {
    check(JxlEncoderSetFrameDistance(frame, distance_for(in.quality)), enc.get());
  }

  // Metadata boxes before the image, so that a reader of the header finds them without the pixels.
  if (!in.metadata.exif.empty()) {
    std::vector<std::uint8_t> exif(4, 0);  // offset 0: the TIFF header follows at once
    exif.insert(exif.end(), in.metadata.exif.begin(), in.metadata.exif.end());
    check(JxlEncoderAddBox(enc.get(), "Exif", exif.data(), exif.size(), JXL_FALSE), enc.get());
  }
  if (!in.metadata.xmp.empty())
    check(JxlEncoderAddBox(enc.get(), "xml ", reinterpret_cast<const std::uint8_t*>(in.metadata.xmp.data()),
                           in.metadata.xmp.size(), JXL_FALSE), enc.get());

  const JxlPixelFormat format{std::uint32_t(channels), sixteen ? JXL_TYPE_UINT16 : JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
  check(JxlEncoderAddImageFrame(frame, &format, rgb.data, rgb.total() * rgb.elemSize()), enc.get());
  JxlEncoderCloseInput(enc.get());

  std::vector<std::uint8_t> out(std::max<std::size_t>(64 << 10, rgb.total() * rgb.elemSize() / 4));
  std::size_t used = 0;
  for (;;) {
    std::uint8_t* next = out.data() + used;
    std::size_t avail = out.size() - used;
    const JxlEncoderStatus status = JxlEncoderProcessOutput(enc.get(), &next, &avail);
    used = std::size_t(next - out.data());
    if (status == JXL_ENC_SUCCESS) break;
    if (status != JXL_ENC_NEED_MORE_OUTPUT) check(status, enc.get());
    out.resize(out.size() * 2);
  }
  out.resize(used);
  return out;
}

std::string jxl_version() {
  const std::uint32_t v = JxlDecoderVersion();
  return std::to_string(v / 1000000) + "." + std::to_string(v / 1000 % 1000) + "." + std::to_string(v % 1000);
}

}  // namespace cm::imageio
