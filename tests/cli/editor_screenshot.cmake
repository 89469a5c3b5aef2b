# Opens PHOTO in the editor (EDITOR) with --screenshot OUT and checks the result.
# Without EXPECT_FAILURE: exit 0 and OUT is a PNG. With EXPECT_FAILURE: the editor must report
# the bad photo (exit 1, message on stderr, which this script passes on) and not crash.
# Says "cmedit-test-skipped" (the test's SKIP_REGULAR_EXPRESSION) when there is no X display, unless
# CMEDIT_REQUIRE_GL=1 demands one.
if(NOT DEFINED ENV{DISPLAY} AND NOT DEFINED ENV{WAYLAND_DISPLAY})
  if("$ENV{CMEDIT_REQUIRE_GL}" STREQUAL "1")
    message(FATAL_ERROR "no display but CMEDIT_REQUIRE_GL=1: run under xvfb-run")
  endif()
  message("cmedit-test-skipped: no display (run under xvfb-run)")
  return()
endif()
file(REMOVE "${OUT}")
set(ENV{XDG_STATE_HOME} "${CMAKE_CURRENT_BINARY_DIR}/state")
execute_process(COMMAND "${EDITOR}" --screenshot "${OUT}" "${PHOTO}" RESULT_VARIABLE status ERROR_VARIABLE err
                TIMEOUT 90)
if(EXPECT_FAILURE)
  if(NOT status EQUAL 1)
    message(FATAL_ERROR "expected exit 1 for a bad photo, got '${status}'\n${err}")
  endif()
  message("${err}")  # on stderr, for the caller's check
  return()
endif()
if(NOT status EQUAL 0)
  message(FATAL_ERROR "editor exited with '${status}'\n${err}")
endif()
file(READ "${OUT}" signature LIMIT 8 HEX)
if(NOT signature STREQUAL "89504e470d0a1a0a")
  message(FATAL_ERROR "${OUT} is not a PNG (signature ${signature})")
endif()
file(SIZE "${OUT}" size)
message(STATUS "screenshot ${OUT}: ${size} bytes")
