// Signal dispositions every cmedit program sets first thing in main().
#pragma once

namespace cm {

// A write beyond the file-size limit (ulimit -f, a quota) raises SIGXFSZ, whose default action
// kills the process: the editor would vanish with the user's work. Ignored, the write fails with
// EFBIG instead, and the atomic save reports it and leaves the existing file alone.
void set_signal_policy();

}  // namespace cm
