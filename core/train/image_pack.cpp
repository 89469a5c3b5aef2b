#include "core/train/image_pack.h"

#include "core/base/atomic_file.h"
#include "core/base/error.h"
#include "core/train/jpeg_decode.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <set>

namespace cm::train {
namespace {

constexpr char kMagic[8] = {'C', 'M', 'P', 'A', 'C', 'K', '0', '1'};
constexpr const char* kFormat = "cmedit-image-pack";
constexpr int kVersion = 1;
constexpr uint64_t kMaxHeader = 64ull << 20;
constexpr int64_t kMaxSide = 1 << 15;

[[noreturn]] void corrupt(const std::filesystem::path& path, const std::string& what) {
  throw Error(ErrorCode::CorruptFile, "image pack '" + path.string() + "': " + what);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

std::vector<at::Tensor> ImagePack::pixels(Split split) const {
  std::vector<at::Tensor> out;
  for (const PackImage& im : images)
    if (im.split == split) out.push_back(im.pixels);
  return out;
}

int64_t ImagePack::count(Split split) const {
  int64_t n = 0;
  for (const PackImage& im : images) n += im.split == split;
  return n;
}

Split split_for(const std::string& name, double test_fraction) {
  // The top 53 bits of the hash as a uniform number in [0, 1).
  const double u = double(fnv1a(name) >> 11) / double(1ull << 53);
  return u < test_fraction ? Split::Test : Split::Train;
}

ImagePack read_image_pack(const std::filesystem::path& path, PackRead what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::FileNotFound, "cannot open image pack '" + path.string() + "'");
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ErrorCode::FileNotFound, "cannot read the size of '" + path.string() + "'");
  char magic[8];
  uint64_t header_len = 0;
  if (file_size < 16 || !in.read(magic, 8) || !in.read(reinterpret_cast<char*>(&header_len), 8))
    corrupt(path, "too short to be an image pack");
  if (std::memcmp(magic, kMagic, 8) != 0) corrupt(path, "not an image pack (no CMPACK01 signature)");
  if (header_len > kMaxHeader || header_len > file_size - 16)
    corrupt(path, fmt::format("header of {} bytes does not fit in a file of {} bytes", header_len, file_size));
  std::string text(header_len, '\0');
  if (!in.read(text.data(), std::streamsize(header_len))) corrupt(path, "truncated header");

  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    corrupt(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!j.is_object() || j.value("format", "") != kFormat) corrupt(path, "header is not a cmedit image pack header");
  if (!j.contains("version") || !j["version"].is_number_integer()) corrupt(path, "header has no version");
  if (j["version"].get<int>() > kVersion)
    throw Error(ErrorCode::Unsupported, "image pack '" + path.string() + "' is from a newer cmedit");
  if (!j.contains("images") || !j["images"].is_array()) corrupt(path, "header has no image list");

  ImagePack pack;
  if (j.contains("metadata")) {
    if (!j["metadata"].is_object()) corrupt(path, "metadata is not an object");
    for (const auto& [k, v] : j["metadata"].items()) {
      if (!v.is_string()) corrupt(path, "metadata '" + k + "' is not a string");
      pack.metadata[k] = v.get<std::string>();
    }
  }

