#include "core/base/cancel.h"

#include "core/base/error.h"

#include <utility>

namespace cm {
namespace {
thread_local std::function<bool()> current_check;
}  // namespace

CancelScope::CancelScope(std::function<bool()> should_stop) : previous_(std::move(current_check)) {
  current_check = std::move(should_stop);
}

CancelScope::~CancelScope() { current_check = std::move(previous_); }

void throw_if_cancelled() {
  if (current_check && current_check()) throw Error(ErrorCode::Cancelled, "cancelled");
}

std::function<bool()> cancel_check() { return current_check; }

}  // namespace cm
