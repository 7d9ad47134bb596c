"""`signal hr --acc FILE`: an accelerometer recorded with the heart signal, in mG, as a
magnitude column or three axes named x, y, z (with their unit, as exports write them)."""

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
