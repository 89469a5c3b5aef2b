#!/usr/bin/env bash
# Exports that cannot be written must fail with a message and leave the file they would have
# replaced exactly as it was; odd inputs must open or be refused with a message, never crash or
# exhaust memory.
#   data_safety.sh CLI MODEL_DIR INPUTS_DIR SOURCE_DIR
set -euo pipefail
cli=$1 model=$2 inputs=$3 source_dir=$4
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
chmod 755 "$work"
fail() { echo "data_safety: $*" >&2; exit 1; }
cp -r "$model" "$work/model"
cp "$inputs/photo.png" "$inputs/mask.png" "$work/"
chmod -R a+rX "$work"
edit=(inpaint "$work/photo.png" --mask "$work/mask.png" --model "$work/model" --no-progress)

# expect STATUS PATTERN CMD...: CMD exits with STATUS and says PATTERN on stderr.
expect() {
  local want=$1 pattern=$2; shift 2
  local status=0
  "$@" > "$work/out.log" 2> "$work/err.log" || status=$?
  [ "$status" = "$want" ] || { cat "$work/err.log"; fail "exit $status, expected $want: $*"; }
  grep -qE "$pattern" "$work/err.log" || { cat "$work/err.log"; fail "stderr lacks /$pattern/: $*"; }
}

# 1. A full disk (a 4 KiB file-size limit: the PNG does not fit): exit 8, the old file untouched,
#    no temporary file left beside it.
mkdir "$work/full" && cp "$work/photo.png" "$work/full/keep.png"
expect 8 "^cmedit-cli: .*keep.png" prlimit --fsize=4096 -- "$cli" "${edit[@]}" -o "$work/full/keep.png"
cmp -s "$work/photo.png" "$work/full/keep.png" || fail "a failed export changed the existing file"
[ "$(ls -A "$work/full")" = "keep.png" ] || fail "left behind: $(ls -A "$work/full")"
echo "full disk: refused, existing file intact"

# 2. A read-only folder (as an unprivileged user when run as root, since root writes anyway).
mkdir "$work/ro" && cp "$work/photo.png" "$work/ro/keep.png" && chmod 555 "$work/ro"
as_user=() ro_cli=$cli
if [ "$(id -u)" = 0 ]; then
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
  # The clone may sit in a folder only root can enter (mktemp -d is 0700): the program runs from
  # here instead (it links only system libraries).
  ro_cli="$work/cmedit-cli" && cp "$cli" "$ro_cli" && chmod 755 "$ro_cli"
fi
expect 8 "^cmedit-cli: .*keep.png" "${as_user[@]}" env HOME="$work" "$ro_cli" "${edit[@]}" -o "$work/ro/keep.png"
cmp -s "$work/photo.png" "$work/ro/keep.png" || fail "a failed export changed the existing file"
echo "read-only folder: refused, existing file intact"

# 3. Odd inputs, under a 6 GB address-space limit (an attempt to decode 20000×20000 into floats
#    would need more): each opens, or is refused with a message and a clean exit status.
"$(dirname "$cli")/cli_fixture" odd-inputs "$work/odd"
cp "$source_dir/tests/fixtures/cmyk-red-4x3.jpg" "$work/odd/cmyk.jpg"
for input in dot.png grey16.png cmyk.jpg; do
  expect 0 "" prlimit --as=6000000000 -- "$cli" colorize "$work/odd/$input" --model "$work/model" --no-progress \
         -o "$work/odd/out-$input.png"
  echo "$input: opened and colorized"
done
expect 6 "20000×20000 pixels" prlimit --as=6000000000 -- "$cli" colorize "$work/odd/huge.png" --model "$work/model" \
       --no-progress -o "$work/odd/out-huge.png"
echo "huge.png (20000×20000): refused with a message"
echo "data_safety: PASSED"
