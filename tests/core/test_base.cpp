#include "core/base/build_info.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/sha256.h"
#include "core/base/text.h"
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

// FIPS 180-4's examples, a message that crosses a block boundary, and a file read in chunks.
TEST(Sha256, MatchesTheStandardsTestVectors) {
  EXPECT_EQ(cm::sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(cm::sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(cm::sha256_hex(two_blocks.data(), two_blocks.size()), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  cm::Sha256 pieces;  // fed in uneven pieces: the buffering must not change the digest
  for (std::size_t i = 0; i < million.size(); i += 777) pieces.update(million.data() + i, std::min<std::size_t>(777, million.size() - i));
  EXPECT_EQ(pieces.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  cm::testing::TempDir dir;
  std::ofstream(dir / "a.bin", std::ios::binary) << million;
  EXPECT_EQ(cm::sha256_file(dir / "a.bin"), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_THROW(cm::sha256_file(dir / "missing.bin"), cm::Error);
}

}  // namespace

TEST(Text, AListKeepsEveryItemSoABadOneCanBeNamed) {
  EXPECT_EQ(cm::split_list("1,2,4"), (std::vector<std::string>{"1", "2", "4"}));
  EXPECT_EQ(cm::split_list("cuda:0"), (std::vector<std::string>{"cuda:0"}));
  EXPECT_EQ(cm::split_list("1,,4,"), (std::vector<std::string>{"1", "", "4", ""}));
  EXPECT_TRUE(cm::split_list("").empty());
}
