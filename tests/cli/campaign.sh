#!/usr/bin/env bash
# scripts/gpu/campaign end to end on the CPU, as three windows of a tiny campaign (~60 s):
#   - the plan of a real window: with window 3's 67 s build, the default slots leave ≥ 75 % of a
#     9-minute command to training;
#   - each window trains for its budget and leaves ≤ 8 files of ≤ 16 MiB in its OUT;
#   - each continues the last (step, images seen, window records, online weights) once its state is
#     "committed" (copied where the next window reads it); the EMA continues from the model when
#     the last window's model was shipped too, and restarts from the online weights when not;
#   - the third window runs a whole window's order in this build: cmedit-train built, then training
#     (the fused step, as a window's graphed step falls back to on a CPU) with the checks' and the
#     speed block's programs built beside it, then the CUDA checks (their CUDA twins, which skip
#     here), then the speed block;
#   - the exported model loads and edits in cmedit-cli;
#   - what a real window carries fits the device's 64 MiB (scripts/gpu/carry-size).
# usage: campaign.sh BUILD_DIR WORK_DIR PACK MODEL_DIR FIXTURE_PROGRAM
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$1" work="$2/campaign" pack="$3" start_model="$4" fx="$5"
cli="$build/bin/cmedit-cli"
fail() { echo "FAIL: $*" >&2; exit 1; }
field() { sed -n "s/^  \"$2\": \\([0-9]*\\),*\$/\\1/p" "$1"; }  # a top-level number of campaign.json

rm -rf "$work"
mkdir -p "$work/state"
cp -r "$start_model" "$work/model"
# The tiny architecture of the fixture's model (tests/cli/train_tests.cmake: TINY), ECT with a
# pretraining phase and stages short enough to pass through all of them in a window.
cat > "$work/state/campaign.json" << 'JSON'
{"format": "cmedit-campaign", "version": 1, "step": 0, "images_seen": 0, "windows": [],
 "config": {"mode": "ect", "architecture": {"image_size": 16, "num_channels": 32, "num_res_blocks": 1, "channel_mult": "1,2",
            "attention_resolutions": "8", "num_head_channels": 32, "dropout": 0.1},
            "batch": 4, "seed": 5, "optimizer": "radam", "lr": 0.0002, "ema_rate": 0.99,
            "ect_pretrain_steps": 4, "ect_stage_steps": 4, "ect_max_stage": 3, "crop_sizes": [16, 16, 32]}}
JSON

# window OUT [MINUTES CHECKS_SECONDS SPEED_SECONDS RESERVE_SECONDS]
window() {
  CMEDIT_CAMPAIGN_BUILD="$build" CMEDIT_CAMPAIGN_STATE="$work/state" CMEDIT_CAMPAIGN_MODEL="$work/model" \
    CMEDIT_CAMPAIGN_DATA="$pack" CMEDIT_CAMPAIGN_DEVICE=cpu CMEDIT_CAMPAIGN_SPEED="${4:-0}" CMEDIT_CAMPAIGN_CHECKS="${3:-0}" \
    CMEDIT_CAMPAIGN_RESERVE="${5:-2}" CMEDIT_CAMPAIGN_LOG_EVERY=4 OMP_NUM_THREADS=1 bash "$root/scripts/gpu/campaign" "$1" "${2:-0.15}" > "$1.log" 2>&1 ||
    { cat "$1.log"; fail "window $1 failed"; }
  local count
  count=$(find "$1" -type f | wc -l)
  [ "$count" -le 8 ] || fail "$1 holds $count files"
  [ -z "$(find "$1" -type f -size +16M)" ] || fail "$1 holds a file over 16 MiB"
  for f in model/model.safetensors model/model.json online.safetensors campaign.json loss.csv samples.png campaign.log; do
    [ -s "$1/$f" ] || fail "$1/$f is missing"
  done
}

# A real window's plan: the build time of window 3 (67 s), the default slots.
plan=$(CMEDIT_CAMPAIGN_PLAN=67 bash "$root/scripts/gpu/campaign" "$work/plan" 9)
echo "$plan"
share=$(echo "$plan" | sed -n 's/.*training \([0-9]*\) % of the command.*/\1/p')
[ "${share:-0}" -ge 75 ] || fail "a 9-minute window would train only ${share:-?} % of its command"
[ ! -e "$work/plan" ] || fail "the plan wrote $work/plan"

