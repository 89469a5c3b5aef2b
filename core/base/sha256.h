// SHA-256 (FIPS 180-4), for the weights digest a model card records: LibTorch's zip reader
// checks no CRC and safetensors has none, so without it a flipped byte inside a tensor would load
// silently as a wrong model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace cm {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  std::string hex();  // lower-case, 64 characters; ends the computation

 private:
  void block(const std::uint8_t* p);
  std::uint32_t h_[8];
  std::uint8_t buffer_[64];
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;
};

std::string sha256_hex(const void* data, std::size_t size);
// Streams the file. Throws cm::Error(FileNotFound) when it cannot be opened, Io when a read fails.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace cm
