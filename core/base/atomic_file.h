// Writing a file so that readers see either the old file or the complete new one, never a
// half-written one: bytes go to a temporary file beside the target, which commit() renames over
// it. An AtomicFile destroyed without commit() removes its temporary file and changes nothing.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>

namespace cm {

class AtomicFile {
 public:
  // Throws cm::Error(Io) when the temporary file cannot be created (missing or read-only folder).
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Throws cm::Error(Io) when the write fails (disk full); the target is then untouched.
  void write(const void* data, std::size_t size);
  // Flushes and renames over the target. Throws cm::Error(Io) on failure, target untouched.
  void commit();

 private:
  void discard() noexcept;

  std::filesystem::path target_;
  std::filesystem::path temp_;
  std::ofstream out_;
  bool committed_ = false;
};

// The whole file at once.
void write_file_atomically(const std::filesystem::path& target, const void* data, std::size_t size);

}  // namespace cm
