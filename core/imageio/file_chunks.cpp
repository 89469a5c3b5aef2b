#include "core/imageio/file_chunks.h"

#include "core/imageio/file_formats.h"
#include "core/imageio/image_file.h"

#include <cstring>
#include <functional>
#include <optional>

namespace cm::imageio {
namespace fs = std::filesystem;
using uchar = unsigned char;

namespace {

// A header segment of a JPEG: its marker and where its body lies in the file's bytes.
struct JpegSegment {
  int marker;
  std::size_t body, end;
};

// The first header segment (before the image data) that `wanted` accepts. Every length is
// checked against the bytes, which come from any file; a broken header ends the search.
std::optional<JpegSegment> find_jpeg_segment(const std::vector<uchar>& b,
                                             const std::function<bool(const JpegSegment&)>& wanted) {
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return std::nullopt;
  for (std::size_t pos = 2; pos + 4 <= b.size() && b[pos] == 0xFF;) {
    const JpegSegment segment{b[pos + 1], pos + 4, pos + 2 + ((std::size_t(b[pos + 2]) << 8) | b[pos + 3])};
    if (segment.marker == 0xDA || segment.end < segment.body || segment.end > b.size()) return std::nullopt;
    if (wanted(segment)) return segment;
    pos = segment.end;
  }
  return std::nullopt;
}

// CRC-32 (ISO 3309, as PNG chunks use), bitwise: chunks here are small.
std::uint32_t crc32(const uchar* data, std::size_t n, std::uint32_t crc = 0xFFFFFFFFu) {
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc;
}

// A PNG chunk: length, type, data, CRC of type and data.
std::vector<uchar> png_chunk(const char* type, const std::string& data) {
  std::vector<uchar> chunk;
  const std::uint32_t length = std::uint32_t(data.size());
  for (int shift : {24, 16, 8, 0}) chunk.push_back(uchar(length >> shift));
  chunk.insert(chunk.end(), type, type + 4);
  chunk.insert(chunk.end(), data.begin(), data.end());
  const std::uint32_t crc = ~crc32(chunk.data() + 4, chunk.size() - 4);
  for (int shift : {24, 16, 8, 0}) chunk.push_back(uchar(crc >> shift));
  return chunk;
}

struct PngChunk {
  std::size_t at;      // where the chunk starts (its length field)
  std::size_t length;  // of its data, which starts at at + 8
  const char* type;
};

// Calls `visit` on each whole chunk of a PNG's bytes in order, until it returns false; nothing for
// bytes that are not a PNG. Every length is checked against the bytes, which come from any file.
void for_each_png_chunk(const std::vector<uchar>& b, const std::function<bool(const PngChunk&)>& visit) {
  static const uchar png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (b.size() < 8 || std::memcmp(b.data(), png_signature, 8) != 0) return;
  for (std::size_t pos = 8; pos + 12 <= b.size();) {
    const std::size_t length = (std::size_t(b[pos]) << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3];
    if (pos + 12 + length > b.size() || !visit({pos, length, reinterpret_cast<const char*>(&b[pos + 4])})) return;
    pos += 12 + length;
  }
}

// Puts `text` into encoded bytes: a PNG iTXt chunk "Description" before IEND, or a JPEG COM
// segment right after SOI. Text longer than a JPEG comment can hold is cut.
void add_description_to(std::vector<uchar>& bytes, const std::string& ext, const std::string& text) {
  if (ext == ".png" && bytes.size() >= 12) {
    // iTXt (UTF-8): keyword, no compression, no language tag, no translated keyword, text.
    const std::vector<uchar> chunk = png_chunk("iTXt", std::string("Description") + std::string(5, '\0') + text);
    bytes.insert(bytes.end() - 12, chunk.begin(), chunk.end());  // IEND is the last 12 bytes
  } else if ((ext == ".jpg" || ext == ".jpeg") && bytes.size() >= 2) {
    const std::string data = text.substr(0, 65533);
    std::vector<uchar> segment = {0xFF, 0xFE, uchar((data.size() + 2) >> 8), uchar((data.size() + 2) & 0xFF)};
    segment.insert(segment.end(), data.begin(), data.end());
    bytes.insert(bytes.begin() + 2, segment.begin(), segment.end());
  }
}

std::uint32_t le32(const std::vector<uchar>& b, std::size_t at) {
  return std::uint32_t(b[at]) | (std::uint32_t(b[at + 1]) << 8) | (std::uint32_t(b[at + 2]) << 16) | (std::uint32_t(b[at + 3]) << 24);
}

void put_le(std::vector<uchar>& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(uchar(value >> (8 * i)));
}

std::vector<uchar> riff_chunk(const char* name, const std::vector<uchar>& data) {
  std::vector<uchar> chunk(name, name + 4);
  put_le(chunk, std::uint32_t(data.size()), 4);
  chunk.insert(chunk.end(), data.begin(), data.end());
  if (data.size() % 2) chunk.push_back(0);  // RIFF chunks are padded to an even size
  return chunk;
}

}  // namespace

void set_webp_icc_profile(std::vector<std::uint8_t>& b, const std::vector<std::uint8_t>& icc) {
  if (icc.empty() || b.size() < 20 || std::memcmp(b.data(), "RIFF", 4) != 0 || std::memcmp(&b[8], "WEBP", 4) != 0) return;
  // The chunks as they are: where VP8X is, and the image's size and alpha from its bitstream.
  std::size_t vp8x = 0;
  std::uint32_t width = 0, height = 0;
  bool alpha = false;
  for (std::size_t pos = 12; pos + 8 <= b.size();) {
    const std::uint32_t size = le32(b, pos + 4);
    if (pos + 8 + size > b.size()) return;  // damaged: left as it is
    const uchar* data = &b[pos + 8];
    if (std::memcmp(&b[pos], "VP8X", 4) == 0 && size >= 10) vp8x = pos;
    if (std::memcmp(&b[pos], "ICCP", 4) == 0) return;  // has one already
    if (std::memcmp(&b[pos], "ALPH", 4) == 0) alpha = true;
    if (std::memcmp(&b[pos], "VP8L", 4) == 0 && size >= 5 && data[0] == 0x2F) {
      const std::uint32_t bits = le32(b, pos + 9);  // 14 bits width − 1, 14 bits height − 1, alpha used
      width = (bits & 0x3FFF) + 1, height = ((bits >> 14) & 0x3FFF) + 1, alpha = alpha || ((bits >> 28) & 1);
    }
    if (std::memcmp(&b[pos], "VP8 ", 4) == 0 && size >= 10 && data[3] == 0x9D && data[4] == 0x01 && data[5] == 0x2A) {
      width = (data[6] | (data[7] << 8)) & 0x3FFF, height = (data[8] | (data[9] << 8)) & 0x3FFF;
    }
    pos += 8 + size + (size % 2);
  }
  if (!vp8x) {
    if (width == 0 || height == 0) return;
    std::vector<uchar> data = {uchar(alpha ? 0x10 : 0x00), 0, 0, 0};
    put_le(data, width - 1, 3);
    put_le(data, height - 1, 3);
    const std::vector<uchar> chunk = riff_chunk("VP8X", data);
    b.insert(b.begin() + 12, chunk.begin(), chunk.end());
    vp8x = 12;
  }
  b[vp8x + 8] |= 0x20;  // "has an ICC profile"
  const std::vector<uchar> iccp = riff_chunk("ICCP", icc);
  b.insert(b.begin() + std::ptrdiff_t(vp8x + 8 + 10), iccp.begin(), iccp.end());  // right after VP8X
  const std::uint32_t riff = std::uint32_t(b.size() - 8);
  for (int i = 0; i < 4; ++i) b[4 + std::size_t(i)] = uchar(riff >> (8 * i));
}

void add_description(std::vector<std::uint8_t>& bytes, const std::string& ext, const std::string& text) {
  add_description_to(bytes, ext, text);
}

void name_png_icc_profile(std::vector<std::uint8_t>& b) {
  std::optional<PngChunk> unnamed;
  for_each_png_chunk(b, [&](const PngChunk& c) {
    if (std::memcmp(c.type, "iCCP", 4) == 0) {
      if (c.length > 0 && b[c.at + 8] == 0) unnamed = c;  // else named already
      return false;
    }
    return std::memcmp(c.type, "IDAT", 4) != 0;  // iCCP comes before the image data
  });
  if (!unnamed) return;
  const auto data = b.begin() + std::ptrdiff_t(unnamed->at + 8);
  const std::vector<uchar> chunk = png_chunk("iCCP", "ICC profile" + std::string(data, data + std::ptrdiff_t(unnamed->length)));
  b.erase(b.begin() + std::ptrdiff_t(unnamed->at), b.begin() + std::ptrdiff_t(unnamed->at + 12 + unnamed->length));
  b.insert(b.begin() + std::ptrdiff_t(unnamed->at), chunk.begin(), chunk.end());
}

std::string read_description(const fs::path& path) {
  const std::vector<uchar> b = read_bytes(path);
  std::optional<std::string> found;
  const std::string key = std::string("Description") + '\0';
  for_each_png_chunk(b, [&](const PngChunk& c) {
    const bool text = std::memcmp(c.type, "tEXt", 4) == 0, itext = std::memcmp(c.type, "iTXt", 4) == 0;
    if (!text && !itext) return true;  // the image data is not copied to be looked at
    const std::string data(reinterpret_cast<const char*>(&b[c.at + 8]), c.length);
    if (text && data.rfind(key, 0) == 0) found = data.substr(key.size());
    if (itext && data.rfind(key, 0) == 0 && data.size() >= key.size() + 2 &&
        data[key.size()] == 0) {  // uncompressed: skip flag, method, language tag and translated keyword
      std::size_t at = key.size() + 2;
      for (int field = 0; field < 2 && at < data.size(); ++field) at = data.find('\0', at) + 1;
      if (at != 0 && at <= data.size()) found = data.substr(at);
    }
    return !found;
  });
  if (found) return *found;
  if (const auto comment = find_jpeg_segment(b, [](const JpegSegment& s) { return s.marker == 0xFE; })) {
    return std::string(reinterpret_cast<const char*>(&b[comment->body]), comment->end - comment->body);
  }
  return {};
}

}  // namespace cm::imageio