window "$work/out1"
step1=$(field "$work/out1/campaign.json" step)
images1=$(field "$work/out1/campaign.json" images_seen)
[ "${step1:-0}" -gt 0 ] || fail "the first window trained no step"
grep -q "online weights from the model; EMA from the model" "$work/out1.log" || fail "the first window did not start from the model"

# The first window's model is not shipped (as when it scores worse): only its state is committed.
# The second window continues the online network and restarts the EMA from it.
cp "$work/out1/campaign.json" "$work/out1/online.safetensors" "$work/state/"
window "$work/out2"
grep -q "campaign: .* step $step1, $images1 images seen, .* online weights from $work/state/online.safetensors; EMA from the online weights" \
  "$work/out2.log" || { cat "$work/out2.log"; fail "the second window did not continue from step $step1"; }
step2=$(field "$work/out2/campaign.json" step)
images2=$(field "$work/out2/campaign.json" images_seen)
[ "$step2" -gt "$step1" ] && [ "$images2" -gt "$images1" ] || fail "no progress: steps $step1 → $step2, images $images1 → $images2"

# The second window's model is shipped: the third window takes its EMA from it. It runs a whole
# window: checks and speed block in slots of 5 and 6 s, with 6 s for the export (a 2-core machine).
cp "$work/out2/campaign.json" "$work/out2/online.safetensors" "$work/state/"
cp "$work/out2/model/"* "$work/model/"
window "$work/out3" 0.5 5 6 6
# The order: cmedit-train, then training with the other programs building beside it, then the checks.
order=$(sed -n -E 's/^== (build: cmedit-train|build: beside the training, at|train:|build: beside the training, finished|checks: the training step|checks: golden|speed:).*/\1/p' \
  "$work/out3.log" | tr '\n' '|')
expected="build: cmedit-train|build: beside the training, at|train:|build: beside the training, finished|checks: the training step|checks: golden|speed:|"
[ "$order" = "$expected" ] || { cat "$work/out3.log"; fail "the window's order is $order, not $expected"; }
grep -q "== build: beside the training, at nice 19: cm_cuda_tests golden_parity train_step$" "$work/out3.log" ||
  fail "the third window did not build exactly its checks and speed programs beside the training"
grep -q "^step: graph; no CUDA graphs: CUDA graphs need a CUDA device" "$work/out3.log" || fail "the window did not train with the graph step's CPU fallback"
grep -q "^\[  SKIPPED \] Device/TrainStepOnDevice.*/cuda" "$work/out3.log" || fail "the checks did not run the training step's CUDA twin"
! grep -q "/cpu (" "$work/out3.log" || fail "the checks ran CPU twins"
grep -q "^| graph-nhwc | 4 | " "$work/out3.log" || fail "the speed block has no graph-nhwc row"
grep -q "campaign: .* step $step2, $images2 images seen, .* EMA from the model" "$work/out3.log" ||
  { cat "$work/out3.log"; fail "the third window did not take its EMA from the shipped model of step $step2"; }
step3=$(field "$work/out3/campaign.json" step)
[ "$step3" -gt "$step2" ] || fail "the third window trained no step"
[ "$(grep -c '"train_minutes"' "$work/out3/campaign.json")" -eq 3 ] || fail "campaign.json should record three windows"
tr -d ' \n' < "$work/out3/campaign.json" | grep -q "\"steps\":\[$step2,$step3\]" || fail "the third window's record is not steps $step2–$step3"

# The exported model edits.
"$fx" make "$work/edit"
"$cli" inpaint "$work/edit/photo.png" --mask "$work/edit/mask.png" --model "$work/out3/model" --steps 2 --no-progress \
  -o "$work/edit/inpainted.png" || fail "cmedit-cli could not inpaint with the exported model"
"$fx" same-outside "$work/edit/photo.png" "$work/edit/inpainted.png" "$work/edit/mask.png" 2 8 || fail "the inpainting changed kept pixels"
"$cli" generate --model "$work/out3/model" --steps 2 --no-progress -o "$work/edit/sample.png" || fail "cmedit-cli could not generate"

# A real window's carry fits the device's working-tree limit.
bash "$root/scripts/gpu/carry-size" || fail "a campaign window would not fit the 64 MiB working-tree limit"
echo "campaign: three windows, steps 0 → $step1 → $step2 → $step3, images $images1 → $images2"
