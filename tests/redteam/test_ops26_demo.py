"""Operations, pass 26: `empathy demo` when every seat unit has gone (its edge units real
processes, SIGKILLed once the film plays)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path



def _children(pid: int) -> list[int]:
    """The live processes whose parent is pid."""
    out = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
        except (OSError, ValueError, IndexError):
            pass
    return out


def _kill_units_once_playing(argv: list[str], out: Path) -> tuple[int, str]:
    """Run a demo, SIGKILL its seat units once a second of film has played; (rc, stderr)."""
    demo = subprocess.Popen([sys.executable, "-m", "empathy.cli", *argv, "--out", str(out),
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        end = time.monotonic() + 150
        frames = out / "frames.csv"
        while not (frames.exists() and len(frames.read_text().splitlines()) > 25):
            assert demo.poll() is None and time.monotonic() < end, "the film never started"
            time.sleep(0.2)
        units = [p for p in _children(demo.pid)
                 if b"edge\x00run" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert units
        for p in units:
            os.kill(p, signal.SIGKILL)
        _, stderr = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.communicate()
    print(stderr[-3000:])
    return demo.returncode, stderr


def test_demo_says_once_when_every_seat_unit_has_gone(tmp_path):
    """`empathy demo` whose seat units all die a few seconds into the film: it played on to
    nobody and said nothing; the decision fell to the default as thin signal, the summary
    and report said nothing of it and the demo ended 0. Now one line says so when the last
    one goes (which units, their exit, where their logs are), the show goes on with the
    director's default, the summary and report say so, and the demo ends 1."""
    out = tmp_path / "demo"
    rc, stderr = _kill_units_once_playing(["demo", "--seats", "2", "--duration", "12",
                                           "--baseline", "2", "--no-faces"], out)
    said = [ln for ln in stderr.splitlines() if "seat units have exited" in ln]
    assert len(said) == 1, stderr[-3000:]
    assert "the show goes on with the director's default" in said[0]
    assert "Traceback" not in stderr
    s = json.loads((out / "summary.json").read_text())
    gone = s["units_exited"]
    assert gone["units"] == {"1": -9, "2": -9} and 0 < gone["at_s"] < 12, gone
    assert [d["reason"] for d in s["decisions"]] and all(
        d["reason"].startswith("fallback") for d in s["decisions"]), s["decisions"]
    assert "every seat unit had exited" in (out / "report.html").read_text()
    assert rc == 1 and "every seat unit exited" in stderr.splitlines()[-1], stderr[-500:]


def test_kiosk_demo_stops_in_one_line_when_its_unit_has_gone(tmp_path):
    """`empathy demo --kiosk` whose one seat unit dies: the kiosk played its attract loop
    until its time ran out (no visitor could come) and then ended in a traceback (the
    unit's stats file, which a killed unit never writes). Now one line says so, the kiosk
    stops at once, and the demo ends 1 in one line."""
    out = tmp_path / "kiosk"
    rc, stderr = _kill_units_once_playing(["demo", "--kiosk", "--visitors", "1",
                                           "--baseline", "2"], out)
    assert "Traceback" not in stderr and "bug" not in stderr, stderr[-2000:]
    said = [ln for ln in stderr.splitlines() if "the seat unit has exited" in ln]
    assert len(said) == 1, stderr[-2000:]
    assert rc == 1 and "the seat unit exited" in stderr.splitlines()[-1], stderr[-500:]
    assert json.loads((out / "summary.json").read_text())["units_exited"]["units"] == {"1": -9}
