#include "core/train/sample_grid.h"

#include "core/base/atomic_file.h"
#include "core/base/error.h"

#include <ATen/ATen.h>

#include <array>
#include <string>
#include <vector>

namespace cm::train {
namespace {

uint32_t crc32(const uint8_t* data, std::size_t n, uint32_t crc = 0) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}

void chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& body) {
  put_u32(out, uint32_t(body.size()));
  std::vector<uint8_t> typed(type, type + 4);
  typed.insert(typed.end(), body.begin(), body.end());
  out.insert(out.end(), typed.begin(), typed.end());
  put_u32(out, crc32(typed.data(), typed.size()));
}

// A zlib stream of stored (uncompressed) deflate blocks of at most 65535 bytes.
std::vector<uint8_t> zlib_stored(const std::vector<uint8_t>& raw) {
  std::vector<uint8_t> z = {0x78, 0x01};
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(65535, raw.size() - pos);
    z.push_back(pos + n == raw.size() ? 1 : 0);
    z.push_back(uint8_t(n & 0xff));
    z.push_back(uint8_t(n >> 8));
    z.push_back(uint8_t(~n & 0xff));
    z.push_back(uint8_t((~n >> 8) & 0xff));
    z.insert(z.end(), raw.begin() + std::ptrdiff_t(pos), raw.begin() + std::ptrdiff_t(pos + n));
    pos += n;
  } while (pos < raw.size());
  uint32_t a = 1, b = 0;  // Adler-32
  for (uint8_t c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  put_u32(z, (b << 16) | a);
  return z;
}

}  // namespace

at::Tensor image_grid(const at::Tensor& images, int columns, int gap) {
  if (images.dim() != 4 || images.size(1) != 3) throw Error(ErrorCode::BadArgument, "a sample grid needs [B, 3, H, W] images");
  const int64_t b = images.size(0), h = images.size(2), w = images.size(3);
  columns = int(std::max<int64_t>(1, std::min<int64_t>(columns, b)));
  const int64_t rows = (b + columns - 1) / columns;
  at::Tensor grid = at::zeros({rows * (h + gap) - gap, columns * (w + gap) - gap, 3}, at::kByte);
  const at::Tensor bytes = ((images.detach().to(at::kCPU, at::kFloat).clamp(-1, 1) + 1) * 127.5)
                               .round().to(at::kByte).permute({0, 2, 3, 1});
  for (int64_t i = 0; i < b; ++i) {
    const int64_t y = (i / columns) * (h + gap), x = (i % columns) * (w + gap);
    grid.slice(0, y, y + h).slice(1, x, x + w).copy_(bytes[i]);
  }
  return grid;
}

void write_png(const std::filesystem::path& path, const at::Tensor& rgb) {
  if (rgb.dim() != 3 || rgb.size(2) != 3 || rgb.scalar_type() != at::kByte)
    throw Error(ErrorCode::BadArgument, "write_png needs [H, W, 3] uint8 pixels");
  const at::Tensor c = rgb.contiguous();
  const int64_t h = c.size(0), w = c.size(1);
  std::vector<uint8_t> raw;
  raw.reserve(std::size_t(h * (w * 3 + 1)));
  const uint8_t* p = c.data_ptr<uint8_t>();
  for (int64_t y = 0; y < h; ++y) {
    raw.push_back(0);  // filter: none
    raw.insert(raw.end(), p + y * w * 3, p + (y + 1) * w * 3);
  }
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  put_u32(ihdr, uint32_t(w));
  put_u32(ihdr, uint32_t(h));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit, truecolour, deflate, adaptive filter, no interlace
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", zlib_stored(raw));
  chunk(png, "IEND", {});
  write_file_atomically(path, png.data(), png.size());
}

}  // namespace cm::train
