// cmedit-raw-decoder NAME — develops the camera RAW file on standard input with LibRaw and writes
// the pixels (or the error) to standard output for cm_imageio's decode_raw (core/imageio/
// raw_sandbox.cpp). It runs as its own process because LibRaw crashes on some damaged files
// (core/imageio/raw_codec.h): a crash here ends this process, not the editor. NAME is how
// messages name the file. Not meant to be run by hand.
#include "core/base/error.h"
#include "core/imageio/raw_codec.h"

#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "the RAW file";
  std::vector<std::uint8_t> bytes;
  std::uint8_t chunk[1 << 16];
  for (ssize_t n; (n = ::read(0, chunk, sizeof chunk)) != 0;) {
    if (n < 0) {
      cm::imageio::write_raw_result(1, nullptr, int(cm::ErrorCode::Io), "cannot read " + name);
      return 0;
    }
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  try {
    const cm::imageio::Decoded decoded = cm::imageio::develop_raw(bytes.data(), bytes.size(), name);
    cm::imageio::write_raw_result(1, &decoded, 0, {});
  } catch (const cm::Error& e) {
    cm::imageio::write_raw_result(1, nullptr, int(e.code()), e.what());
  } catch (const std::exception& e) {  // out of memory on a huge sensor, say
    cm::imageio::write_raw_result(1, nullptr, int(cm::ErrorCode::CorruptFile), "cannot decode " + name + ": " + e.what());
  }
  return 0;
}
