"""A verb imports only what it uses: checking a config, asking for help or the doctor's look
at an edge config load no signal processing, vision or plotting. scipy.signal alone costs
~1.1-1.4 CPU-s a process (scipy 1.17), and the tests start hundreds of processes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EDGE = ROOT / "deploy" / "cinema" / "edge.toml"
HEAVY = ("scipy.signal", "cv2", "matplotlib")
# runs the command line in-process, then says which of the modules named it had loaded
RUNNER = """import json, sys
from empathy.cli import main
try:
    code = main(sys.argv[3:])
except SystemExit as e:  # argparse's --help
    code = e.code
with open(sys.argv[1], "w") as f:
    json.dump([m for m in sys.argv[2].split(",") if m in sys.modules], f)
sys.exit(code)
"""


def loaded(tmp_path, *argv, heavy=HEAVY) -> list[str]:
    out = tmp_path / "modules.json"
    r = subprocess.run([sys.executable, "-c", RUNNER, str(out), ",".join(heavy), *argv],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.exists(), r.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("argv", [
    ["--help"],
    ["config", "check", str(EDGE)],  # reads EdgeConfig; the unit's features need not load
    ["config", "check", "--schema-only", str(EDGE)],
    ["doctor", "--config", str(EDGE)],
    ["edge", "run", "--config", str(ROOT / "deploy" / "cinema" / "host.toml")],  # refused
], ids=["help", "config-check-edge", "config-check-schema", "doctor-edge", "edge-run-refused"])
def test_verb_loads_no_heavy_module(tmp_path, argv):
    assert loaded(tmp_path, *argv) == []


# A verb's --help costs the interpreter and argparse, not numpy (0.1-0.2 CPU-s a process).
# Not yet: `demo` and `policy` list the policies (host.policy: numpy), `host` builds
# HostConfig from ShowConfig and KioskConfig (host.show, host.kiosk: numpy, zeroconf, the
# player), `signal` its help from the file readers (edge.signal_file: numpy).
@pytest.mark.parametrize("argv", [
    ["edge", "run"], ["sensors", "scan"], ["sensors", "read"], ["keys", "new"],
    ["story", "check"], ["lut", "check"], ["lut", "apply"], ["calibrate", "hr"],
    ["session", "list"], ["config", "check"], ["doctor"], ["bench"]], ids=" ".join)
def test_help_loads_no_numpy(tmp_path, argv):
    assert loaded(tmp_path, *argv, "--help", heavy=("numpy", "asyncio")) == []
