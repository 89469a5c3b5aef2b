// Where the golden sets are (tests/data/golden), from CMEDIT_GOLDEN_DIR set by CTest; empty if unset.
#pragma once

#include <cstdlib>
#include <filesystem>

namespace cm::testing {

inline std::filesystem::path golden_dir() {
  const char* dir = std::getenv("CMEDIT_GOLDEN_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::path();
}

#define REQUIRE_GOLDEN()                                                                      \
  do {                                                                                        \
    if (!std::filesystem::exists(cm::testing::golden_dir() / "unet_a" / "manifest.json"))    \
      GTEST_FAIL() << "golden data not found: set CMEDIT_GOLDEN_DIR (CTest does)";            \
  } while (false)

}  // namespace cm::testing
