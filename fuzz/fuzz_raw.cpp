// libFuzzer harness: camera RAW files through cm_imageio (LibRaw's decoders, Exiv2's reading of
// their EXIF). RAW files are told by their name, so the input is opened under a .dng name: a
// link to the in-memory file. Any input either loads or throws cm::Error.
#include "core/base/error.h"
#include "core/imageio/image_file.h"
#include "fuzz/fuzz_input.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path raw = [] {
    const std::filesystem::path link = std::filesystem::temp_directory_path() / ("cmedit-fuzz-" + std::to_string(getpid()) + ".dng");
    std::error_code ignored;
    std::filesystem::remove(link, ignored);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove(std::filesystem::temp_directory_path() / ("cmedit-fuzz-" + std::to_string(getpid()) + ".dng"), ignored);
    });
    return link;
  }();
  const std::string path = cm::fuzz::as_file(data, size);
  std::error_code ec;
  if (!std::filesystem::is_symlink(raw, ec)) std::filesystem::create_symlink(path, raw);
  try {
    (void)cm::imageio::load_image(raw);
  } catch (const cm::Error&) {
  }
  return 0;
}
