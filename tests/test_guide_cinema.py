"""Every command in docs/guide-cinema.md is run, or says why it cannot be.

Shell blocks are marked after `sh`: `test` blocks run in order (each in its own bash with
-euo pipefail) in an empty folder holding a copy of deploy/, standing for the checkout;
`root` and `hardware` blocks are checked for shell syntax and for naming only `empathy`
commands that exist. `needs=TOOL` skips a test block where TOOL is not installed."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import proc_group

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide-cinema.md"
FENCE = re.compile(r"^```(\S*)[ \t]*(.*?)\n(.*?)^```[ \t]*$", re.M | re.S)
MARKS = {"test", "root", "hardware"}
# `empathy [global options] NOUN [VERB]` where empathy is the command word (not a path
# such as /var/lib/empathy, nor a user name)
EMPATHY = re.compile(r"(?:^|[;&|(]\s*|\bsudo\s+|bin/)empathy((?:\s+--log-[\w-]+(?:\s+\w+)?)*)"
                     r"\s+([a-z]+)(?:\s+([a-z][\w-]*))?")


def blocks() -> list[dict]:
    out = []
    for m in FENCE.finditer(GUIDE.read_text()):
        lang, rest, body = m.groups()
        if lang not in ("sh", "bash", "shell", "console"):
            continue
        words = rest.split()
        mark = words[0] if words else ""
        needs = [w.split("=", 1)[1] for w in words[1:] if w.startswith("needs=")]
        line = GUIDE.read_text()[:m.start()].count("\n") + 1
        out.append({"mark": mark, "needs": needs, "body": body, "line": line})
    return out


def env() -> dict:
    bin_dir = Path(sys.executable).parent  # the venv's `empathy` console script
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "OMP_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1"}


def empathy_commands(body: str) -> list[tuple[str, str | None]]:
    """(noun, verb) of each `empathy ...` command in a block (comments left out)."""
    out = []
    for line in body.splitlines():
        line = line.split(" #", 1)[0]
        for m in EMPATHY.finditer(line):
            out.append((m.group(2), m.group(3)))
    return out


def test_every_shell_block_is_marked_and_the_guide_explains_the_marks():
    found = blocks()
    assert len(found) >= 10
    for b in found:
        assert b["mark"] in MARKS, f"guide-cinema.md:{b['line']}: mark the block ({MARKS})"
    text = GUIDE.read_text()
    for mark in MARKS:
        assert f"| `sh {mark}` |" in text  # the legend says what each mark means
    assert sum(b["mark"] == "test" for b in found) >= 6


@pytest.mark.parametrize("block", [b for b in blocks() if b["mark"] != "test"],
                         ids=lambda b: f"line{b['line']}-{b['mark']}")
def test_blocks_not_run_are_valid_shell_naming_real_commands(block):
    r = subprocess.run(["bash", "-n"], input=block["body"], capture_output=True, text=True)
    assert r.returncode == 0, f"guide-cinema.md:{block['line']}: {r.stderr}"
    from empathy.cli import COMMANDS

    for noun, verb in empathy_commands(block["body"]):
        assert noun in COMMANDS, f"guide-cinema.md:{block['line']}: no noun `empathy {noun}`"
        args = [noun] + ([verb] if verb and not verb.startswith("-") else []) + ["--help"]
        r = subprocess.run([sys.executable, "-m", "empathy.cli", *args], capture_output=True,
                           text=True, timeout=60, env=env())
        assert r.returncode == 0, f"guide-cinema.md:{block['line']}: empathy {noun} {verb}: " \
                                  f"{r.stderr[-500:]}"


def test_the_guide_runs(tmp_path):
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    ran = []
    for b in blocks():
        if b["mark"] != "test":
            continue
        if any(not shutil.which(tool) for tool in b["needs"]):
            continue
        r = proc_group.run(["bash", "-euo", "pipefail", "-c", b["body"]], 300, cwd=tmp_path,
                           env=env())  # its rehearsal demo and units go with it
        assert r.returncode == 0, (f"guide-cinema.md:{b['line']} failed ({r.returncode}):\n"
                                   f"{b['body']}\nstdout: {r.stdout[-2000:]}\n"
                                   f"stderr: {r.stderr[-3000:]}")
        assert "Traceback" not in r.stderr, r.stderr[-3000:]
        ran.append((b["line"], r.stdout))
    out = "\n".join(o for _, o in ran)
    # What the guide says the commands print, they print.
    assert "15 rows, 300 seats, 75 units" in out
    assert "75 units with keys" in out
    # The bundles' seat ownership is the room's: provisioning and the seat map agree.
    site = tmp_path / "site"
    owners = lambda doc: {u["unit"]: u["seats"] for u in doc["seatmap"]["units"]}  # noqa: E731
    assert owners(tomllib.loads((site / "units" / "host" / "seatmap.toml").read_text())) == \
        owners(tomllib.loads((site / "host.toml").read_text()))
    assert re.search(r"^empathy_seats_total 4\.0$", out, re.M), out[-2000:]
    assert re.search(r"^empathy_seats_good 4\.0$", out, re.M), out[-2000:]
    assert re.search(r"^empathy_packets_received_total \d+", out, re.M)
    assert (tmp_path / "rehearsal" / "exports").is_dir()
    assert oct((tmp_path / "site" / "metrics.token").stat().st_mode & 0o777) == "0o600"
