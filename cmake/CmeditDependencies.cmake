# Finds every third-party package the build uses. scripts/setup installs them on Debian 12.
#
# A machine with only a CUDA LibTorch (pip's torch, given through CMAKE_PREFIX_PATH) and no
# Debian -dev packages can still build the core and its tests: `scripts/pack-deps` copies the
# header-only parts of spdlog/fmt and GoogleTest's sources into .deps/, which is carried along.
set(CMEDIT_DEPS_DIR "${CMAKE_SOURCE_DIR}/.deps" CACHE PATH "fallback dependencies made by scripts/pack-deps")

find_package(Threads REQUIRED)

# --- LibTorch: Debian's 1.13 (CPU) or a 2.x given through CMAKE_PREFIX_PATH --------------------
find_package(Torch REQUIRED)
message(STATUS "cmedit: LibTorch ${Torch_VERSION} from ${TORCH_INSTALL_PREFIX}")
# ATen refuses C++17 from LibTorch 2.14 on; its imported target does not pass C++20 on to us.
if(Torch_VERSION VERSION_GREATER_EQUAL 2.14)
  set(CMAKE_CXX_STANDARD 20)
endif()

# --- spdlog (+ fmt) ---------------------------------------------------------------------------
# PyTorch's wheel ships its own fmt (v12 in 2.11) in its include folder, which comes first on the
# include path: a system spdlog built for another fmt then fails to compile. There, when .deps has
# spdlog with its own fmt, that pair is used header-only, ahead of LibTorch's headers.
set(cmedit_torch_bundles_fmt OFF)
if(EXISTS "${TORCH_INSTALL_PREFIX}/include/fmt/format.h" AND NOT TORCH_INSTALL_PREFIX STREQUAL "/usr")
  set(cmedit_torch_bundles_fmt ON)
endif()
if(NOT (cmedit_torch_bundles_fmt AND EXISTS "${CMEDIT_DEPS_DIR}/include/spdlog/spdlog.h"))
  find_package(spdlog CONFIG QUIET)
endif()
if(NOT spdlog_FOUND)
  if(NOT EXISTS "${CMEDIT_DEPS_DIR}/include/spdlog/spdlog.h")
    message(FATAL_ERROR "spdlog not found. On Debian: scripts/setup (installs libspdlog-dev). "
                        "On a machine without it: run scripts/pack-deps where it is installed and carry .deps/.")
  endif()
  add_library(cmedit_spdlog_header_only INTERFACE)
  target_include_directories(cmedit_spdlog_header_only SYSTEM INTERFACE "${CMEDIT_DEPS_DIR}/include")
  target_compile_definitions(cmedit_spdlog_header_only INTERFACE SPDLOG_HEADER_ONLY SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY)
  add_library(spdlog::spdlog ALIAS cmedit_spdlog_header_only)
  message(STATUS "cmedit: spdlog header-only from ${CMEDIT_DEPS_DIR}")
endif()

# --- nlohmann-json (header-only: model cards, safetensors headers) ----------------------------------
find_package(nlohmann_json 3 CONFIG QUIET)
if(NOT nlohmann_json_FOUND)
  if(NOT EXISTS "${CMEDIT_DEPS_DIR}/include/nlohmann/json.hpp")
    message(FATAL_ERROR "nlohmann-json not found. On Debian: scripts/setup (installs nlohmann-json3-dev). "
                        "Elsewhere: scripts/pack-deps on a Debian machine, and carry .deps/.")
  endif()
  add_library(cmedit_json_header_only INTERFACE)
  target_include_directories(cmedit_json_header_only SYSTEM INTERFACE "${CMEDIT_DEPS_DIR}/include")
  add_library(nlohmann_json::nlohmann_json ALIAS cmedit_json_header_only)
endif()

# Everything the torch-using core targets compile against, in one place, so that they all
# share compile flags and can reuse one precompiled header.
add_library(cm_torch_deps INTERFACE)
# spdlog (and the fmt beside it) first, so its headers win over any fmt inside LibTorch's folder.
target_link_libraries(cm_torch_deps INTERFACE spdlog::spdlog ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json Threads::Threads)

