"""A source stamped far ahead of the seat's clock (an LSL outlet on a machine whose clock
is minutes ahead and that LSL's own clock sync did not cover: stamps pushed explicitly, a
device clock set by hand; BrainFlow boards stamping with their own clock), uncalibrated.
Real pylsl outlet on loopback, a real `empathy edge run`, its packets on a real socket."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys

import numpy as np
import pylsl
import pytest

from empathy import wire
from empathy.edge.source_clock import AHEAD_MAX_S, AheadGuard
from empathy.keys import Keystore
from empathy.sensors.base import Beat, Health, Waveform
from test_lsl_source import Outlet, ecg_wave

pytestmark = pytest.mark.timeout(180)


class AheadOutlet(Outlet):
    """An ECG amplifier in real time whose clock reads `ahead_s` more than ours."""

    def __init__(self, *a, ahead_s: float, **kw):
        super().__init__(*a, **kw)
        self.ahead_s = ahead_s

    def _run(self):
        self.t0 = pylsl.local_clock()
        i = 0
        while not self._stop.is_set() and i < len(self.x):
            self._stop.wait(max(0.0, self.t0 + (i + self.chunk) / self.fs - pylsl.local_clock()))
            part = self.x[i:i + self.chunk]
            self.outlet.push_chunk(part.tolist(),
                                   self.t0 + self.ahead_s + (i + len(part) - 1) / self.fs)
            i += len(part)


def _hr_seconds(tmp_path, ahead_s: float, enough_s: float,
                run_s: float = 24.0) -> tuple[float, str]:
    """Seconds of the run in which the unit sent HR_OK, and its log. The unit is stopped
    (SIGTERM, as a service) once it has sent more than `enough_s` of them, the count the
    test asks for, within run_s: the count only grows, so the verdict is the full run's,
    and the ~7-25 s it would go on sending HR are not waited for."""
    dev = AheadOutlet(f"Ahead{ahead_s:g}", "ECG", ecg_wave(run_s + 20, 250.0, 72.0), 250.0,
                      ahead_s=ahead_s).start()
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.2)
    ks = Keystore.new([1])
    ks.for_unit(1).save(tmp_path / "k.toml")
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'unit_id = 1\nkeystore = "{tmp_path}/k.toml"\nseq_file = "{tmp_path}/seq"\n'
                   f'uplink = "udp://127.0.0.1:{rx.getsockname()[1]}"\nfaces = false\n'
                   'baseline_s = 5\n[[seats]]\nseat_id = 1\n'
                   f'source = "lsl://Ahead{ahead_s:g}?source_id={dev.source_id}&resolve_s=10"\n')
    good = 0
    try:
        unit = subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                                 str(cfg), "--duration", str(run_s)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        while unit.poll() is None:
            with contextlib.suppress(socket.timeout, wire.WireError):
                s = wire.decode(rx.recv(2048), ks.units)
                good += bool(s.flags & wire.Flag.HR_OK)
                if good > enough_s * 10:
                    unit.terminate()
                    break
        out = unit.communicate(timeout=10)[0]
    finally:
        rx.close()
        dev.stop()
    assert unit.returncode == 0 and "Traceback" not in out, out
    return good / 10.0, out  # 10 samples a second


def test_a_source_minutes_ahead_and_uncalibrated_still_gives_heart_rate(tmp_path):
    """An ECG stream stamped 5 minutes ahead of the unit. Before: every beat waited for
    its time (edge/heart_window.py: intervals ending after now wait), so no HR for the
    whole 24-s run, and no word why. Now its stamps are moved to arrival time (its own
    spacing kept), HR within seconds, and one warning names the seat and the offset."""
    seconds, out = _hr_seconds(tmp_path, 300.0, enough_s=8)
    print(f"{seconds:.1f} s of HR_OK\n{out}")
    assert seconds > 8, out
    said = [line for line in out.splitlines() if "ahead" in line]
    assert len(said) == 1 and "seat 1" in said[0], out
    assert 295 <= int(said[0].split(" s ahead")[0].split()[-1]) <= 300, said  # its lead, less
    # the chunk's own span and its delivery


def test_a_source_a_little_ahead_keeps_its_own_stamps():
    """An early sensor (a negative lag up to calibration's 12 s, or a clock a second fast)
    keeps its stamps: its beats wait for their time as before. Stamped at arrival (a
    Health) or behind: untouched. Minutes ahead: moved by one offset for the whole stream,
    its samples' spacing kept; a second jump re-bases once more."""
    guard, now = AheadGuard("seat 1"), 10**12
    wave = Waveform(now + int(2e6), "ecg", 250.0, np.zeros(25))
    assert guard.admit(wave, now) is wave
    assert guard.admit(Beat(now + int((AHEAD_MAX_S - 0.5) * 1e6), 800.0), now).ts_us > now
    ahead = [guard.admit(Waveform(now + int(300e6) + k * 100_000, "ecg", 250.0, np.zeros(25)),
                         now + k * 100_000 + j)
             for k, j in enumerate((0, 30_000, -20_000, 5_000))]
    assert [w.ts_us - now for w in ahead] == [0, 100_000, 200_000, 300_000]
    health = Health(now + 1000, "lsl", contact=True)
    assert guard.admit(health, now) is health
    jumped = guard.admit(Beat(now + int(600e6), 800.0), now + int(1e6))
    assert jumped.ts_us == now + int(1e6) and guard.rebased == 2
