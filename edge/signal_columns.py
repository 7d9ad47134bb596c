"""What a recorded file's column names say: which is the clock (and in what unit), which
holds a heart waveform, and which holds something else a user may hand `signal hr` by mistake.
Names are read as exports write them: 'Time (s)', 'sensor timestamp [ns]', 'ecg [uV]'."""

from __future__ import annotations

import re

# beyond any sensor's count or any clock (nanoseconds since 1970 are 1.8e18): a unit or
# export fault, which would overflow the detectors' squares (e.g. 1e300)
LIMIT = 1e20
MAX_COLUMNS = 4096  # a table's: a 256-channel EEG fits; a million names took minutes


class SignalFileError(ValueError):
    pass


# names that are a clock by themselves: seconds per unit, None for ISO 8601 date and time
TIME_COLUMNS = {"time": 1.0, "t": 1.0, "time_s": 1.0, "t_s": 1.0, "seconds": 1.0,
                "time_ms": 1e-3, "timer": 1e-3, "ms": 1e-3, "ts_us": 1e-6, "time_us": 1e-6,
                # HRV Logger's RR.csv: 'date, rr, since start' (ms from the first beat)
                "since start": 1e-3, "since_start": 1e-3,
                "datetime": None, "timestamp": None, "phone timestamp": None, "date": None}
# names that are a clock when a unit follows them: 'Time (s)', 'sensor timestamp [ns]'
CLOCKS = ("time", "t", "timestamp", "sensor timestamp", "elapsed time", "elapsed")
UNITS = {"s": 1.0, "sec": 1.0, "secs": 1.0, "seconds": 1.0, "ms": 1e-3, "msec": 1e-3,
         "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ns": 1e-9}
_UNIT = re.compile(r"^(.*?)\s*[\[(]\s*([^\])]*?)\s*[\])]$")

# a waveform's first word, by kind: what `signal hr` reads when no --column says
HEART = {"ecg": ("ecg", "ekg", "mlii", "ii", "v1", "v2", "v5", "lead"),
         "ppg": ("ppg", "bvp", "pleth", "pulse")}
# first words of what is no heart waveform, and what to do with it
NOT_HEART = {"pupil": "a pupil diameter: use `empathy signal pupil`",
             "diameter": "a pupil diameter: use `empathy signal pupil`",
             "eda": "skin conductance (EDA), not a heart signal",
             "gsr": "skin conductance (EDA), not a heart signal",
             "scl": "skin conductance (EDA), not a heart signal",
             "temp": "a skin temperature, not a heart signal",
             "resp": "respiration, not a heart signal",
             "acc": "an accelerometer: give it as --acc FILE",
             "xyz": "an accelerometer: give it as --acc FILE",
             "eeg": "EEG, not a heart signal", "emg": "EMG, not a heart signal",
             "eog": "EOG, not a heart signal", "pzt": "respiration, not a heart signal",
             "lux": "a light sensor, not a heart signal",
             "hr": "a heart-rate series, not a waveform: give the beat-to-beat file (RR/IBI) "
                   "with --kind rr",
             "spo2": "an oxygen saturation (SpO2), not a heart signal",
             "sao2": "an oxygen saturation (SpO2), not a heart signal",
             **dict.fromkeys(("rr", "ibi", "nni", "pp", "ppi"), "RR intervals, not a "
                             "waveform: use `empathy signal hrv FILE --kind rr`")}
# a rate, whatever its first word: a pulse oximeter's 'Pulse Rate' beside its 'Pleth'
RATE_NAME = re.compile(r"(heart|pulse)[\s_-]*rate\b.*|.*\bbpm\b.*")


def base(name: str) -> tuple[str, str | None]:
    """('time', 's') of 'Time (s)'; (name, None) where no unit follows it."""
    m = _UNIT.match(name.strip().lower())
    return (m.group(1), m.group(2)) if m else (name.strip().lower(), None)


def time_scale(name: str) -> float | None | bool:
    """Seconds per unit of a clock column, None for date and time stamps, False: no clock."""
    b, unit = base(name)
    if unit is not None and b in CLOCKS + tuple(TIME_COLUMNS):
        return UNITS.get(unit, False)
    return TIME_COLUMNS.get(b, False)


def clock(names: list[str]) -> int | None:
    """The column to time samples by: one in a stated unit first (a sensor's own clock,
    e.g. Polar's 'sensor timestamp [ns]'), then a named one, then date and time stamps
    (a phone's, stamped per frame of samples as it arrives)."""
    scales = [time_scale(h) for h in names]
    for want in (lambda k: base(names[k])[1] is not None and scales[k],
                 lambda k: scales[k] is not False and scales[k] is not None,
                 lambda k: scales[k] is None):
        k = next((k for k in range(len(names)) if want(k)), None)
        if k is not None:
            return k
    return None


def _word(name: str) -> str:
    return (re.split(r"[^a-z0-9µ]+", base(name)[0]) + [""])[0]


def heart_like(names, kind: str) -> str | None:
    """The first column whose name says it holds this kind of waveform."""
    return next((h for h in names if _word(h).startswith(HEART.get(kind, ()))
                 and not not_heart(h)), None)  # 'pulse rate' is none


def waveform_kind(name: str) -> str | None:
    """'ecg' or 'ppg' where the name says which waveform a column holds."""
    return next((k for k in HEART if heart_like([name], k)), None)


def not_heart(name: str) -> str | None:
    """Why a column of this name is no heart waveform (None: it may be one)."""
    w, unit = _word(name), base(name)[1]
    if RATE_NAME.fullmatch(base(name)[0]) or unit in ("bpm", "1/min"):
        return NOT_HEART["hr"]
    if w in ("x", "y", "z"):
        return NOT_HEART["acc"]
    return next((why for k, why in NOT_HEART.items()
                 if w == k or (len(k) > 2 and w.startswith(k))), None)
