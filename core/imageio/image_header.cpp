#include "core/imageio/image_header.h"

#include <cctype>
#include <cstring>

namespace cm::imageio {
namespace {

struct Bytes {
  const std::uint8_t* p;
  std::size_t n;
  bool has(std::size_t at, std::size_t len) const { return at <= n && len <= n - at; }
  std::uint32_t be16(std::size_t at) const { return std::uint32_t(p[at]) << 8 | p[at + 1]; }
  std::uint32_t le16(std::size_t at) const { return std::uint32_t(p[at + 1]) << 8 | p[at]; }
  std::uint32_t be32(std::size_t at) const { return be16(at) << 16 | be16(at + 2); }
  std::uint32_t le32(std::size_t at) const { return le16(at + 2) << 16 | le16(at); }
  std::uint32_t le24(std::size_t at) const { return std::uint32_t(p[at + 2]) << 16 | le16(at); }
  bool starts(std::size_t at, const char* magic) const {
    const std::size_t len = std::strlen(magic);
    return has(at, len) && std::memcmp(p + at, magic, len) == 0;
  }
};

std::optional<PixelSize> png(const Bytes& b) {  // IHDR is the first chunk
  if (!b.has(16, 8) || !b.starts(12, "IHDR")) return std::nullopt;
  return PixelSize{b.be32(16), b.be32(20)};
}

std::optional<PixelSize> jpeg(const Bytes& b) {  // the first start-of-frame marker
  std::size_t at = 2;
  while (b.has(at, 4)) {
    // libjpeg skips bytes that are not a marker ("extraneous bytes before marker") and reads on,
    // so must we: a decoder that finds a frame we missed would allocate before we could refuse
    // (found by fuzz_image: a comment segment whose length stops short of the next marker).
    if (b.p[at] != 0xFF) { ++at; continue; }
    const std::uint8_t marker = b.p[at + 1];
    if (marker == 0xFF) { ++at; continue; }  // fill byte
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { at += 2; continue; }
    const std::size_t length = b.be16(at + 2);
    const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) {
      if (!b.has(at + 5, 4)) return std::nullopt;
      return PixelSize{b.be16(at + 7), b.be16(at + 5)};
    }
    if (length < 2) return std::nullopt;
    at += 2 + length;
  }
  return std::nullopt;
}

std::optional<PixelSize> webp(const Bytes& b) {
  if (b.starts(12, "VP8X") && b.has(24, 6))  // 24-bit width − 1, then height − 1 (a 4-byte read overran: fuzz_image)
    return PixelSize{1 + std::int64_t(b.le24(24)), 1 + std::int64_t(b.le24(27))};
  if (b.starts(12, "VP8L") && b.has(21, 4)) {
    const std::uint32_t bits = b.le32(21);
    return PixelSize{1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)};
  }
  if (b.starts(12, "VP8 ") && b.has(26, 4)) return PixelSize{b.le16(26) & 0x3FFF, b.le16(28) & 0x3FFF};
  return std::nullopt;
}

std::optional<PixelSize> bmp(const Bytes& b) {
  if (!b.has(18, 8)) return std::nullopt;
  const auto height = std::int64_t(std::int32_t(b.le32(22)));  // negative: top-down rows
  return PixelSize{std::int64_t(std::int32_t(b.le32(18))), height < 0 ? -height : height};
}

std::optional<PixelSize> tiff(const Bytes& b) {  // tags 256 (width) and 257 (height) of the first IFD
  const bool little = b.p[0] == 'I';
  const auto u16 = [&](std::size_t at) { return little ? b.le16(at) : b.be16(at); };
  const auto u32 = [&](std::size_t at) { return little ? b.le32(at) : b.be32(at); };
  if (!b.has(4, 4)) return std::nullopt;
  const std::size_t ifd = u32(4);
  if (!b.has(ifd, 2)) return std::nullopt;
  const std::size_t entries = u16(ifd);
  PixelSize size;
  for (std::size_t i = 0; i < entries && b.has(ifd + 2 + 12 * i, 12); ++i) {
    const std::size_t e = ifd + 2 + 12 * i;
    const std::uint32_t tag = u16(e), type = u16(e + 2);
    const std::int64_t value = type == 3 ? u16(e + 8) : u32(e + 8);  // SHORT or LONG
    if (tag == 256) size.width = value;
    if (tag == 257) size.height = value;
  }
  if (size.width == 0 || size.height == 0) return std::nullopt;
  return size;
}

std::optional<PixelSize> pnm(const Bytes& b) {  // "P1".."P6", whitespace, width, height (comments skipped)
  std::size_t at = 2;
  std::int64_t numbers[2] = {0, 0};
  for (std::int64_t& number : numbers) {
    while (b.has(at, 1) && (std::isspace(b.p[at]) || b.p[at] == '#')) {
      if (b.p[at] == '#')
        while (b.has(at, 1) && b.p[at] != '\n') ++at;
      else
        ++at;
    }
    if (!b.has(at, 1) || b.p[at] < '0' || b.p[at] > '9') return std::nullopt;
    while (b.has(at, 1) && b.p[at] >= '0' && b.p[at] <= '9' && number < (std::int64_t(1) << 40))
      number = number * 10 + (b.p[at++] - '0');
  }
  return PixelSize{numbers[0], numbers[1]};
}

}  // namespace

std::optional<PixelSize> read_pixel_size(const std::uint8_t* bytes, std::size_t size) {
  const Bytes b{bytes, size};
  if (b.starts(0, "\x89PNG\r\n\x1a\n")) return png(b);
  if (b.starts(0, "\xFF\xD8")) return jpeg(b);
  if (b.starts(0, "RIFF") && b.starts(8, "WEBP")) return webp(b);
  if (b.starts(0, "BM")) return bmp(b);
  if (b.starts(0, "II*") || b.starts(0, "MM")) return tiff(b);
  if (b.starts(0, "GIF8") && b.has(6, 4)) return PixelSize{b.le16(6), b.le16(8)};
  if (b.has(0, 2) && b.p[0] == 'P' && b.p[1] >= '1' && b.p[1] <= '6') return pnm(b);
  return std::nullopt;
}

}  // namespace cm::imageio
