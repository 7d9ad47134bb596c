"""A verb imports only what it uses: checking a config, asking for help or the doctor's look
at an edge config load no signal processing, vision or plotting. scipy.signal alone costs
~1.1-1.4 CPU-s a process (scipy 1.17), and the tests start hundreds of processes."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from empathy.cli import full_parser

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


# Checking an edge config, or writing the reference, reads its schema (edge/unit_config.py),
# not the unit that runs it: 0.28 and 0.37 CPU-s a process with numpy and the unit's
# features loaded (session 31)
@pytest.mark.parametrize("argv", [
    ["config", "check", str(EDGE)],
    ["config", "check", "--schema-only", str(EDGE)],
    ["config", "reference", "--out", "-"],
], ids=["config-check-edge", "config-check-schema", "config-reference"])
def test_edge_config_checks_load_no_numpy(tmp_path, argv):
    assert loaded(tmp_path, *argv, heavy=("numpy", "empathy.edge.runtime") + HEAVY) == []


def _help_pages(parser: argparse.ArgumentParser, path: list[str]) -> list[list[str]]:
    """Every noun and verb under `parser` (at any depth), as its --help command line."""
    pages = [path + ["--help"]]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                pages += _help_pages(sub, path + [name])
    return pages


HELP_PAGES = _help_pages(full_parser(), [])
# runs each command line in turn in one process; says after which one each module named
# first appeared (a module loaded once stays: the first to load it is the one to fix)
HELP_RUNNER = """import contextlib, io, json, sys
from empathy.cli import main
heavy, first = sys.argv[2].split(","), {}
for argv in json.loads(sys.argv[3]):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
        except SystemExit:  # argparse's --help
            pass
    for m in heavy:
        if m in sys.modules and m not in first:
            first[m] = " ".join(argv)
with open(sys.argv[1], "w") as f:
    json.dump(first, f)
"""


def test_help_pages_are_found():
    assert ["--help"] in HELP_PAGES and ["host", "run", "--help"] in HELP_PAGES
    assert ["policy", "simulate", "--help"] in HELP_PAGES and len(HELP_PAGES) > 40


# Every --help costs the interpreter and argparse, not numpy (0.1-0.3 CPU-s a process, ~3x
# that on a Pi): the parser is built from light modules (config dataclasses, option lists
# and checks), the verbs' own imports are made as they run (empathy.cli.deferred).
def test_no_help_page_loads_numpy(tmp_path):
    out = tmp_path / "first.json"
    heavy = ("numpy", "asyncio") + HEAVY
    r = subprocess.run([sys.executable, "-c", HELP_RUNNER, str(out), ",".join(heavy),
                        json.dumps(HELP_PAGES)], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)
    assert out.exists(), r.stderr
    assert json.loads(out.read_text()) == {}, "module: the first --help that loaded it"


def test_light_lists_are_the_registries():
    """A list split off for the parser names what its heavy module registers."""
    from empathy.host.player.output_names import KINDS
    from empathy.host.player.outputs import AUDIO_SINKS, PIPELINES
    from empathy.host.policy import _policies
    from empathy.host.policy_settings import POLICY_NAMES

    assert POLICY_NAMES == tuple(_policies())
    assert KINDS == tuple(PIPELINES) == tuple(AUDIO_SINKS)
