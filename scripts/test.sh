#!/usr/bin/env bash
# The test command (README and CI). Slow soak/bench tests: scripts/test.sh -m slow
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
rc=$?
# pytest exit 5 means no tests ran: that is a failure, never a pass.
[ $rc -eq 5 ] && echo "no tests ran" >&2
exit $rc
