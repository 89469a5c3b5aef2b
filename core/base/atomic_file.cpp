#include "core/base/atomic_file.h"

#include "core/base/error.h"

#include <atomic>
#include <string>
#include <unistd.h>

namespace cm {
namespace fs = std::filesystem;

namespace {
std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }
}  // namespace

AtomicFile::AtomicFile(fs::path target) : target_(std::move(target)) {
  static std::atomic<unsigned> counter{0};
  const fs::path dir = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
  temp_ = dir / ("." + target_.filename().string() + ".cmedit-tmp-" + std::to_string(::getpid()) + "-" +
                 std::to_string(counter.fetch_add(1)));
  out_.open(temp_, std::ios::binary | std::ios::trunc);
  if (!out_) throw Error(ErrorCode::Io, "cannot write " + quoted(target_) + ": the folder is missing or not writable");
}

AtomicFile::~AtomicFile() {
  if (!committed_) discard();
}

void AtomicFile::discard() noexcept {
  out_.close();
  std::error_code ignored;
  fs::remove(temp_, ignored);
}

void AtomicFile::write(const void* data, std::size_t size) {
  out_.write(static_cast<const char*>(data), std::streamsize(size));
  if (!out_) {
    discard();
    throw Error(ErrorCode::Io, "writing " + quoted(target_) + " failed (disk full?); nothing was changed");
  }
}

void AtomicFile::commit() {
  out_.flush();
  out_.close();
  if (out_.fail()) {
    discard();
    throw Error(ErrorCode::Io, "writing " + quoted(target_) + " failed (disk full?); nothing was changed");
  }
  std::error_code ec;
  fs::rename(temp_, target_, ec);
  if (ec) {
    discard();
    throw Error(ErrorCode::Io, "cannot replace " + quoted(target_) + ": " + ec.message());
  }
  committed_ = true;
}

void write_file_atomically(const fs::path& target, const void* data, std::size_t size) {
  AtomicFile file(target);
  file.write(data, size);
  file.commit();
}

}  // namespace cm
