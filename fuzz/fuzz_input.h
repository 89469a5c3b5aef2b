// The bytes libFuzzer gives, as a file the readers can open by path: one anonymous in-memory
// file (memfd) per process, rewritten for every input, opened as /proc/self/fd/N.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace cm::fuzz {

inline std::string as_file(const std::uint8_t* data, std::size_t size) {
  static const int fd = memfd_create("cmedit-fuzz-input", 0);
  if (fd < 0 || ftruncate(fd, 0) != 0) std::abort();
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = pwrite(fd, data + done, size - done, off_t(done));
    if (n <= 0) std::abort();
    done += std::size_t(n);
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace cm::fuzz
