// Chunks and segments cmedit writes into encoded files by hand: the edit's parameters as a PNG
// "Description" text chunk or a JPEG comment (read back by image_file.h's read_description), and
// a name for the colour profile that Exiv2 writes into a PNG. Internal to cm_imageio.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cm::imageio {

// Puts `text` into encoded PNG or JPEG bytes; other formats are left as they are.
void add_description(std::vector<std::uint8_t>& bytes, const std::string& ext, const std::string& text);

// Exiv2 0.27 writes a PNG's iCCP chunk with an empty profile name, which the PNG specification
// forbids (a 1–79 byte keyword) and libpng reports as "iCCP: bad keyword"; a strict reader may then
// drop the profile and show the colours wrong. Names it "ICC profile". Other bytes are left alone.
void name_png_icc_profile(std::vector<std::uint8_t>& png);

// Exiv2 0.27 writes a WebP's colour profile under the chunk name "VP8X" instead of "ICCP", which
// leaves a malformed file; so cmedit writes that chunk itself: an ICCP chunk after VP8X (made
// when the file has none, from the image's own size and alpha), with VP8X's profile flag set.
void set_webp_icc_profile(std::vector<std::uint8_t>& webp, const std::vector<std::uint8_t>& icc);

}  // namespace cm::imageio
