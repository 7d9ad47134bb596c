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
# runs the command line in-process, then says which heavy modules it had loaded
RUNNER = """import json, sys
from empathy.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as e:  # argparse's --help
    code = e.code
with open(sys.argv[1], "w") as f:
    json.dump([m for m in %r if m in sys.modules], f)
sys.exit(code)
""" % (HEAVY,)


def loaded(tmp_path, *argv) -> list[str]:
    out = tmp_path / "modules.json"
    r = subprocess.run([sys.executable, "-c", RUNNER, str(out), *argv],
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
