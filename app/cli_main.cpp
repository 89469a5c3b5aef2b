// cmedit-cli: the scriptable twin of the editor. Every failure is one line on stderr and an
// exit status that says what kind of failure it was (see exit_status below).
#include "core/base/build_info.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/engine/device.h"
#ifdef CMEDIT_HAS_IMAGEIO
#include "core/imageio/image_file.h"
#endif

#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: cmedit-cli [--version] [--help] [--log-level LEVEL]\n"
    "\n"
    "  --version          print the versions of cmedit and of every library it uses\n"
    "  --help             print this help\n"
    "  --log-level LEVEL  console log level: trace, debug, info, warn (default), error, off\n";

// Exit statuses: 0 ok, 2 bad usage, then one per cm::ErrorCode, 70 for an unexpected failure.
int exit_status(cm::ErrorCode code) {
  switch (code) {
    case cm::ErrorCode::BadArgument: return 2;
    case cm::ErrorCode::FileNotFound: return 3;
    case cm::ErrorCode::CorruptFile: return 4;
    case cm::ErrorCode::ShapeMismatch: return 5;
    case cm::ErrorCode::Unsupported: return 6;
    case cm::ErrorCode::Device: return 7;
    case cm::ErrorCode::Io: return 8;
    case cm::ErrorCode::Internal: return 70;
  }
  return 70;
}

std::vector<cm::Component> all_components() {
  std::vector<cm::Component> parts = cm::base_components();
  parts.push_back(cm::engine::torch_component());
#ifdef CMEDIT_HAS_IMAGEIO
  parts.push_back(cm::imageio::opencv_component());
#endif
  return parts;
}

int run(const std::vector<std::string>& args) {
  cm::LogOptions log;
  log.app_name = "cmedit-cli";
  log.console_level = cm::LogLevel::Warn;
  bool want_version = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      want_version = true;
    } else if (arg == "--log-level") {
      if (i + 1 == args.size()) throw cm::Error(cm::ErrorCode::BadArgument, "--log-level needs a value");
      log.console_level = cm::parse_log_level(args[++i]);
    } else if (!arg.empty() && arg[0] == '-') {
      throw cm::Error(cm::ErrorCode::BadArgument, "unknown option '" + arg + "' (see cmedit-cli --help)");
    } else {
      throw cm::Error(cm::ErrorCode::BadArgument, "unknown command '" + arg + "' (see cmedit-cli --help)");
    }
  }
  cm::init_logging(log);
  if (want_version) {
    std::fputs(cm::format_components(all_components()).c_str(), stdout);
    return 0;
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const cm::Error& e) {
    std::fprintf(stderr, "cmedit-cli: %s\n", e.what());
    return exit_status(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmedit-cli: unexpected failure: %s\n", e.what());
    return 70;
  }
}
