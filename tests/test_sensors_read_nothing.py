"""`empathy sensors read URL` where nothing answers: one line saying what the source said and
what to try, and a non-zero exit (before: exit 0, the source's own fault counted as a
reading). Real pylsl outlets and a real pty board; each run is ended by Ctrl-C once its
first line is out, so no test waits on a duration."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import tty
import uuid
from urllib.parse import quote

import pylsl
import pytest

from polling import wait_for

pytestmark = [pytest.mark.timeout(120), pytest.mark.realtime]  # LSL outlets stream in real time


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "empathy.cli", "sensors", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _until_line(p: subprocess.Popen, pred, what: str) -> tuple[int, list[str], list[str]]:
    """Read p's stdout till a line meets pred, then Ctrl-C it: (exit, stdout, stderr lines)."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)
    reader.start()
    wait_for(lambda: any(map(pred, list(lines))) or p.poll() is not None, 60, what)
    p.send_signal(signal.SIGINT)
    err = p.stderr.read()
    p.wait(30)
    reader.join(10)
    return p.returncode, lines, err.strip().splitlines()


class Outlet:
    """An ECG device streaming 250 Hz in 10-sample chunks till stopped."""

    def __init__(self, name: str, source_id: str):
        self.outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "ECG", 1, 250.0,
                                                          pylsl.cf_float32, source_id))
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop.wait(0.04):
            self.outlet.push_chunk([[1.0]] * 10)

    def stop(self):
        self._stop.set()
        self.thread.join(5)
        self.outlet = None


def test_an_lsl_url_no_stream_matches_exits_non_zero_saying_what_to_try():
    name = f"ECG {uuid.uuid4().hex[:6]}"
    rc, out, err = _until_line(_cli("read", f"lsl://{quote(name)}?resolve_s=0.5"),
                               lambda ln: "fault=no LSL stream" in ln, "the source's fault")
    assert rc == 1, (out, err)
    last = err[-1]
    assert last.startswith(f"empathy sensors read: lsl://{quote(name)}"), err
    assert f"no LSL stream with name='{name}'" in last, last
    assert "empathy sensors scan" in last and all(
        k in last for k in ("name=", "type=", "source_id=", "host=")), last


def test_scan_lists_an_lsl_stream_by_a_url_that_reads_it():
    name, sid = f"Bob's ECG {uuid.uuid4().hex[:6]}", f"amp-{uuid.uuid4().hex[:6]}"
    dev = Outlet(name, sid)
    try:
        scan = subprocess.run([sys.executable, "-m", "empathy.cli", "sensors", "scan", "--json",
                               "--no-ble", "--no-serial"], capture_output=True, text=True,
                              timeout=60)
        assert scan.returncode == 0, scan.stderr
        mine = [s for s in json.loads(scan.stdout)["lsl"] if s["source_id"] == sid]
        assert len(mine) == 1 and mine[0]["name"] == name, scan.stdout
        rc, out, err = _until_line(_cli("read", mine[0]["url"], "--json"),
                                   lambda ln: '"Waveform"' in ln, "a waveform")
    finally:
        dev.stop()
    assert rc == 0 and any(json.loads(ln)["type"] == "Waveform" for ln in out), err


def test_a_board_speaking_another_protocol_exits_non_zero():
    """A board flashed with another firmware is named as such (a Health fault), and nothing
    is read: before, that fault counted as a reading and the exit was 0."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    p = _cli("read", f"serial://{os.ttyname(slave)}")
    stop = threading.Event()

    def talk():  # a pulse sensor's demo sketch, till the reader is done
        while not stop.wait(0.2):
            try:
                os.write(master, b"BPM: 72  IBI: 833\r\n" * 20)
            except (BlockingIOError, OSError):
                pass
    talker = threading.Thread(target=talk, daemon=True)
    talker.start()
    try:
        rc, out, err = _until_line(p, lambda ln: "protocol" in ln, "the board's fault")
    finally:
        stop.set()
        talker.join(5)
        os.close(master)
        os.close(slave)
    assert rc == 1 and "protocol" in err[-1] and "firmware" in err[-1], (out, err)
    assert err[-1].startswith("empathy sensors read: serial://"), err


def test_the_camera_urls_scan_lists_are_ones_camera_opens():
    """Scan listed camera:///dev/video0, which camera:// refused with Python's words
    ("invalid literal for int() with base 10: 'dev/video0'")."""
    from empathy.sensors.base import SourceError
    from empathy.sensors.camera import pipeline_for
    from empathy.sensors.cli import cameras

    listed = cameras(["/dev/video0", "/dev/video12", "/dev/video-x"])
    assert [c["url"] for c in listed] == ["camera://usb/0", "camera://usb/12"]
    assert pipeline_for(listed[1]["url"], {})[0].startswith("v4l2src device=/dev/video12 ")
    for url, query in (("camera:///dev/video0", {}), ("camera://usb/²", {}),
                       ("camera://usb/0", {"width": "²"}), ("camera://usb/0", {"fps": "٣٠"})):
        with pytest.raises(SourceError, match="whole numbers: camera://usb/0") as e:
            pipeline_for(url, query)
        assert "int()" not in str(e.value)
