// cm::Error: the one exception type the core throws for anything a user can cause or fix.
// Its message is written for the user (what went wrong, with which file/size/value); its code
// tells programs what kind of failure it was (cmedit-cli maps codes to exit statuses).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace cm {

enum class ErrorCode {
  BadArgument = 1,   // a flag, option or parameter value is not acceptable
  FileNotFound,      // a named file or folder does not exist or cannot be opened
  CorruptFile,       // a file exists but its content cannot be decoded
  ShapeMismatch,     // sizes that must agree do not (mask vs image, tensor vs model)
  Unsupported,       // valid input that this build cannot handle (format, dtype, device)
  Device,            // the compute device failed or is unavailable
  Io,                // reading or writing failed (disk full, permissions)
  Internal,          // a bug: an invariant of cmedit itself did not hold
  Cancelled,         // the user (or a newer request) stopped the job; nothing is wrong
};

// Short stable name of a code ("bad-argument", "file-not-found", ...).
std::string_view to_string(ErrorCode code);

// The exit status of a command-line program that failed with `code`: 2 bad usage, 3 missing
// file, 4 corrupt file, 5 shape mismatch, 6 unsupported, 7 device, 8 I/O, 70 internal, 130
// cancelled (as a shell reports an interrupted command). Shared by cmedit-cli and cmedit-train.
int exit_status(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace cm
