#include "core/base/signals.h"

#include <csignal>

namespace cm {

void set_signal_policy() { std::signal(SIGXFSZ, SIG_IGN); }

}  // namespace cm
