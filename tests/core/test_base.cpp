#include "core/base/build_info.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/temp_dir.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value) setenv(name, value, 1); else unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_) setenv(name_.c_str(), old_.c_str(), 1); else unsetenv(name_.c_str());
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};

TEST(Log, StateDirFollowsXdgStateHome) {
  ScopedEnv xdg("XDG_STATE_HOME", "/srv/state");
  EXPECT_EQ(cm::user_state_dir(), std::filesystem::path("/srv/state/cmedit"));
}

TEST(Log, StateDirFallsBackToHomeForRelativeXdg) {
  ScopedEnv xdg("XDG_STATE_HOME", "relative/dir");  // the XDG spec says: ignore relative paths
  ScopedEnv home("HOME", "/home/ada");
  EXPECT_EQ(cm::user_state_dir(), std::filesystem::path("/home/ada/.local/state/cmedit"));
}

TEST(Log, WritesMessagesToTheLogFile) {
  cm::testing::TempDir dir;
  cm::LogOptions options;
  options.app_name = "logtest";
  options.console_level = cm::LogLevel::Off;
  options.state_dir = dir / "nested" / "state";
  const cm::LogSetup setup = cm::init_logging(options);
  ASSERT_TRUE(setup.warning.empty()) << setup.warning;
  EXPECT_EQ(setup.log_file, options.state_dir / "logtest.log");
  spdlog::debug("debug line {}", 42);
  spdlog::default_logger()->flush();
  const std::string text = read_file(setup.log_file);
  EXPECT_NE(text.find("debug line 42"), std::string::npos) << text;
}

TEST(Log, UnwritableStateDirLogsToConsoleOnlyAndSaysWhy) {
  cm::testing::TempDir dir;
  std::ofstream(dir / "file") << "x";  // a file where a folder should be
  cm::LogOptions options;
  options.console_level = cm::LogLevel::Off;
  options.state_dir = dir / "file" / "state";
  const cm::LogSetup setup = cm::init_logging(options);
  EXPECT_TRUE(setup.log_file.empty());
  EXPECT_NE(setup.warning.find("cannot create"), std::string::npos) << setup.warning;
  spdlog::info("still works");  // the console logger is installed
}

TEST(Log, ParsesLevelsAndRejectsUnknownOnes) {
  EXPECT_EQ(cm::parse_log_level("debug"), cm::LogLevel::Debug);
  EXPECT_EQ(cm::parse_log_level("off"), cm::LogLevel::Off);
  try {
    cm::parse_log_level("loud");
    FAIL() << "no error";
  } catch (const cm::Error& e) {
    EXPECT_EQ(e.code(), cm::ErrorCode::BadArgument);
    EXPECT_NE(std::string(e.what()).find("'loud'"), std::string::npos);
  }
}

TEST(BuildInfo, ListsCmeditFirstWithItsVersion) {
  const auto parts = cm::base_components();
  ASSERT_FALSE(parts.empty());
  EXPECT_EQ(parts.front().name, "cmedit");
  EXPECT_TRUE(std::regex_match(parts.front().version, std::regex(R"(\d+\.\d+\.\d+)"))) << parts.front().version;
}

TEST(BuildInfo, FormatsAlignedLinesWithNotes) {
  const std::string text = cm::format_components({{"a", "1.0", ""}, {"long-name", "22.1", "note"}});
  EXPECT_EQ(text, "a          1.0\nlong-name  22.1  (note)\n");
}

TEST(Error, CarriesCodeAndMessage) {
  const cm::Error e(cm::ErrorCode::ShapeMismatch, "mask is 3×4");
  EXPECT_EQ(e.code(), cm::ErrorCode::ShapeMismatch);
  EXPECT_STREQ(e.what(), "mask is 3×4");
  EXPECT_EQ(cm::to_string(cm::ErrorCode::FileNotFound), "file-not-found");
}

}  // namespace
