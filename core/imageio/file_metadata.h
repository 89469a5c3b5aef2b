// A photo's metadata as plain bytes, without torch or OpenCV, so the editor's headers can hold it
// (image_file.h carries it from load_image to save_image).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cm::imageio {

// The file's own pixel values of a photo that was converted into sRGB when it opened
// (color_profile.h): what an export writes back where the photo was not edited.
struct SourcePixels;

// What a photo file holds besides its pixels, carried from load_image to save_image so an edited
// photo keeps its camera data and its colours (metadata.h, color_profile.h).
struct FileMetadata {
  std::vector<std::uint8_t> exif;  // a TIFF structure ("II*\0" or "MM\0*" first), without JPEG's "Exif\0\0"
  std::string xmp;                 // the XMP packet
  std::vector<std::uint8_t> iptc;  // IPTC-IIM datasets
  std::vector<std::uint8_t> icc;   // the file's colour profile; empty: sRGB (as browsers take an untagged photo)
  // Set when the pixels were converted from `icc`: the values as the file held them, so that an
  // export back into that profile gives every pixel the edit did not touch exactly its old value,
  // colours outside sRGB's gamut included (the conversion into sRGB clips those).
  std::shared_ptr<const SourcePixels> source;
};

// The name a colour profile gives itself ("Display P3", "Adobe RGB (1998)"); "sRGB" for none,
// since an untagged photo is taken as sRGB.
std::string colour_profile_name(const FileMetadata& metadata);

}  // namespace cm::imageio
