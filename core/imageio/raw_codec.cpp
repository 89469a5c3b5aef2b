#include "core/imageio/raw_codec.h"

#include "core/base/error.h"
#include "core/imageio/image_header.h"

#include <libraw/libraw.h>
#include <opencv2/core.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

namespace cm::imageio {

namespace {

// LibRaw's codes as cm::Error. A format or camera LibRaw does not know is a file this build cannot
// open, not a broken one; everything else (truncated data, a file that is no RAW at all, an
// allocation a damaged header asks for) reads to the user as a file that cannot be decoded.
void check(int code, const std::string& name) {
  if (code == LIBRAW_SUCCESS) return;
  // LibRaw cannot tell a camera newer than itself from bytes that are no RAW file at all.
  if (code == LIBRAW_FILE_UNSUPPORTED)
    throw Error(ErrorCode::Unsupported, "cannot decode " + name + ": it is not a RAW file this LibRaw (" +
                                            LibRaw::version() + ") knows: a newer camera, or not a RAW file at all");
  if (code == LIBRAW_IO_ERROR)  // from a buffer: a read past its end
    throw Error(ErrorCode::CorruptFile, "cannot decode " + name + ": the file is truncated or damaged");
  if (code == LIBRAW_TOO_BIG)  // more sensor data than LibRaw's memory limit (2 GB) allows
    throw Error(ErrorCode::Unsupported, "cannot decode " + name + ": " + libraw_strerror(code));
  throw Error(ErrorCode::CorruptFile, "cannot decode " + name + ": " + libraw_strerror(code));
}

// The developed image belongs to LibRaw's allocator, so it goes back through dcraw_clear_mem on
// every path out of develop_raw, a thrown cm::Error included.
struct ClearMem {
  void operator()(libraw_processed_image_t* image) const { LibRaw::dcraw_clear_mem(image); }
};
using ProcessedImage = std::unique_ptr<libraw_processed_image_t, ClearMem>;

// "Canon EOS 5D": LibRaw keeps the maker out of the model; either may be empty.
std::string camera_name(const libraw_iparams_t& id) {
  const std::string make(id.make, strnlen(id.make, sizeof id.make));
  const std::string model(id.model, strnlen(id.model, sizeof id.model));
  return make.empty() || model.empty() ? make + model : make + " " + model;
}

// The development settings of a photographer's "as shot": the camera's white balance and colour
// matrix, the exposure as taken (no brightening driven by the photo's own values, which would
// make one photo of a series brighter than the next), and highlights clipped to white instead of
// LibRaw's tinted reconstruction. Out: 16-bit, sRGB primaries with sRGB's curve (1/2.4 power, 12.92 toe), the
// colour space cmedit assumes of a file without a profile.
void set_as_shot(libraw_output_params_t& p) {
  p.output_bps = 16;
  p.use_camera_wb = 1;
  p.use_camera_matrix = 1;
  p.no_auto_bright = 1;
  // LibRaw's own default (0.75) also takes the brightest raw value for white whenever it lies
  // above 75% of the camera's white level: a photo whose highlights just miss clipping came out
  // up to a third brighter than its neighbour that clipped. The camera's white level is kept.
  p.adjust_maximum_thr = 0.0f;
  p.output_color = 1;  // sRGB
  p.gamm[0] = 1.0 / 2.4;
  p.gamm[1] = 12.92;
  p.highlight = 0;
  p.half_size = 0;
  // user_flip stays -1: the file's orientation, which dcraw_make_mem_image applies.
}

}  // namespace

Decoded develop_raw(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  if (bytes == nullptr || size == 0) throw Error(ErrorCode::CorruptFile, "cannot decode " + name + ": the file is empty");
  // Several megabytes of tables: on the heap. No callbacks: a library must not write to stderr.
  auto raw = std::make_unique<LibRaw>(LIBRAW_OPIONS_NO_MEMERR_CALLBACK | LIBRAW_OPIONS_NO_DATAERR_CALLBACK);
  // LibRaw only reads the buffer; its interface predates const.
  check(raw->open_buffer(const_cast<std::uint8_t*>(bytes), size), name);

  // The header's size before unpack allocates the sensor's data (image_header.h).
  const std::int64_t width = raw->imgdata.sizes.width, height = raw->imgdata.sizes.height;
  if (width * height > kMaxPixels)
    throw Error(ErrorCode::Unsupported, "cannot open " + name + ": it is " + std::to_string(width) + "×" +
                                            std::to_string(height) + " pixels; cmedit opens up to " +
                                            std::to_string(kMaxPixels / 1'000'000) + " megapixels");

  check(raw->unpack(), name);
  set_as_shot(raw->imgdata.params);
  check(raw->dcraw_process(), name);
  int code = LIBRAW_SUCCESS;
  const ProcessedImage image(raw->dcraw_make_mem_image(&code));
  check(code, name);
  if (!image) throw Error(ErrorCode::CorruptFile, "cannot decode " + name + ": LibRaw gave no image");
  const std::string camera = camera_name(raw->imgdata.idata);
  // The sensor data and LibRaw's working image (8 bytes a pixel) go before the copy below is
  // allocated: a gigabyte less at the peak for a 100-megapixel photo.
  raw->recycle();

  const int channels = image->colors, depth = image->bits == 16 ? CV_16U : CV_8U;
  const std::size_t expected = std::size_t(image->width) * image->height * image->colors * (image->bits / 8);
  if (image->type != LIBRAW_IMAGE_BITMAP || (channels != 1 && channels != 3) || (image->bits != 8 && image->bits != 16) ||
      image->data_size < expected || image->width == 0 || image->height == 0)
    throw Error(ErrorCode::Unsupported, "cannot open " + name + ": LibRaw developed it into " +
                                            std::to_string(channels) + " channels of " + std::to_string(image->bits) +
                                            " bits, which cmedit does not read");

  // LibRaw's rows are packed R,G,B (native-endian for 16 bits); one copy into OpenCV's B,G,R.
  const cv::Mat developed(image->height, image->width, CV_MAKETYPE(depth, channels), image->data);
  Decoded out;
  if (channels == 1) {
    out.pixels = developed.clone();
  } else {
    out.pixels.create(developed.size(), developed.type());
    const int from_to[] = {0, 2, 1, 1, 2, 0};
    cv::mixChannels(&developed, 1, &out.pixels, 1, from_to, 3);
  }
  out.format = camera.empty() ? "RAW" : "RAW (" + camera + ")";
  return out;
}

std::string libraw_version_string() { return LibRaw::version(); }

}  // namespace cm::imageio
