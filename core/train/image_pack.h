// Image packs: a training set in one file, so a run can move to a machine without image codecs
// (the GPU machine has LibTorch only). Layout, like safetensors:
//
//   8 bytes   "CMPACK01"
//   8 bytes   little-endian uint64 N, the header length
//   N bytes   UTF-8 JSON: {"format": "cmedit-image-pack", "version": 1, "metadata": {…strings…},
//             "images": [{"name", "split": "train"|"test", "license", "source", "height", "width",
//             "encoding": "rgb8"|"jpeg", "offset", "bytes"}, …]}
//   the rest  each image: H×W×3 bytes row-major RGB (rgb8) or a JPEG file's bytes (jpeg, ~10×
//             smaller, decoded with stb_image where training runs), tiling the data section exactly
//
// Reading validates the whole header against the file size before it allocates anything.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace cm::train {

enum class Split { Train, Test };

struct PackImage {
  std::string name;     // where it came from, e.g. "endless-sky/beach1.jpg"; unique in a pack
  Split split = Split::Train;
  std::string license;  // SPDX-style identifier or free text
  std::string source;   // package, URL or author
  at::Tensor pixels;    // [H, W, 3] uint8, contiguous; undefined when read with PackRead::Catalogue
  std::vector<std::uint8_t> jpeg;  // writing only: when set, stored as these JPEG bytes of `pixels`
  int64_t height = 0, width = 0;   // reading only: the stored size, also when the pixels were not read
};

struct ImagePack {
  std::map<std::string, std::string> metadata;
  std::vector<PackImage> images;

  std::vector<at::Tensor> pixels(Split split) const;  // the images of one split
  int64_t count(Split split) const;
};

// Throws cm::Error: FileNotFound, CorruptFile (bad magic, header, sizes, undecodable or mis-sized
// JPEG; the message names the file and the image), Unsupported (an unknown encoding, JPEG in a
// build without a decoder, a newer version).
// Catalogue reads the header only (names, splits, licences, sizes, metadata) and checks it against
// the file's size, without reading or decoding any pixels: what an attribution list or a summary needs.
enum class PackRead { Pixels, Catalogue };
ImagePack read_image_pack(const std::filesystem::path& path, PackRead what = PackRead::Pixels);
// Atomic write. Throws cm::Error(BadArgument) for duplicate names or pixels that are not
// [H, W, 3] uint8, Io when the file cannot be written.
void write_image_pack(const std::filesystem::path& path, const ImagePack& pack);

// The held-out rule for images without a stored split: an image is in the test split when a
// hash of its name falls below `fraction`. Stable: adding images never moves existing ones.
Split split_for(const std::string& name, double test_fraction);

}  // namespace cm::train
