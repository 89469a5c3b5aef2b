#!/usr/bin/env bash
# What a GPU window builds, on the CPU: a clone configured with LibTorch alone (no Qt, no OpenCV,
# GoogleTest from the sources scripts/pack-deps copies, as on the GPU machine), building only the
# CUDA checks and the preview benchmark. Every CPU twin must pass there (the memory cap's skips:
# it needs CUDA's allocator), then scripts/gpu/cuda-checks, as the campaign runs it, must run the
# CUDA twins alone and see each skip with its reason.
# usage: check_libtorch_only.sh SOURCE_DIR
# ccache makes the build cheap after the main one: CCACHE_BASEDIR keeps its keys free of the path.
set -euo pipefail
src="$1"
fail() { echo "check_libtorch_only: FAIL: $*" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$src" "$work/cmedit"
cd "$work/cmedit"
bash scripts/pack-deps "$work/cmedit/.deps" > /dev/null

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMEDIT_GUI=OFF -DCMEDIT_IMAGEIO=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON -DCMEDIT_STB_DIR="$work/cmedit/.deps/stb" > "$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; fail "configure failed"; }
grep -q "cmedit: GoogleTest from .*/.deps/googletest" "$work/configure.log" || { cat "$work/configure.log"; fail "GoogleTest did not come from .deps"; }
cmake --build build -j"$(nproc)" --target golden_parity cm_cuda_tests preview_latency > "$work/build.log" 2>&1 ||
  { tail -50 "$work/build.log"; fail "build failed"; }
for program in cm_cuda_tests golden_parity preview_latency; do  # (Debian's LibTorch itself needs OpenCV)
  ! readelf -d "build/bin/$program" | grep NEEDED | grep -Eq "libQt|libopencv" || fail "$program links Qt or OpenCV"
done

ctest --test-dir build -L cuda -R '/cpu( |$)' -j2 > "$work/twins.log" 2>&1 || { cat "$work/twins.log"; fail "a CPU twin failed"; }
grep -q "100% tests passed, 0 tests failed out of 12" "$work/twins.log" || { cat "$work/twins.log"; fail "not the 12 CPU twins"; }
[ "$(grep -c "\*\*\*Skipped" "$work/twins.log")" -eq 1 ] || { cat "$work/twins.log"; fail "a CPU twin other than the memory cap's skipped"; }

bash scripts/gpu/cuda-checks build 600 > "$work/checks.log" 2>&1 || { cat "$work/checks.log"; fail "cuda-checks failed"; }
cat "$work/checks.log"
skipped=$(grep -c "^\[  SKIPPED \] Device/.*/cuda (" "$work/checks.log")
[ "$skipped" -eq 12 ] || fail "$skipped CUDA twins skipped (12 expected)"
! grep -q "/cpu (" "$work/checks.log" || fail "cuda-checks ran CPU twins"
grep -q "golden_parity: skipped" "$work/checks.log" || fail "golden parity on CUDA did not run"
grep -q "this LibTorch was built without CUDA\|no CUDA device found" "$work/checks.log" || fail "the skips do not say why"
echo "check_libtorch_only: PASSED"
