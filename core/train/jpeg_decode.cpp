#include "core/train/jpeg_decode.h"

#include "core/base/error.h"

#include <ATen/ATen.h>

#ifdef CMEDIT_HAS_STB_IMAGE
// Only the JPEG decoder, private to this file (the editor links libstb too), and no image
// larger than a pack allows.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS (1 << 15)
#include <stb_image.h>
#endif

#include <climits>
#include <cstring>

namespace cm::train {

bool can_decode_jpeg() {
#ifdef CMEDIT_HAS_STB_IMAGE
  return true;
#else
  return false;
#endif
}

at::Tensor decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& what) {
#ifdef CMEDIT_HAS_STB_IMAGE
  if (size > std::size_t(INT_MAX)) throw Error(ErrorCode::CorruptFile, what + ": JPEG data too large");
  int w = 0, h = 0, channels = 0;
  unsigned char* pixels = stbi_load_from_memory(data, int(size), &w, &h, &channels, 3);
  if (!pixels) throw Error(ErrorCode::CorruptFile, what + ": not a decodable JPEG (" + stbi_failure_reason() + ")");
  at::Tensor out = at::empty({h, w, 3}, at::kByte);
  std::memcpy(out.data_ptr<uint8_t>(), pixels, std::size_t(w) * std::size_t(h) * 3);
  stbi_image_free(pixels);
  return out;
#else
  (void)data;
  (void)size;
  throw Error(ErrorCode::Unsupported, what + " is JPEG-encoded and this build has no JPEG decoder (configure with "
                                              "stb_image.h: libstb-dev, or -DCMEDIT_STB_DIR=folder holding stb_image.h)");
#endif
}

}  // namespace cm::train
