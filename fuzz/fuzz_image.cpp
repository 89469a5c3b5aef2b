// libFuzzer harness: image and mask files through cm_imageio (header sizes, OpenCV's decoders,
// EXIF orientation, the conversions to tensors). Any input either loads or throws cm::Error.
#include "core/base/error.h"
#include "core/imageio/image_file.h"
#include "core/imageio/image_header.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)cm::imageio::read_pixel_size(data, size);
  const std::string path = cm::fuzz::as_file(data, size);
  try {
    (void)cm::imageio::load_image(path);
    (void)cm::imageio::load_mask(path);
    (void)cm::imageio::read_description(path);
  } catch (const cm::Error&) {
  }
  return 0;
}
