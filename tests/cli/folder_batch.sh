#!/usr/bin/env bash
# cmedit-cli on a folder (app/cli_batch.h): 6 images, one of them corrupt, inpainted with --jobs 2.
#   - the 5 outputs have exactly the pixels of single runs on each file;
#   - the corrupt one is reported (a line as it happens, and in the summary) and the exit status is 1;
#   - a second run does no work (every output exists) and leaves the outputs untouched;
#   - --overwrite redoes them; the input folder as -o and a missing --masks are refused.
# usage: folder_batch.sh CLI MODEL_DIR FIXTURE_PROGRAM WORK_DIR
set -euo pipefail
cli="$1" model="$2" fx="$3" work="$4/folder_batch"
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
"$fx" photos "$work/in" 10 > /dev/null        # photo0, 2, 4, 6, 8 (.png, sizes differ) and broken.jpg
"$fx" masks-for "$work/in" "$work/masks" > /dev/null
edit=(inpaint "$work/in" -o "$work/out" --masks "$work/masks" --model "$model" --steps 2 --seed 4)

set +e
"$cli" "${edit[@]}" --jobs 2 --json > "$work/run1.json" 2> "$work/run1.err"
status=$?
set -e
cat "$work/run1.err"
[ "$status" -eq 1 ] || fail "exit status $status with a failed image (expected 1)"
grep -q "^6 image(s): 5 edited, 0 already done, 1 failed" "$work/run1.err" || fail "no summary of 5 edited and 1 failed"
grep -q "failed: .*broken.jpg: " "$work/run1.err" || fail "the corrupt image is not named in the summary"
grep -q "\[[0-9]/6\] broken.jpg: FAILED" "$work/run1.err" || fail "no line when the corrupt image failed"
grep -q '"failed": 1' "$work/run1.json" || fail "the JSON report does not count the failure"
[ "$(find "$work/out" -type f | wc -l)" -eq 5 ] || fail "$(find "$work/out" -type f | wc -l) outputs, expected 5"
for k in 0 2 4 6 8; do
  "$cli" inpaint "$work/in/photo$k.png" --mask "$work/masks/photo$k.png" --model "$model" --steps 2 --seed 4 --no-progress \
    -o "$work/single$k.png" 2> /dev/null
  "$fx" same "$work/single$k.png" "$work/out/photo$k.png" > /dev/null || fail "photo$k.png differs from a single run"
done

before=$(stat -c %Y.%s "$work"/out/*)
set +e
"$cli" "${edit[@]}" --jobs 2 2> "$work/run2.err"
status=$?
set -e
[ "$status" -eq 1 ] || fail "the second run's exit status is $status (the corrupt image still fails: 1)"
grep -q "^6 image(s): 0 edited, 5 already done (--overwrite redoes them), 1 failed" "$work/run2.err" ||
  { cat "$work/run2.err"; fail "the second run did work again"; }
[ "$before" = "$(stat -c %Y.%s "$work"/out/*)" ] || fail "the second run touched the outputs"

rm "$work/in/broken.jpg"
"$cli" "${edit[@]}" --overwrite 2> "$work/run3.err" || { cat "$work/run3.err"; fail "--overwrite failed"; }
grep -q "^5 image(s): 5 edited, 0 already done, 0 failed" "$work/run3.err" || { cat "$work/run3.err"; fail "--overwrite did not redo them"; }

set +e
"$cli" inpaint "$work/in" -o "$work/in" --masks "$work/masks" --model "$model" 2> "$work/same.err"
[ $? -eq 2 ] && grep -q "is the input folder" "$work/same.err" || fail "the input folder as output was not refused"
"$cli" inpaint "$work/in" -o "$work/out2" --model "$model" 2> "$work/nomask.err"
[ $? -eq 2 ] && grep -q "needs --masks DIR" "$work/nomask.err" || fail "a folder without --masks was not refused"
set -e
echo "folder_batch: PASSED"
