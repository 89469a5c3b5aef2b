#include "core/model/stop_check.h"

#include "core/base/error.h"

#include <utility>

namespace cm::model {
namespace {
thread_local std::function<bool()> current_check;
}  // namespace

StopCheckScope::StopCheckScope(std::function<bool()> should_stop) : previous_(std::move(current_check)) {
  current_check = std::move(should_stop);
}

StopCheckScope::~StopCheckScope() { current_check = std::move(previous_); }

void throw_if_stop_requested() {
  if (current_check && current_check()) throw Error(ErrorCode::Cancelled, "cancelled");
}

}  // namespace cm::model