  const uint64_t data_size = file_size - 16 - header_len;
  uint64_t expected_offset = 0;
  std::set<std::string> names;
  for (const auto& e : j["images"]) {
    PackImage im;
    int64_t height = 0, width = 0;
    uint64_t offset = 0, bytes = 0;
    std::string encoding, split;
    try {
      im.name = e.at("name").get<std::string>();
      split = e.at("split").get<std::string>();
      im.license = e.value("license", "");
      im.source = e.value("source", "");
      height = e.at("height").get<int64_t>();
      width = e.at("width").get<int64_t>();
      encoding = e.at("encoding").get<std::string>();
      offset = e.at("offset").get<uint64_t>();
      bytes = e.at("bytes").get<uint64_t>();
    } catch (const nlohmann::json::exception&) {
      corrupt(path, fmt::format("image entry {} has a missing or mistyped field", pack.images.size()));
    }
    const std::string who = "image '" + im.name + "'";
    if (!names.insert(im.name).second) corrupt(path, who + " appears twice");
    if (split != "train" && split != "test") corrupt(path, who + ": split must be \"train\" or \"test\"");
    im.split = split == "test" ? Split::Test : Split::Train;
    if (encoding != "rgb8" && encoding != "jpeg")
      throw Error(ErrorCode::Unsupported, "image pack '" + path.string() + "': " + who + " uses encoding '" + encoding + "' (this build reads rgb8 and jpeg)");
    if (height < 1 || width < 1 || height > kMaxSide || width > kMaxSide) corrupt(path, fmt::format("{} has an impossible size {}×{}", who, width, height));
    if (encoding == "rgb8" && bytes != uint64_t(height * width * 3)) corrupt(path, fmt::format("{}: {} bytes do not hold {}×{} RGB pixels", who, bytes, width, height));
    if (offset != expected_offset) corrupt(path, who + ": images must tile the data section in order (gap or overlap)");
    if (offset + bytes > data_size) corrupt(path, who + " runs past the end of the file (truncated?)");
    expected_offset = offset + bytes;
    im.height = height;
    im.width = width;
    const std::string failed = "reading image pack '" + path.string() + "' failed at " + who;
    if (what == PackRead::Catalogue) {
      if (!in.seekg(std::streamoff(bytes), std::ios::cur)) throw Error(ErrorCode::Io, failed);
    } else if (encoding == "rgb8") {
      im.pixels = at::empty({height, width, 3}, at::kByte);
      if (!in.read(reinterpret_cast<char*>(im.pixels.data_ptr<uint8_t>()), std::streamsize(bytes))) throw Error(ErrorCode::Io, failed);
    } else {
      std::vector<uint8_t> jpeg(bytes);
      if (!in.read(reinterpret_cast<char*>(jpeg.data()), std::streamsize(bytes))) throw Error(ErrorCode::Io, failed);
      im.pixels = decode_jpeg(jpeg.data(), jpeg.size(), "image pack '" + path.string() + "': " + who);
      if (im.pixels.size(0) != height || im.pixels.size(1) != width)
        corrupt(path, fmt::format("{}: the JPEG is {}×{}, the header says {}×{}", who, im.pixels.size(1), im.pixels.size(0), width, height));
    }
    pack.images.push_back(std::move(im));
  }
  if (expected_offset != data_size) corrupt(path, fmt::format("{} bytes after the last image", data_size - expected_offset));
  return pack;
}

void write_image_pack(const std::filesystem::path& path, const ImagePack& pack) {
  nlohmann::json images = nlohmann::json::array();
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const PackImage& im : pack.images) {
    if (!names.insert(im.name).second) throw Error(ErrorCode::BadArgument, "image pack: name '" + im.name + "' appears twice");
    const at::Tensor& p = im.pixels;
    if (!p.defined() || p.dim() != 3 || p.size(2) != 3 || p.scalar_type() != at::kByte)
      throw Error(ErrorCode::BadArgument, "image pack: '" + im.name + "' is not [H, W, 3] uint8 pixels");
    const uint64_t bytes = im.jpeg.empty() ? uint64_t(p.numel()) : uint64_t(im.jpeg.size());
    images.push_back({{"name", im.name},
                      {"split", im.split == Split::Test ? "test" : "train"},
                      {"license", im.license},
                      {"source", im.source},
                      {"height", p.size(0)},
                      {"width", p.size(1)},
                      {"encoding", im.jpeg.empty() ? "rgb8" : "jpeg"},
                      {"offset", offset},
                      {"bytes", bytes}});
    offset += bytes;
  }
  const nlohmann::json header = {{"format", kFormat}, {"version", kVersion}, {"metadata", pack.metadata}, {"images", images}};
  const std::string text = header.dump();
  const uint64_t len = text.size();
  AtomicFile out(path);
  out.write(kMagic, 8);
  out.write(&len, 8);
  out.write(text.data(), text.size());
  for (const PackImage& im : pack.images) {
    if (!im.jpeg.empty()) {
      out.write(im.jpeg.data(), im.jpeg.size());
      continue;
    }
    const at::Tensor c = im.pixels.contiguous();
    out.write(c.data_ptr<uint8_t>(), std::size_t(c.numel()));
  }
  out.commit();
}

}  // namespace cm::train
