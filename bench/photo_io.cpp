// photo_io PHOTO [FORMAT...] — the cost of opening and exporting a photo at its own pixels in each
// format cmedit writes, as a phone gives it (EXIF, XMP, a Display P3 profile: the colour
// conversion on load and back on export, the metadata through Exiv2) and as a plain sRGB file.
// Prints, per format and kind: the file's size, and the median of 3 exports and 3 opens, in ms.
// Default formats: jpg png tif webp avif heic jxl.
#include "bench/median_time.h"
#include "core/imageio/image_file.h"
#include "tests/core/photo_files.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

using cm::bench::median_ms;

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: photo_io PHOTO [FORMAT...]\n");
    return 2;
  }
  std::vector<std::string> formats(argv + 2, argv + argc);
  if (formats.empty()) formats = {"jpg", "png", "tif", "webp", "avif", "heic", "jxl"};
  try {
    cm::imageio::Image plain = cm::imageio::load_image(argv[1], cm::imageio::Pixels::Stored);
    plain.metadata = {};
    const fs::path dir = fs::temp_directory_path() / "cmedit-photo-io";
    fs::create_directories(dir);
    std::printf("%s: %d × %d (%.1f MP)\n", argv[1], plain.width(), plain.height(), plain.width() * double(plain.height()) / 1e6);
    std::printf("| format | kind | file | export ms | open ms |\n|---|---|---|---|---|\n");
    for (const std::string& format : formats)
      for (const bool phone : {false, true}) {
        cm::imageio::Image image = plain;
        if (phone) {  // written in Display P3 with a phone's EXIF and XMP; opened, it carries its source
          image.metadata = cm::testing::phone_metadata();
          cm::imageio::save_image(dir / ("phone." + format), image);
          image = cm::imageio::load_image(dir / ("phone." + format), cm::imageio::Pixels::Stored);
        }
        const fs::path out = dir / ((phone ? "out-phone." : "out-plain.") + format);
        const double save = median_ms([&] { cm::imageio::save_image(out, image); });
        const double load = median_ms([&] { (void)cm::imageio::load_image(out, cm::imageio::Pixels::Stored); });
        std::printf("| %s | %s | %.1f MB | %.0f | %.0f |\n", format.c_str(), phone ? "Display P3 + EXIF/XMP" : "sRGB, no metadata",
                    double(fs::file_size(out)) / 1e6, save, load);
        std::fflush(stdout);
      }
    fs::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "photo_io: %s\n", e.what());
    return 1;
  }
  return 0;
}
