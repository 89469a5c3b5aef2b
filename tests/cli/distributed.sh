#!/usr/bin/env bash
# Data-parallel cmedit-train on the CPU over loopback (app/train_distributed.h, core/train/collective.h):
#   - 2 processes with global batch B end with the weights, EMA and optimizer state of 1 process
#     with batch B (within float reduction tolerance);
#   - stopping both and resuming continues exactly;
#   - killing one rank ends the other with the error in bounded time, and the last checkpoint is
#     intact (it exports);
#   - Ctrl-C stops all processes after the same step with a checkpoint, and resume goes on;
#   - a batch that does not divide among the processes is refused.
# usage: distributed.sh TRAIN FIXTURE_PROGRAM PACK WORK_DIR
set -euo pipefail
train="$1" fx="$2" pack="$3" work="$4/distributed"
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
tiny=(--size 16 --channels 32 --res-blocks 1 --mult 1,2 --attention 8 --batch 4 --dropout 0 --sample-every 0
      --held-out-batches 0 --log-every 1 --threads 1)

for mode in ect ct; do
  "$train" "$mode" --data "$pack" --run "$work/$mode-1" "${tiny[@]}" --iterations 4 --nproc 1 2> "$work/$mode-1.log" ||
    { cat "$work/$mode-1.log"; fail "$mode with one process failed"; }
  "$train" "$mode" --data "$pack" --run "$work/$mode-2" "${tiny[@]}" --iterations 4 --nproc 2 2> "$work/$mode-2.log" ||
    { cat "$work/$mode-2.log"; fail "$mode with two processes failed"; }
  grep -q "and 1 more processes (batch 2 each, gloo)" "$work/$mode-2.log" || { cat "$work/$mode-2.log"; fail "the run does not say it has 2 processes"; }
  [ "$(grep -c "^step 4/4" "$work/$mode-2.log")" -eq 1 ] || fail "rank 1 logged too (rank 0 alone logs)"
  "$fx" runs-close "$work/$mode-1" "$work/$mode-2" 1e-5 || fail "$mode: 2 processes differ from 1"
done

# Stopped after step 2 (both ranks), resumed with two processes to step 4: the same as not stopping.
"$train" ect --data "$pack" --run "$work/stopped" "${tiny[@]}" --iterations 4 --until 2 --nproc 2 2> "$work/stopped.log" ||
  { cat "$work/stopped.log"; fail "the run to step 2 failed"; }
"$train" resume "$work/stopped" --nproc 2 --threads 1 2> "$work/resumed.log" || { cat "$work/resumed.log"; fail "resume failed"; }
grep -q "resuming .* at step 2" "$work/resumed.log" || { cat "$work/resumed.log"; fail "resume did not start at step 2"; }
"$fx" runs-close "$work/ect-2" "$work/stopped" 0 || fail "the resumed run differs from the one not stopped"

# Two ranks started by hand, as torchrun does; in the middle of the run rank 1 dies (SIGKILL) or
# hangs (SIGSTOP). Rank 0 ends with the error: at once when the connection drops, after --timeout
# (4 s here) when the peer is silent.
for how in KILL STOP; do
  run="$work/lost-$how"
  port=$((20000 + RANDOM % 20000))
  for r in 0 1; do
    RANK=$r LOCAL_RANK=$r WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      "$train" ect --data "$pack" --run "$run" "${tiny[@]}" --iterations 100000 --checkpoint-every 2 --timeout 4 \
      2> "$run-$r.log" &
    eval "pid$r=\$!"
  done
  for _ in $(seq 150); do
    grep -q "checkpoint .*step-000000004" "$run-0.log" 2> /dev/null && break
    sleep 0.2
  done
  grep -q "checkpoint .*step-000000004" "$run-0.log" || { kill -9 "$pid0" "$pid1"; cat "$run"-*.log; fail "the run did not get going"; }
  kill "-$how" "$pid1"
  start=$(date +%s)
  set +e
  wait "$pid0" 2> /dev/null
  status=$?
  set -e
  took=$(($(date +%s) - start))
  kill -9 "$pid1" 2> /dev/null || true
  wait "$pid1" 2> /dev/null || true
  [ "$status" -ne 0 ] || fail "rank 0 went on without rank 1 ($how)"
  [ "$took" -le 30 ] || fail "rank 0 took $took s to notice that rank 1 was lost ($how; at most 30 s)"
  grep -q "another process of the run died or stopped answering" "$run-0.log" ||
    { cat "$run-0.log"; fail "rank 0 did not say why it stopped ($how)"; }
  echo "SIG$how of rank 1: rank 0 stopped after $took s: $(grep -o 'another process.*' "$run-0.log" | head -1 | cut -c1-140)"
  "$train" export "$run" "$run-model" > /dev/null || fail "the last checkpoint does not export ($how)"
done

# Ctrl-C reaches every process of the terminal's group: both ranks stop after the same step, rank 0
# writes its checkpoint there, and the launcher returns 130; resume goes on from that step.
setsid "$train" ect --data "$pack" --run "$work/interrupted" "${tiny[@]}" --iterations 100000 --checkpoint-every 1000 \
  --nproc 2 2> "$work/interrupted.log" &
leader=$!
for _ in $(seq 150); do
  grep -q "^step 3/" "$work/interrupted.log" 2> /dev/null && break
  sleep 0.2
done
kill -INT -- "-$leader"
set +e
wait "$leader"
status=$?
set -e
[ "$status" -eq 130 ] || { cat "$work/interrupted.log"; fail "an interrupted run ended with status $status (expected 130)"; }
stopped=$(sed -n 's/^stopped at step \([0-9]*\);.*/\1/p' "$work/interrupted.log")
[ -n "$stopped" ] && [ -d "$work/interrupted/checkpoints/step-$(printf %09d "$stopped")" ] ||
  { cat "$work/interrupted.log"; fail "no checkpoint at the step the run stopped"; }
"$train" resume "$work/interrupted" --until $((stopped + 2)) --nproc 2 --threads 1 2> "$work/interrupted-resumed.log" ||
  { cat "$work/interrupted-resumed.log"; fail "resuming the interrupted run failed"; }
grep -q "resuming .* at step $stopped" "$work/interrupted-resumed.log" || fail "the interrupted run did not resume at step $stopped"

# 4 images do not divide among 3 processes.
set +e
"$train" ect --data "$pack" --run "$work/three" "${tiny[@]}" --iterations 2 --nproc 3 2> "$work/three.log"
status=$?
set -e
[ "$status" -eq 2 ] && grep -q "does not divide among 3 processes" "$work/three.log" ||
  { cat "$work/three.log"; fail "a batch of 4 on 3 processes was not refused (status $status)"; }
echo "distributed: PASSED"
