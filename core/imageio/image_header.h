// An image file's pixel size read from its header alone, before any decoder allocates pixels:
// a 20000×20000 PNG of a few hundred kilobytes would otherwise ask for gigabytes. PNG, JPEG,
// WebP, BMP, TIFF, PNM, GIF; nullopt for other formats or a header too short or inconsistent to
// say (the decoder then decides).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace cm::imageio {

struct PixelSize {
  std::int64_t width = 0;
  std::int64_t height = 0;
};

std::optional<PixelSize> read_pixel_size(const std::uint8_t* bytes, std::size_t size);

// The largest image cmedit opens: 100 megapixels (a 12000×8000 photo takes 1.2 GB as floats,
// and an edit holds a few copies).
constexpr std::int64_t kMaxPixels = 100'000'000;

}  // namespace cm::imageio
