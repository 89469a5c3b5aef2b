// Logging for every cmedit program: spdlog to the console and to a log file in the user's
// state directory ($XDG_STATE_HOME/cmedit, else ~/.local/state/cmedit). Code logs with
// spdlog::info(...) etc. through the default logger this installs. Copies of a program running
// at once share the file: they append to it, each line flushed at once and marked with its pid.
#pragma once

#include <filesystem>
#include <string>

namespace cm {

enum class LogLevel { Trace, Debug, Info, Warn, Error, Off };

// Parses "trace|debug|info|warn|error|off"; throws cm::Error(BadArgument) otherwise.
LogLevel parse_log_level(const std::string& name);

struct LogOptions {
  std::string app_name = "cmedit";        // logger name and log file stem
  LogLevel console_level = LogLevel::Info; // CMEDIT_LOG_LEVEL in the environment overrides it
  LogLevel file_level = LogLevel::Debug;
  std::filesystem::path state_dir;         // empty: user_state_dir()
};

struct LogSetup {
  std::filesystem::path log_file;  // empty when no file could be opened
  std::string warning;             // why there is no log file, for the UI to show; empty if fine
};

// $XDG_STATE_HOME/cmedit when XDG_STATE_HOME is an absolute path, else $HOME/.local/state/cmedit.
std::filesystem::path user_state_dir();

// Installs the default logger. Never throws for an unwritable state directory: it logs to the
// console alone and says why in LogSetup::warning. Safe to call again (replaces the logger).
LogSetup init_logging(const LogOptions& options);

}  // namespace cm
