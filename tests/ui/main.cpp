// The editor's test programs' main: a QApplication for the widgets, and a state folder of the
// process's own.
#include <gtest/gtest.h>

#include <QApplication>

#include <cstdlib>
#include <string>

#include <unistd.h>

int main(int argc, char** argv) {
  // Without X there is no xcb platform; offscreen keeps the non-GL tests running.
  if (!std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY") && !std::getenv("QT_QPA_PLATFORM"))
    setenv("QT_QPA_PLATFORM", "offscreen", 1);
  // A state folder per process: tests running in parallel must not see each other's autosaves.
  const std::string state = "/tmp/cmedit-ui-test-state-" + std::to_string(::getpid());
  setenv("XDG_STATE_HOME", state.c_str(), 0);
  setenv("XDG_CONFIG_HOME", "/tmp/cmedit-ui-test-config", 0);  // QSettings: never the user's own
  QApplication app(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