# --- OpenCV (core/imageio only) -----------------------------------------------------------------
if(CMEDIT_IMAGEIO)
  find_package(OpenCV 4 REQUIRED COMPONENTS core imgproc imgcodecs photo)  # photo: inpainting baselines (bench/quality)
endif()

# --- Qt 6 + Dear ImGui (ui/ and the editor only) --------------------------------------------------
if(CMEDIT_GUI)
  find_package(Qt6 REQUIRED COMPONENTS Widgets OpenGL OpenGLWidgets)
  if(CMEDIT_TESTS)
    find_package(Qt6 REQUIRED COMPONENTS Test)
  endif()
  find_package(PkgConfig REQUIRED)
  # Debian's libimgui.a already holds the OpenGL3 backend, with its own GL loader (dlopen).
  pkg_check_modules(IMGUI REQUIRED IMPORTED_TARGET imgui)
  add_library(cmedit_imgui INTERFACE)
  target_link_libraries(cmedit_imgui INTERFACE PkgConfig::IMGUI ${CMAKE_DL_LIBS})
endif()

# --- GoogleTest -----------------------------------------------------------------------------------
if(CMEDIT_TESTS)
  find_package(GTest CONFIG QUIET)
  if(NOT GTest_FOUND)
    if(NOT EXISTS "${CMEDIT_DEPS_DIR}/googletest/CMakeLists.txt")
      message(FATAL_ERROR "GoogleTest not found. On Debian: scripts/setup (installs libgtest-dev). "
                          "Elsewhere: scripts/pack-deps, or -DCMEDIT_TESTS=OFF.")
    endif()
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)  # scripts/pack-deps copies GoogleTest alone
    add_subdirectory("${CMEDIT_DEPS_DIR}/googletest" "${CMAKE_BINARY_DIR}/googletest" EXCLUDE_FROM_ALL)
    message(STATUS "cmedit: GoogleTest from ${CMEDIT_DEPS_DIR}/googletest")
    if(NOT TARGET GTest::gtest)  # GoogleTest ≥ 1.11 defines these itself
      add_library(GTest::gtest ALIAS gtest)
      add_library(GTest::gtest_main ALIAS gtest_main)
    endif()
  endif()
  include(GoogleTest)
endif()

# --- CUDA graphs ----------------------------------------------------------------------------------
# cmedit_cuda_graphs(TARGET GRAPHED_SOURCE USER_SOURCE WHAT): compiles GRAPHED_SOURCE (code on
# at::cuda::CUDAGraph) into TARGET, and defines CMEDIT_HAS_CUDA_GRAPHS for it and USER_SOURCE, where
# a CUDA LibTorch 2.x and CUDA's headers are and CMEDIT_CUDA_GRAPHS is on (the GPU campaign turns
# it off when what it guards does not build). Elsewhere USER_SOURCE says why there are none.
function(cmedit_cuda_graphs target graphed_source user_source what)
  if(NOT (CMEDIT_CUDA_GRAPHS AND C10_CUDA_LIBRARY AND Torch_VERSION VERSION_GREATER_EQUAL 2))
    return()
  endif()
  if(NOT TARGET CUDA::cudart)
    find_package(CUDAToolkit QUIET)
  endif()
  if(NOT TARGET CUDA::cudart)
    message(STATUS "cmedit: no CUDA graphs for ${what} (CUDA's toolkit not found)")
    return()
  endif()
  file(GLOB wheel_includes "${TORCH_INSTALL_PREFIX}/../nvidia/*/include")
  target_sources(${target} PRIVATE ${graphed_source})
  set_source_files_properties(${user_source} ${graphed_source} PROPERTIES COMPILE_DEFINITIONS CMEDIT_HAS_CUDA_GRAPHS)
  set_source_files_properties(${graphed_source} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  target_include_directories(${target} SYSTEM PRIVATE $<TARGET_PROPERTY:CUDA::cudart,INTERFACE_INCLUDE_DIRECTORIES> ${wheel_includes})
  target_link_libraries(${target} PRIVATE CUDA::cudart)  # cudaGetLastError after a failed capture
  message(STATUS "cmedit: CUDA graphs for ${what}")
endfunction()
