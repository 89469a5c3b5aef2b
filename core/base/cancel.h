// Stopping a running job part-way: one path, the whole way down. The engine installs its job's
// check for the worker thread that runs it (CancelScope); every layer asks at its own safe points
// with throw_if_cancelled(): the sampling loop before each network evaluation, the UNet between
// blocks (one evaluation takes 100 ms to seconds), region edits between windows, the exemplar fill
// between search rounds. Nothing is threaded through the layers' arguments, so a layer that gains
// a safe point needs no new parameter. No torch: every layer can use it.
#pragma once

#include <functional>

namespace cm {

// Installs `should_stop` for the calling thread while in scope (scopes nest; the inner one wins).
class CancelScope {
 public:
  explicit CancelScope(std::function<bool()> should_stop);
  ~CancelScope();
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

 private:
  std::function<bool()> previous_;
};

// Throws cm::Error(Cancelled) when the calling thread's check says stop; nothing without a check.
// Costs a flag read: cheap enough for every block of a network.
void throw_if_cancelled();

// The calling thread's check (empty without one), for a thread that works for it to install in
// its own CancelScope: a job's helper thread stops with the job.
std::function<bool()> cancel_check();

}  // namespace cm
