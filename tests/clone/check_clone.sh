#!/usr/bin/env bash
# A clone of the repository alone passes its tests: clones the committed tree into an empty
# temporary folder with nothing beside it (no ../shared), configures it, builds what the golden,
# engine, editor and model-CLI tests need, and runs them there. None may be skipped (the device
# checks, label cuda, skip without a GPU and have a check of their own).
# usage: check_clone.sh SOURCE_DIR
# ccache makes the second build cheap: CCACHE_BASEDIR (cmake/CmeditCompiler.cmake) keeps its keys
# free of the checkout's absolute path.
set -euo pipefail
src="$1"
fail() { echo "check_clone: FAIL: $*" >&2; exit 1; }
git -C "$src" rev-parse --git-dir > /dev/null 2>&1 || fail "$src is not a git checkout"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$src" "$work/cmedit"
[ "$(ls -A "$work")" = "cmedit" ] || fail "the clone's folder holds more than the clone"
cd "$work/cmedit"

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure failed"; }
golden=$(sed -n 's/^CMEDIT_GOLDEN_DIR:PATH=//p' build/CMakeCache.txt)
[ "$golden" = "$work/cmedit/tests/data/golden" ] || fail "the golden data comes from '$golden', not from the clone"
! grep -q "no golden set" "$work/configure.log" || fail "configure found no golden set"

cmake --build build -j"$(nproc)" --target cm_core_tests golden_parity cmedit-cli cli_fixture \
  $(grep -q "^CMEDIT_GUI:BOOL=ON" build/CMakeCache.txt && echo cm_ui_tests cmedit) > "$work/build.log" 2>&1 ||
  { tail -50 "$work/build.log"; fail "build failed"; }

cd build
ctest --output-on-failure -j"$(nproc)" -LE cuda \
  -R '^(golden\.|GoldenWeights\.|UNetArchitecture\.|GoldenEdit\.|Engine(Test)?\.|Editor\.|Controller\.|cli\.models_)' \
  > "$work/ctest.log" 2>&1 || { tail -80 "$work/ctest.log"; fail "tests failed in the clone"; }
tail -4 "$work/ctest.log"
ran=$(sed -n 's/.*tests passed, [0-9]* tests failed out of \([0-9]*\).*/\1/p' "$work/ctest.log")
[ "${ran:-0}" -ge 40 ] || fail "only ${ran:-0} tests ran in the clone"
! grep -qi "skipped\|not run" "$work/ctest.log" || { grep -i "skipped\|not run" "$work/ctest.log"; fail "a test was skipped in the clone"; }
echo "check_clone: PASSED ($ran tests in a clone with nothing beside it)"
