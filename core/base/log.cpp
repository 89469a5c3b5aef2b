#include "core/base/log.h"

#include "core/base/error.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <system_error>
#include <vector>

namespace cm {
namespace {

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::Trace: return spdlog::level::trace;
    case LogLevel::Debug: return spdlog::level::debug;
    case LogLevel::Info: return spdlog::level::info;
    case LogLevel::Warn: return spdlog::level::warn;
    case LogLevel::Error: return spdlog::level::err;
    case LogLevel::Off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

constexpr std::size_t kLogFileBytes = 4 * 1024 * 1024;
constexpr std::size_t kLogFilesKept = 3;

}  // namespace

LogLevel parse_log_level(const std::string& name) {
  if (name == "trace") return LogLevel::Trace;
  if (name == "debug") return LogLevel::Debug;
  if (name == "info") return LogLevel::Info;
  if (name == "warn") return LogLevel::Warn;
  if (name == "error") return LogLevel::Error;
  if (name == "off") return LogLevel::Off;
  throw Error(ErrorCode::BadArgument,
              "unknown log level '" + name + "' (expected trace, debug, info, warn, error or off)");
}

std::filesystem::path user_state_dir() {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg && std::filesystem::path(xdg).is_absolute()) return std::filesystem::path(xdg) / "cmedit";
  const char* home = std::getenv("HOME");
  std::filesystem::path base = (home && *home) ? std::filesystem::path(home) : std::filesystem::temp_directory_path();
  return base / ".local" / "state" / "cmedit";
}

LogSetup init_logging(const LogOptions& options) {
  LogSetup setup;
  LogLevel console_level = options.console_level;
  std::string level_warning;
  if (const char* env = std::getenv("CMEDIT_LOG_LEVEL"); env && *env) {
    try {
      console_level = parse_log_level(env);
    } catch (const Error& e) {
      level_warning = std::string("CMEDIT_LOG_LEVEL ignored: ") + e.what();
    }
  }

  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_level(to_spdlog(console_level));
  std::vector<spdlog::sink_ptr> sinks{console};

  const std::filesystem::path dir = options.state_dir.empty() ? user_state_dir() : options.state_dir;
  const std::filesystem::path file = dir / (options.app_name + ".log");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    setup.warning = "no log file: cannot create " + dir.string() + ": " + ec.message();
  } else {
    try {
      auto file_sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file.string(), kLogFileBytes, kLogFilesKept);
      file_sink->set_level(to_spdlog(options.file_level));
      // Several copies of a program share the file (appended, never truncated): each line says
      // which process wrote it.
      file_sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%P] [%l] %v");
      sinks.push_back(file_sink);
      setup.log_file = file;
    } catch (const spdlog::spdlog_ex& e) {
      setup.warning = "no log file: " + std::string(e.what());
    }
  }

  auto logger = std::make_shared<spdlog::logger>(options.app_name, sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::trace);  // each sink filters for itself
  // Every line reaches the file at once: a buffered line is invisible to whoever reads the log
  // while the program runs (a second copy of the editor, a user looking for an error), and is lost
  // if the program is killed.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  if (!level_warning.empty()) spdlog::warn("{}", level_warning);
  if (!setup.warning.empty()) spdlog::warn("{}", setup.warning);
  return setup;
}

}  // namespace cm
