#include "app/train_data.h"

#include "core/base/error.h"
#include "core/edit/resample.h"
#include "core/imageio/image_file.h"
#include "core/train/jpeg_decode.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace cli {
namespace fs = std::filesystem;
namespace {

struct Attribution {
  std::string license, source, split;
};

std::map<std::string, Attribution> read_manifest(const fs::path& path) {
  std::map<std::string, Attribution> out;
  if (path.empty()) return out;
  std::ifstream in(path);
  if (!in) throw cm::Error(cm::ErrorCode::FileNotFound, "cannot open licence manifest '" + path.string() + "'");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name;
    Attribution a;
    std::getline(fields, name, '\t');
    std::getline(fields, a.license, '\t');
    std::getline(fields, a.source, '\t');
    std::getline(fields, a.split, '\t');
    if (!a.split.empty() && a.split != "train" && a.split != "test")
      throw cm::Error(cm::ErrorCode::CorruptFile, "licence manifest '" + path.string() + "': split of '" + name + "' must be train or test");
    out[name] = a;
  }
  return out;
}

}  // namespace

cm::train::ImagePack load_image_folder(const fs::path& folder, const FolderOptions& options) {
  if (!fs::is_directory(folder)) throw cm::Error(cm::ErrorCode::FileNotFound, "no folder '" + folder.string() + "'");
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied))
    if (e.is_regular_file() && cm::imageio::is_image_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  const auto manifest = read_manifest(options.manifest);

  if (options.manifest_only && options.manifest.empty())
    throw cm::Error(cm::ErrorCode::BadArgument, "taking only the manifest's photos needs a manifest");
  cm::train::ImagePack pack;
  for (const fs::path& file : files) {
    const std::string name = fs::relative(file, folder).generic_string();
    if (options.manifest_only && !manifest.count(name)) continue;
    cm::imageio::Image image;
    try {
      image = cm::imageio::load_image(file);
    } catch (const cm::Error& e) {
      spdlog::warn("skipping {}: {}", file.string(), e.what());
      continue;
    }
    at::Tensor rgb = image.rgb;
    const int64_t h = rgb.size(2), w = rgb.size(3);
    double s = 1.0;
    if (options.short_side > 0) s = std::min(s, double(options.short_side) / double(std::min(h, w)));
    if (options.max_side > 0) s = std::min(s, double(options.max_side) / double(std::max(h, w)));
    if (s < 1.0)
      rgb = cm::edit::resize_image(rgb, std::max<int64_t>(1, std::llround(double(h) * s)), std::max<int64_t>(1, std::llround(double(w) * s)));
    cm::train::PackImage im;
    im.name = name;
    im.split = cm::train::split_for(name, options.test_fraction);
    if (const auto it = manifest.find(name); it != manifest.end()) {
      im.license = it->second.license;
      im.source = it->second.source;
      if (!it->second.split.empty()) im.split = it->second.split == "test" ? cm::train::Split::Test : cm::train::Split::Train;
    }
    im.pixels = ((rgb[0].permute({1, 2, 0}) + 1) * 127.5).round().clamp(0, 255).to(at::kByte).contiguous();
    if (options.jpeg_quality > 0) {
      im.jpeg = cm::imageio::encode_jpeg(im.pixels, options.jpeg_quality);
      if (cm::train::can_decode_jpeg())  // train on exactly what the pack holds
        im.pixels = cm::train::decode_jpeg(im.jpeg.data(), im.jpeg.size(), name);
    }
    pack.images.push_back(std::move(im));
  }
  if (pack.images.empty()) throw cm::Error(cm::ErrorCode::BadArgument, "no readable images in '" + folder.string() + "'");
  return pack;
}

}  // namespace cli
