#!/usr/bin/env bash
# The test command (README and CI). Slow soak/bench tests: scripts/test.sh -m slow
#
# With no arguments: every test but the slow ones, in three passes. First the tests that do
# not keep real time, four at a time (most of them wait on real processes, sockets, pty
# boards and GStreamer, not on the CPU: three kept ~1.4 of 2 cores busy, ~1,060 CPU-s in
# 775 s); then the ones that do (playback lateness, clock sync, restarts within a deadline,
# live demos: tests/conftest.py) one by one, beside those of simulated devices (light on
# the CPU, no video) three at a time. Beside both, at the lowest priority, the tests that
# only compute. EMPATHY_TEST_CPU_LOG=PATH: CPU-seconds a test (tests/cpu_log.py).
# With arguments: pytest with them, one test at a time.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# Keep Python's bytecode (an environment may turn it off): else every worker and every
# process a test starts compiles its modules again, and each pytest rewrites every test
# file's asserts again (~10 s of CPU a time). Under .pytest_cache, not beside the sources.
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX="${PYTHONPYCACHEPREFIX:-$PWD/.pytest_cache/pycache}"
# The tests' matrices are small: OpenBLAS's threads only spin against the other workers
# (8-11 % more CPU on the seat spike grid, the same wall time).
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
check() {  # pytest exit 5 means no tests ran: that is a failure, never a pass
  [ "$1" -eq 5 ] && echo "no tests ran" >&2
  return "$1"
}
# A pass still running after this long is hung, not slow (the slowest, ~9 min on CI; the
# whole suite ~14 min on a loaded 2-core machine): Ctrl-C (pytest prints what failed so far:
# "worker 'gw1' crashed while running ...") and a minute later KILL, to the pass and all it
# started (timeout gives it a process group of its own), rather than a CI job waiting out its
# 90 minutes in silence. Two passes in a row fit in those; the idle-priority pass, beside
# both, gets twice as long.
limit=${EMPATHY_PASS_TIMEOUT:-1800}
timed=(timeout -s INT -k 60)
said() {  # NAME STATUS: the pass's status, saying so if it ran out of time
  case $2 in
    124) echo "the $1 pass ran past its limit ($limit s): hung?" >&2 ;;
    137) echo "the $1 pass was killed: past its limit ($limit s) and deaf to Ctrl-C," \
      "or out of memory?" >&2 ;;
  esac
  return "$2"
}
if [ $# -gt 0 ]; then
  $PY -m pytest "$@"
  check $?
  exit $?
fi
# The files that spend CPU only (tests/conftest.py COMPUTE: signal processing and
# simulation in-process, no real time) run from the start at idle priority beside every
# other pass, on the CPU those leave idle: the parallel pass waits on processes and sockets
# (~1.75 of 2 cores busy), the real-time ones on clocks and devices (~0.8: 170 CPU-s in
# 220 s). SCHED_IDLE (else nice 19): a waking test preempts them at once, so they take
# next to nothing from a test that keeps time; once the others are done they have the
# machine. On a machine busy with other work they can wait minutes for a core: a longer
# timeout a test. Their output comes last.
idle=(nice -n 19)
chrt --idle 0 true 2>/dev/null && idle=(chrt --idle 0)
# A fresh checkout (CI) has no bytecode there, and every module, the venv's and the
# standard library's too, is compiled again under the prefix: the six workers the first two
# passes start at once each compiled all they import (4 workers: 68 CPU-s to start and
# collect cold, 26 warm). One collection first fills the cache (~25 CPU-s cold).
[ -d "$PYTHONPYCACHEPREFIX" ] ||  # (in this script's process group: Ctrl-C reaches it)
  timeout --foreground "$limit" $PY -m pytest --collect-only -q -p no:cacheprovider \
    >/dev/null 2>&1
compute_log=$(mktemp)
light_log=$(mktemp)
trap 'rm -f "$light_log" "$compute_log"' EXIT
# Each pass runs in the background of this script, in its own process group, so a Ctrl-C
# (or TERM, HUP) reaches this script alone: it passes it on to every pass (timeout passes it
# to the pass's group) and stops once they have; a second kills them.
passes=()
stop() {  # SIGNAL
  trap 'for p in "${passes[@]}"; do kill -s KILL -- "-$p"; done 2>/dev/null' INT TERM HUP
  kill -s "$1" "${passes[@]}" 2>/dev/null
  wait
  cat "$light_log" "$compute_log"
  exit 130
}
for sig in INT TERM HUP; do trap "stop $sig" $sig; done
"${timed[@]}" $((2 * limit)) "${idle[@]}" $PY -m pytest -m "not slow and compute" \
  --compute-files -n 2 --dist loadfile --no-loadscope-reorder --timeout 1200 --durations=6 \
  > "$compute_log" 2>&1 &
compute=$!
passes+=($compute)
# Four, not three: a replay of the pass on 2 cores (each test's CPU and wall, shared CPU)
# gives 0.82-0.86 of three's time, ~650 s against 775 s measured; the order files are
# handed out in barely matters (the workers end within ~20 s of each other). On a quiet
# machine (session 34): 512 s, its tests' wall 1,978 s (each worker busy 96 % of the pass)
# for ~670 CPU-s (1.3 cores): three would need >= 660 s; a fifth adds ~3 CPU-s of start and
# collection and, on CI's 2 cores, only CPU the others wait for. EMPATHY_TEST_WORKERS=3
# gives the old pass.
"${timed[@]}" "$limit" $PY -m pytest -m "not slow and not realtime and not compute" \
  --parallel-files -n "${EMPATHY_TEST_WORKERS:-4}" --dist loadfile --durations=12 &
passes+=($!)
wait $!
said parallel $?
rc1=$?
# --realtime-files: these passes import only the files that can hold real-time tests.
# The light files (simulated devices, no video) run three at a time beside the tests that
# run alone: ~0.2 of a core each, and the alone pass kept its time (3:55 against 3:52, all
# passed, on a quiet machine); their output follows the alone pass's. Longest first
# (tests/conftest.py LIGHT_ORDER), not most tests first.
"${timed[@]}" "$limit" $PY -m pytest -m "not slow and realtime_light" --realtime-files -n 3 \
  --dist loadfile --no-loadscope-reorder --durations=6 > "$light_log" 2>&1 &
light=$!
passes+=($light)
"${timed[@]}" "$limit" $PY -m pytest -m "not slow and realtime and not realtime_light" \
  --realtime-files --durations=12 &
passes+=($!)
wait $!
said real-time $?
rc2=$?
wait $light
rc3=$?
cat "$light_log"
said light $rc3
wait $compute
rc4=$?
cat "$compute_log"
said idle-priority $rc4
check $rc1; rc1=$?
check $rc2; rc2=$?
check $rc3; rc3=$?
check $rc4; rc4=$?
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $rc3 -eq 0 ] && [ $rc4 -eq 0 ] && exit 0
echo "tests failed: parallel pass exit $rc1, real-time passes exit $rc2 (alone), $rc3 (light)," \
  "idle-priority pass exit $rc4" >&2
exit 1
