// Waiting for a photo file's reading or writing on another thread while the window goes on
// drawing. A 50 MP photo takes a second to decode (a RAW or HEIC several) and half a minute to
// write as HEIC: done on the UI thread, the window stood grey and the system called it
// not responding.
#pragma once

#include <QString>

#include <future>

class QWidget;

namespace cm::ui {

enum class Waited { Done, Cancelled };

// Returns when `work` is ready, running this thread's events meanwhile: the window draws, timers
// fire, the engine's results arrive. The user's input waits for the first kQuietMs (most files
// are done by then, and nothing flashes); after that a window-modal dialog saying `label` takes
// it, with a Cancel button when `cancellable`. Cancelled: `work` is still running, and the caller
// keeps it (a std::future from std::async waits for its thread when destroyed).
Waited wait_drawing(QWidget* window, const std::future<void>& work, const QString& label, bool cancellable);

inline constexpr int kQuietMs = 400;

inline bool is_ready(const std::future<void>& work) {
  return work.valid() && work.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

}  // namespace cm::ui
