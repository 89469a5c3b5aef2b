#!/usr/bin/env bash
# The Debian package, end to end: build it from this build tree with CPack, check its control data,
# unpack it into a scratch root (no dpkg database touched), make sure no path of the build machine
# is baked into what it installs, run the installed programs from there (the built-in model found
# relative to the install prefix), and run lintian with no errors.
#   check_deb.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd -P)
source_dir=$(cd "$2" && pwd -P)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check_deb: $*" >&2; exit 1; }

cpack --config "$build/CPackConfig.cmake" -B "$work/out" > "$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack failed"; }
deb=$(ls "$work"/out/cmedit_*.deb)
echo "package: $(basename "$deb"), $(du -h "$deb" | cut -f1)"

# Runtime dependencies come from the libraries the binaries link (dpkg-shlibdeps).
depends=$(dpkg-deb --field "$deb" Depends)
echo "Depends: $depends"
for lib in libtorch libopencv libqt6widgets6 libspdlog libheif1 libjxl0.7 libraw20 libexiv2-27 liblcms2-2; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib"
done

dpkg-deb -x "$deb" "$work/root"
for f in usr/bin/cmedit usr/bin/cmedit-cli usr/bin/cmedit-train usr/share/cmedit/models/default/model.json \
         usr/share/cmedit/models/default/model.safetensors usr/share/applications/cmedit.desktop \
         usr/share/metainfo/io.github.cmedit.metainfo.xml usr/share/icons/hicolor/scalable/apps/cmedit.svg \
         usr/share/man/man1/cmedit-cli.1.gz usr/share/man/man1/cmedit-train.1.gz usr/share/doc/cmedit/copyright \
         usr/share/cmedit/samples/dandelion.jpg usr/share/cmedit/samples/README.md usr/libexec/cmedit/cmedit-raw-decoder; do
  [ -e "$work/root/$f" ] || fail "the package lacks /$f"
done

# Relocatable: nothing installed names the build or source tree.
if grep -rlF --binary-files=text -e "$build" -e "$source_dir" "$work/root"; then
  fail "the files above contain a path of the build machine ($build or $source_dir)"
fi

# The installed programs work from the scratch root, on the installed model.
cli="$work/root/usr/bin/cmedit-cli"
env -u CMEDIT_MODEL "$cli" --version | grep -q "cmedit" || fail "cmedit-cli --version printed nothing useful"
env -u CMEDIT_MODEL "$cli" generate --seed 3 --json --no-progress -o "$work/generated.png" > "$work/generate.log" 2>&1 ||
  { cat "$work/generate.log"; fail "an edit from the installed package failed"; }
grep -q "$work/root/usr/share/cmedit/models/default" "$work/generate.log" ||
  { cat "$work/generate.log"; fail "the installed cmedit-cli did not use the installed model"; }
[ -s "$work/generated.png" ] || fail "no image was written"
"$work/root/usr/bin/cmedit-train" --help > /dev/null || fail "cmedit-train --help failed"
# A phone's HEIC (the CLI tests' fixture, when they made it) opens and exports with its EXIF.
phone="$build/tests/phone_files"
if [ -f "$phone/phone.heic" ]; then
  env -u CMEDIT_MODEL "$cli" inpaint "$phone/phone.heic" --mask "$phone/dot.png" --no-progress -o "$work/phone.jpg" \
    > "$work/heic.log" 2>&1 || { cat "$work/heic.log"; fail "the installed cmedit-cli could not edit a HEIC"; }
  grep -q "Fixture Camera" "$work/phone.jpg" || fail "the EXIF of the HEIC is not in the installed cmedit-cli's JPEG"
  # A camera RAW, developed by the installed cmedit-raw-decoder (found in ../libexec/cmedit).
  env -u CMEDIT_MODEL -u CMEDIT_RAW_DECODER "$cli" inpaint "$phone/shot.dng" --mask "$phone/dot_raw.png" --no-progress \
    -o "$work/shot.tif" > "$work/raw.log" 2>&1 || { cat "$work/raw.log"; fail "the installed cmedit-cli could not edit a RAW"; }
  [ -s "$work/shot.tif" ] || fail "no TIFF was written from the RAW"
fi

if command -v lintian > /dev/null; then
  # Debian's own tags about a package built outside Debian's tooling are information, not errors.
  lintian --fail-on error --tag-display-limit 0 "$deb" | tee "$work/lintian.log"
else
  fail "lintian is not installed (scripts/setup installs it)"
fi
echo "check_deb: PASSED"
