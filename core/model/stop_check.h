// Stopping a network evaluation part-way. One evaluation of a large UNet takes from 100 ms (the
// built-in model on a CPU core) to seconds; a preview superseded by the next mouse move should not
// have to run to the end. The caller installs a check for its own thread; the UNet asks it between
// blocks, which costs a flag read and never waits for a device.
#pragma once

#include <functional>

namespace cm::model {

// Installs `should_stop` for the calling thread while in scope (scopes nest; the inner one wins).
class StopCheckScope {
 public:
  explicit StopCheckScope(std::function<bool()> should_stop);
  ~StopCheckScope();
  StopCheckScope(const StopCheckScope&) = delete;
  StopCheckScope& operator=(const StopCheckScope&) = delete;

 private:
  std::function<bool()> previous_;
};

// Throws cm::Error(Cancelled) when the calling thread's check says stop; nothing without a check.
void throw_if_stop_requested();

}  // namespace cm::model
