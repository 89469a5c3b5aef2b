# Compiler launcher, warnings and the shared precompiled header.

# ccache: CI builds on 2 cores, and every TU that touches LibTorch costs 5-20 s.
# The sloppiness settings let ccache cache TUs that use a precompiled header. CCACHE_BASEDIR makes
# paths inside the checkout relative in the cache keys, so another clone (the clone test's) hits.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      "CCACHE_BASEDIR=${CMAKE_SOURCE_DIR}" ${CCACHE_PROGRAM})
endif()

set(CMEDIT_WARNINGS -Wall -Wextra -Wno-unused-parameter)

# Applies the project's warnings to a target of ours (never to third-party code).
function(cmedit_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${CMEDIT_WARNINGS}>)
endfunction()

# One precompiled header for every core TU that needs ATen. Targets reuse it
# with cmedit_use_torch_pch(); they must then share its compile flags, which holds
# because all of them get their flags from cm_torch_deps alone.
function(cmedit_use_torch_pch target)
  if(CMEDIT_PCH)
    target_precompile_headers(${target} REUSE_FROM cm_torch_pch)
  endif()
endfunction()

# A core library: one static target per core/ folder, includes spelled from the repository
# root ("core/model/unet.h"), torch + spdlog public, the shared PCH reused.
function(cmedit_core_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC cm_torch_deps ${ARG_DEPS})
  cmedit_warnings(${name})
  cmedit_use_torch_pch(${name})
endfunction()
