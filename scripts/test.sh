#!/usr/bin/env bash
# The test command (README and CI). Slow soak/bench tests: scripts/test.sh -m slow
#
# With no arguments: every test but the slow ones, in two passes. First the tests that do
# not keep real time, three at a time (most of them wait on real processes, sockets and
# GStreamer, not on the CPU); then the ones that do (playback lateness, clock sync,
# restarts within a deadline, live demos: tests/conftest.py) one by one, alone on the
# machine. With arguments: pytest with them, one test at a time.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
check() {  # pytest exit 5 means no tests ran: that is a failure, never a pass
  [ "$1" -eq 5 ] && echo "no tests ran" >&2
  return "$1"
}
if [ $# -gt 0 ]; then
  $PY -m pytest "$@"
  check $?
  exit $?
fi
$PY -m pytest -m "not slow and not realtime" -n 3 --dist loadfile --durations=12
rc1=$?
$PY -m pytest -m "not slow and realtime" --durations=12
rc2=$?
check $rc1; rc1=$?
check $rc2; rc2=$?
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && exit 0
echo "tests failed: parallel pass exit $rc1, real-time pass exit $rc2" >&2
exit 1
