// main() of cm_cuda_tests: GoogleTest's, plus what a GPU window's log needs when a case dies
// instead of failing. The first CUDA window lost a crashing case's whole output: its stdout went
// to a pipe, fully buffered, and the signal took the buffer with it; CMake's LaunchTest.cmake then
// printed only that the test did not exit with a number. Here stdout is line-buffered, and a fatal
// signal (or the SIGTERM of a slot's `timeout`) prints the running case's name, the signal and a
// backtrace to stderr before the process ends as it would have.
#include <gtest/gtest.h>

#include <execinfo.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace {

char running_case[512] = "(no case running: set-up or tear-down)";

class RememberRunningCase : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo& info) override {
    std::snprintf(running_case, sizeof running_case, "%s.%s", info.test_suite_name(), info.name());
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    std::snprintf(running_case, sizeof running_case, "%s", "(between cases)");
  }
};

void write_text(const char* text) {
  if (::write(STDERR_FILENO, text, std::strlen(text)) < 0) return;  // nothing more to do in a dying process
}

// Async-signal-safe but for backtrace(), whose first call may allocate: glibc loads libgcc then.
// main() calls it once up front so that the handler does not.
void on_fatal_signal(int signal_number) {
  write_text("\ncm_cuda_tests: ");
  write_text(running_case);
  write_text(signal_number == SIGTERM ? " was still running when the process was told to stop (SIGTERM: the slot's time ran out)\n"
                                      : " crashed: ");
  if (signal_number != SIGTERM) {
    write_text(strsignal(signal_number));
    write_text("; backtrace:\n");
    void* frames[64];
    backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
  }
  ::signal(signal_number, SIG_DFL);  // end as the signal would have: the exit status still says which
  ::raise(signal_number);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  void* warm[1];
  (void)backtrace(warm, 1);
  for (const int s : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGTERM}) ::signal(s, on_fatal_signal);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new RememberRunningCase);
  return RUN_ALL_TESTS();
}
