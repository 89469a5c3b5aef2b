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

}  // namespace cm
