"""Hostile inputs to the accelerometer-aware PPG tracker (edge/ppg_track.py, ppg_guide.py):
`empathy signal hr FILE --acc ACC` on files a user could hand it, and a seat's PPG board
(edge/features.py) sending a flat line beside a moving accelerometer. Each gives a result
or one line saying what is wrong, never a traceback or a crash report, and never a
tracked rate outside the tracker's band (42-200 bpm) in the JSON or on the wire."""

import json
import subprocess
import sys

import numpy as np

from empathy.edge.features import SeatFeatures
from empathy.edge.ppg_track import BAND_BPM, track_hr
from empathy.sensors.base import Waveform

FS = 100.0


def _swing(seconds: float, fs: float = FS) -> np.ndarray:
    """Three axes (mG) of an arm swinging at 1.9 Hz."""
    s = np.sin(2 * np.pi * 1.9 * np.arange(int(seconds * fs)) / fs)
    return np.column_stack([1000.0 + 300.0 * s, -150.0 * s, 80.0 * s])


def _in_band(hr) -> bool:
    return all(BAND_BPM[0] <= v <= BAND_BPM[1] for v in hr if v is not None)


def test_a_flat_ppg_has_no_tracked_rate_and_none_outside_the_band():
    """A flat PPG (a finger off the board, a saturated sensor) has no spectrum: the tracker
    took the spectrum's first bin, 0 bpm, and called it confident."""
    for ppg in (np.zeros(3000), np.full(3000, 512.0)):
        for acc in (None, _swing(30)):
            _, hr, _, sure = track_hr(ppg, FS, acc)
            assert _in_band(hr) and not sure.any()
    f = SeatFeatures()  # the seat: the board's chunks as the serial reader gives them
    mag = np.linalg.norm(_swing(30, 50.0), axis=1)
    for k in range(30):
        f.add(Waveform(int(k * 1e6), "acc", 50.0, mag[k * 50:(k + 1) * 50]))
        f.add(Waveform(int(k * 1e6), "ppg", FS, np.full(100, 512.0)))
    tr = f.motion_report()["tracked"]
    assert tr["hr_bpm"] is None, tr


def _hr(tmp_path, ppg: np.ndarray, acc: np.ndarray, fmt: str = "%.5f"):
    t = np.arange(len(ppg)) / FS
    np.savetxt(tmp_path / "ppg.csv", np.c_[t, ppg], delimiter=",", header="time,ppg",
               comments="", fmt="%.5f")
    ta = np.arange(len(acc)) / FS
    np.savetxt(tmp_path / "acc.csv", np.c_[ta, acc], delimiter=",", header="time,x,y,z",
               comments="", fmt=fmt)
    return subprocess.run([sys.executable, "-m", "empathy.cli", "signal", "hr",
                           str(tmp_path / "ppg.csv"), "--acc", str(tmp_path / "acc.csv"),
                           "--json"], capture_output=True, text=True, timeout=120)


def test_signal_hr_acc_on_hostile_files_says_one_line_or_gives_a_sound_result(tmp_path):
    t = np.arange(6000) / FS
    pulse = np.sin(2 * np.pi * 1.25 * t) ** 8 + 0.3 * np.sin(2 * np.pi * 1.9 * t)
    cases = {
        "flat ppg": (np.ones(6000), _swing(60), "%.5f"),  # was a ZeroDivisionError
        "acc stops at 31 s of 60": (pulse, _swing(31), "%.5f"),  # was numpy's reshape error
        "acc 1e300 mG": (pulse, _swing(60) * 1e300, "%.5e"),  # was a RuntimeWarning too
        "constant acc": (pulse, np.full((6000, 3), 1000.0), "%.5f"),
    }
    for name, (ppg, acc, fmt) in cases.items():
        p = _hr(tmp_path, ppg, acc, fmt)
        err = p.stderr.strip().splitlines()
        assert p.returncode in (0, 1, 3), (name, p.returncode, p.stderr)
        assert len(err) == (p.returncode != 0), (name, p.stderr)
        assert "unexpected error" not in p.stderr and "numpy" not in p.stderr.lower(), name
        assert "reshape" not in p.stderr, (name, p.stderr)
        if p.returncode == 0:  # valid JSON (no NaN token), tracked rates in the band
            s = json.loads(p.stdout, parse_constant=lambda c: (_ for _ in ()).throw(
                ValueError(f"{name}: {c} in the JSON")))
            tr = s["motion"]["tracked"]
            assert _in_band([w[1] for w in tr["windows"]] + [tr["moving_hr_bpm"]]), name
