// decode_raw: develop_raw in a child process (raw_codec.h says why), and the child's half of the
// pipe. The file's bytes go to the child as its standard input (an in-memory file), the result
// comes back on its standard output as one frame:
//   "CMRAW001", int32 error code (0: pixels follow), then either
//   int32 width, height, channels, uint32 format length, the format, the 16-bit pixels; or
//   uint32 message length, the message.
#include "core/imageio/raw_codec.h"

#include "core/base/error.h"
#include "core/imageio/image_header.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace cm::imageio {
namespace fs = std::filesystem;
namespace {

constexpr char kMagic[8] = {'C', 'M', 'R', 'A', 'W', '0', '0', '1'};
constexpr int kTimeoutSeconds = 120;  // a 100-megapixel RAW develops in well under a minute

void write_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(3);  // the reader is gone: nothing left to tell it
    p += n, size -= std::size_t(n);
  }
}

template <typename T>
void put(int fd, T value) { write_all(fd, &value, sizeof value); }

// The program beside the one running (the build tree's bin/), or installed in ../libexec/cmedit.
fs::path decoder_path() {
  if (const char* given = std::getenv("CMEDIT_RAW_DECODER")) return given;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  for (const fs::path& candidate : {self.parent_path() / "cmedit-raw-decoder",
                                    self.parent_path().parent_path() / "libexec" / "cmedit" / "cmedit-raw-decoder"})
    if (!ec && fs::exists(candidate)) return candidate;
  return {};
}

// Reads exactly `n` bytes of the child's output into `into`: false when the output ends first
// (the child finished or died) or the deadline passes (`timed_out`).
bool read_exact(int fd, void* into, std::size_t n, std::chrono::steady_clock::time_point deadline, bool& timed_out) {
  char* p = static_cast<char*>(into);
  while (n > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return !(timed_out = true);
    pollfd ready{fd, POLLIN, 0};
    const int polled = ::poll(&ready, 1, int(std::min<long long>(left.count(), 1000)));
    if (polled <= 0) continue;  // interrupted, or nothing yet: the deadline decides
    const ssize_t got = ::read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got, n -= std::size_t(got);
  }
  return true;
}

}  // namespace

void write_raw_result(int fd, const Decoded* decoded, int error_code, const std::string& message) {
  write_all(fd, kMagic, sizeof kMagic);
  put<std::int32_t>(fd, error_code);
  if (!decoded) {
    put<std::uint32_t>(fd, std::uint32_t(message.size()));
    write_all(fd, message.data(), message.size());
    return;
  }
  const cv::Mat& m = decoded->pixels;
  put<std::int32_t>(fd, m.cols), put<std::int32_t>(fd, m.rows), put<std::int32_t>(fd, m.channels());
  put<std::uint32_t>(fd, std::uint32_t(decoded->format.size()));
  write_all(fd, decoded->format.data(), decoded->format.size());
  for (int y = 0; y < m.rows; ++y) write_all(fd, m.ptr(y), std::size_t(m.cols) * m.elemSize());
}

Decoded decode_raw(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  const fs::path program = decoder_path();
  if (program.empty())
    throw Error(ErrorCode::Unsupported, "cannot open " + name +
                                            ": camera RAW needs cmedit-raw-decoder, which is not installed beside this program");
  // The file's bytes as the child's standard input: an in-memory file, read from its start.
  const int input = memfd_create("cmedit-raw-input", MFD_CLOEXEC);
  int pipe_fds[2] = {-1, -1};
  if (input < 0 || pipe2(pipe_fds, O_CLOEXEC) != 0) {
    if (input >= 0) ::close(input);
    throw Error(ErrorCode::Io, "cannot open " + name + ": " + std::strerror(errno));
  }
  const auto close_all = [&] {
    for (int fd : {input, pipe_fds[0], pipe_fds[1]})
      if (fd >= 0) ::close(fd);
  };
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::pwrite(input, bytes + done, size - done, off_t(done));
    if (n <= 0) {
      close_all();
      throw Error(ErrorCode::Io, "cannot open " + name + ": " + std::strerror(errno));
    }
    done += std::size_t(n);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, input, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  const std::string program_text = program.string();
  std::vector<char*> argv = {const_cast<char*>(program_text.c_str()), const_cast<char*>(name.c_str()), nullptr};
  pid_t child = 0;
  const int spawned = posix_spawn(&child, program_text.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(input);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    throw Error(ErrorCode::Unsupported, "cannot open " + name + ": cannot start " + program_text + ": " + std::strerror(spawned));
  }
  // The frame, read as it comes: the pixels straight into the image, with no second copy.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kTimeoutSeconds);
  bool timed_out = false;
  const auto get = [&](void* into, std::size_t n) { return read_exact(pipe_fds[0], into, n, deadline, timed_out); };
  char magic[sizeof kMagic] = {};
  std::int32_t code = -1;
  bool whole = get(magic, sizeof magic) && std::memcmp(magic, kMagic, sizeof kMagic) == 0 && get(&code, sizeof code);
  std::string message;
  Decoded decoded;
  if (whole && code != 0) {
    std::uint32_t length = 0;
    whole = get(&length, sizeof length) && length < (1u << 20);
    message.resize(whole ? length : 0);
    whole = whole && get(message.data(), message.size());
  } else if (whole) {
    std::int32_t width = 0, height = 0, channels = 0;
    std::uint32_t format_length = 0;
    whole = get(&width, sizeof width) && get(&height, sizeof height) && get(&channels, sizeof channels) &&
            get(&format_length, sizeof format_length) && format_length < 4096 && width > 0 && height > 0 &&
            (channels == 1 || channels == 3) && std::int64_t(width) * height <= kMaxPixels;
    decoded.format.resize(whole ? format_length : 0);
    whole = whole && get(decoded.format.data(), decoded.format.size());
    if (whole) {
      decoded.pixels.create(height, width, CV_MAKETYPE(CV_16U, channels));
      whole = get(decoded.pixels.data, decoded.pixels.total() * decoded.pixels.elemSize());
    }
  }
  ::close(pipe_fds[0]);
  if (timed_out) ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    throw Error(ErrorCode::CorruptFile, fmt::format("cannot decode {}: LibRaw did not finish it in {} s", name, kTimeoutSeconds));
  if (WIFSIGNALED(status))
    throw Error(ErrorCode::CorruptFile, fmt::format("cannot decode {}: LibRaw crashed on it ({}): the file is damaged", name,
                                                    strsignal(WTERMSIG(status))));
  if (!whole) throw Error(ErrorCode::CorruptFile, "cannot decode " + name + ": the RAW decoder's result is incomplete");
  if (code != 0) throw Error(ErrorCode(code), message.empty() ? "cannot decode " + name : message);
  return decoded;
}

}  // namespace cm::imageio
