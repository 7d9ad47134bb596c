"""`signal hr --acc FILE`: an accelerometer recorded with the heart signal, in mG, as a
magnitude column or three axes named x, y, z (with their unit, as exports write them); and
what a PPG's reading does with its axes (motion cancelled, the rate tracked)."""

from __future__ import annotations

import numpy as np

from empathy.edge.signal_columns import SignalFileError, base
from empathy.edge.signal_file import pick_column, read_signal, sample_rate


def read_acc(path: str, fs: float | None):
    """(rate, magnitude, axes or None) of --acc FILE (mG, starting with the signal)."""
    t, cols = read_signal(path)
    axis = {base(h)[0]: h for h in cols}  # 'x', or 'X [mg]' as Polar Sensor Logger writes
    axes = None
    if all(k in axis for k in "xyz"):  # three axes: the gate reads their magnitude
        axes = np.column_stack([cols[axis[k]] * _mg(path, axis[k]) for k in "xyz"])
        with np.errstate(over="ignore"):  # an absurd axis is inf, which the gate refuses
            a = np.sqrt(np.sum(axes ** 2, axis=1))
    elif any(k in axis for k in "xyz"):  # one axis read as the magnitude would be wrong
        have = ", ".join(k for k in "xyz" if k in axis)
        raise SignalFileError(f"{path}: has axis column(s) {have} but not all of x, y, z: "
                              "give the three axes, or one magnitude column (acc_mg)")
    else:
        a = pick_column(cols, None, path, prefer=("acc", "acc_mg", "magnitude"))
    return sample_rate(t, fs, path, "--acc-fs"), a, axes


# mG per unit an axis's name may give: Polar [mg]; Empatica E4's 1/64 g; phones' m/s^2
ACC_UNITS = {None: 1.0, "mg": 1.0, "g": 1000.0, "1/64 g": 1000.0 / 64, "1/64g": 1000.0 / 64,
             "m/s^2": 1000.0 / 9.80665, "m/s2": 1000.0 / 9.80665, "m/s²": 1000.0 / 9.80665}


def _mg(path: str, name: str) -> float:
    unit = base(name)[1]
    if unit not in ACC_UNITS:
        raise SignalFileError(f"{path}: column {name!r}: unit {unit!r} is none of mg, g, "
                              "1/64 g, m/s^2: give the axes in mG")
    return ACC_UNITS[unit]


def tracked(x, fs: float, acc_fs: float, acc) -> dict:
    """Experimental: the heart rate tracked in the PPG's and the accelerometer's spectra
    (edge.ppg_track) and the beats it places while the hand moves (edge.ppg_guide): per
    8-s window its end, HR (None where the tracker is not confident) and whether the hand
    moved; the guided beats (s), how many it placed by its rate, their rate while moving."""
    from empathy.edge.ppg_guide import guided_beats

    if len(acc) / acc_fs < len(x) / fs / 2:
        raise ValueError(f"{len(acc) / acc_fs:.1f} s of accelerometer for "
                         f"{len(x) / fs:.1f} s of PPG: they must start together")
    est: list = []
    idx, guided = guided_beats(x, fs, acc, acc_fs, estimates=est)
    t = idx / fs
    iv = np.diff(t)[guided[1:] & guided[:-1]]
    return {"experimental": True,  # not validated on blind records
            "windows": [[round(n / fs, 1), round(float(h), 1) if c else None, bool(m)]
                        for n, h, m, c in est],
            "beats_s": [round(float(v), 3) for v in t], "guided": int(guided.sum()),
            "moving_hr_bpm": round(60.0 / float(np.mean(iv)), 1) if len(iv) else None}


def cancelled_by(x, fs: float, acc_fs: float, axes):
    """The PPG less what the accelerometer's axes predict of it (`edge.ppg_motion_cancel`),
    the axes laid on the PPG's clock; and for how many seconds something was taken off."""
    from empathy.edge.ppg_motion_cancel import MotionCanceller

    n = min(len(x), int(len(axes) / acc_fs * fs))
    if n < len(x) // 2:
        raise ValueError(f"{len(axes) / acc_fs:.1f} s of accelerometer for "
                         f"{len(x) / fs:.1f} s of PPG: they must start together")
    ta = np.arange(len(axes)) / acc_fs
    on_ppg = np.column_stack([np.interp(np.arange(n) / fs, ta, axes[:, k]) for k in range(3)])
    c = MotionCanceller(fs, 3)
    y = np.concatenate((c.push(x[:n], on_ppg), x[n:]))
    return y, round(c.active_s, 2)
