#include "core/base/error.h"

namespace cm {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::BadArgument: return "bad-argument";
    case ErrorCode::FileNotFound: return "file-not-found";
    case ErrorCode::CorruptFile: return "corrupt-file";
    case ErrorCode::ShapeMismatch: return "shape-mismatch";
    case ErrorCode::Unsupported: return "unsupported";
    case ErrorCode::Device: return "device";
    case ErrorCode::Io: return "io";
    case ErrorCode::Internal: return "internal";
    case ErrorCode::Cancelled: return "cancelled";
  }
  return "unknown";
}

int exit_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::BadArgument: return 2;
    case ErrorCode::FileNotFound: return 3;
    case ErrorCode::CorruptFile: return 4;
    case ErrorCode::ShapeMismatch: return 5;
    case ErrorCode::Unsupported: return 6;
    case ErrorCode::Device: return 7;
    case ErrorCode::Io: return 8;
    case ErrorCode::Internal: return 70;
    case ErrorCode::Cancelled: return 130;
  }
  return 70;
}

}  // namespace cm
