"""Evidence from the waveform itself that its 'beats' are a heart's, where beat times and
shape quality can't tell noise from a real but poor or arrhythmic recording (`signal hr`'s
'no heartbeat', hrv.heart_summary's `evidence`).

ECG: random spikes band-pass into beats of one shape (the filter's impulse response), so
their shape quality is high and Poisson intervals now and then look regular; MIT-BIH 106's
V1 (bigeminy) reads the same quality. In the raw samples a spike is one sample that stands
alone, while a QRS has a slope on at least one side of its extreme. A front end's filter
(a 3-sample triangle, a 40-Hz anti-alias low-pass) gives a spike that slope, so a heart is
also asked for a waveform that recurs beside its beats (P and T waves), where spikes
average flat (`recurrence`).
A seat (features._heart) asks the same of its streamed ECG: LoneBeats.
PPG: the waveform's time asymmetry, or its pulses repeating (edge/ppg_evidence.py; a
seat's: PpgEvidence). The repeat alone was tried before, not taken: it told a drifting empty
sensor from every tuning PPG, but held-out bsn-bvp-motion read 0.08 and would have said 'no
heartbeat' (branch wip/noiseheart, commit d98ccb1).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import butter

from empathy.edge.ecg_vouch import ShapeVouch
from empathy.edge.heart_beats import _array_median
from empathy.edge.ppg_evidence import heart_evidence
from empathy.edge.sample_tail import Tail
from empathy.edge import zero_phase

LONE = 0.25  # an ECG beat whose raw extreme has no same-sign neighbour over this share of it
SPIKE_BEATS = 0.5  # ... in over this share of the beats: spikes, not QRS complexes
# a lone extreme beside a QRS (over QRS_MAD median deviations of the raw samples, with a
# slope) is a pacing spike: one-sample spikes before each complex (a board without an
# anti-alias filter) read 0.95 of the paced stress case's beats lone at 250 Hz, and a seat
# on it with PVCs sent no HR_OK; taken out up to SPIKES, random spikes still read >= 0.53
SPIKES, QRS_MAD = 2, 4.0
MAINS_HZ = (50.0, 60.0)  # hum taken off the raw samples before they are judged (_hum)
_HALF_S = 0.06  # an ECG beat's raw extreme is sought within this of it
_BASE_S = 0.3  # ... about the median of the raw samples within this
TAIL_S = 15.0  # a seat's ECG beat is given out up to ~10 s after its samples (LoneBeats)
AROUND_S = ((-0.30, -0.10), (0.10, 0.45))  # beside a beat, clear of its QRS (recurrence)
_LOW_HZ = 20.0  # the samples low-passed first: P and T waves are slower, mains hum faster
# a recording's recurrence under RECUR_MIN is no heart's: every tuning ECG and stress case,
# at its own rate, 130 and 100 Hz, reads 12 or more (MIT-BIH 106's V1), random spikes given
# a slope up to 2.6 (400 cases of 2-tap, triangle, 20/40/60-Hz, 1-kHz board resampling)
RECUR_MIN = 5.0
# a seat's, over its last ROWS_S of beats: its first windows hold ~30 beats, and real ECG
# windows that reached HR_OK under SEAT_BELOW read from 1.9 (MIT-BIH 101 at 130 Hz), spike
# noise up to 2.5-3.0: at 1.5 every tuning ECG keeps each HR_OK estimate. Over 60 s rather
# than the 30-s window a heart reads more (nstdb-118e00 at 130 Hz: 1.6 -> 2.5), noise not.
SEAT_RECUR, ROWS_S = 1.5, 60.0
_EDGE_S = 0.25  # a seat's beat is judged once its stretch is this far from the tail's end


def lone_beats(x, fs: float, idx) -> np.ndarray:
    """Per ECG beat: its raw extreme (about the local median, within 60 ms) stands alone,
    neither neighbour on its side over LONE of it (False where the samples don't reach),
    and no QRS stands beside it: with up to SPIKES such samples taken out, no extreme of
    QRS_MAD median deviations with a slope beside it is left (a pacing spike before its
    complex)."""
    x = np.asarray(x, float)
    h, w = max(2, int(round(_HALF_S * fs))), int(_BASE_S * fs)
    idx = np.asarray(idx, int)
    lone = np.zeros(len(idx), bool)
    for k, i in enumerate(idx):
        a, z = max(1, i - h), min(len(x) - 1, i + h + 1)
        if z <= a:
            continue
        b0 = max(0, i - w)
        base = x[b0:i + w + 1]
        med = _median(base)
        qrs = QRS_MAD * _median(np.abs(base - med))
        d = x[a - 1:z + 1] - med - _hum(base - med, b0, a - 1 - b0, z + 2 - a, fs, i - b0)
        for taken in range(SPIKES + 1):
            p = 1 + int(np.argmax(np.abs(d[1:-1])))
            s = np.sign(d[p])
            if d[p] == 0 or max(s * d[p - 1], s * d[p + 1]) >= LONE * abs(d[p]):
                lone[k] = taken > 0 and abs(d[p]) < qrs
                break
            d[p] = 0.0
        else:
            lone[k] = True
    return lone


def _hum(y: np.ndarray, t0: int, at: int, n: int, fs: float, mid: int) -> np.ndarray:
    """The mains hum (MAINS_HZ, as sampled) over y[at:at + n], fitted to y less the beat's
    own +-_HALF_S (its QRS would pull the fit). Sampled at 100-130 Hz the hum flips sign
    from sample to sample, so each QRS's extreme stood alone: 0.28-1.00 of a tuning ECG's
    beats 'lone' under hum as tall as its R wave."""
    table = _mains_table(fs)
    cols = (table[t0:t0 + len(y)] if t0 + len(y) <= len(table)
            else _mains(np.arange(len(y)) + t0, fs))
    h = max(2, int(round(_HALF_S * fs)))
    fit = np.ones(len(y), bool)
    fit[max(0, mid - h):mid + h + 1] = False  # (|j - mid| > h)
    if fit.sum() < 2 * cols.shape[1]:
        return np.zeros(n)
    coef = np.linalg.lstsq(cols[fit], y[fit], rcond=None)[0]
    return cols[at:at + n] @ coef


def _mains(k: np.ndarray, fs: float) -> np.ndarray:
    """Columns sin and cos of each MAINS_HZ at sample indices k."""
    return np.column_stack([f(2 * np.pi * hz * k / fs) for hz in MAINS_HZ
                            for f in (np.sin, np.cos)])


@lru_cache(maxsize=8)  # (a seat asks once a beat: building the columns cost ~40% of _hum)
def _mains_table(fs: float) -> np.ndarray:
    """_mains over a seat's tail (LoneBeats): a beat's rows are a slice of it, the same bits."""
    table = _mains(np.arange(int(TAIL_S * fs) + 1), fs)
    table.setflags(write=False)
    return table


def _median(v: np.ndarray) -> float:
    """np.median's value (NaN where v holds one) at the cost of a partition: a seat takes
    two a beat."""
    return float(np.median(v)) if np.isnan(v).any() else _array_median(v)


def lone_share(x, fs: float, idx) -> float:
    """Share of an ECG's beats that are `lone_beats`. Tuning ECG at its own rate: none of
    any record's beats; resampled to 100 Hz, at most 0.05 (MIT-BIH 101); the paced stress
    case 0 (0.40, 0.48 at 130 Hz, before a spike beside a QRS was looked past); random-
    spike noise 0.53-1.0 (seeds 0-39), from 0.545 on seeds 40-139."""
    return float(np.mean(lone_beats(x, fs, idx))) if len(idx) else 0.0


class LoneBeats:
    """`lone_beats` and `_beside` for a seat's streamed ECG: the last TAIL_S of raw samples,
    and each beat's verdict and rows with its time over the last `keep_s`."""

    WHY = "ecg_lone_spikes"  # (the unit's stats: a rate withheld by this)

    def __init__(self, fs: float, keep_s: float = 60.0):
        self.fs, self.keep_us = fs, keep_s * 1e6
        self.tail = Tail(int(TAIL_S * fs))
        self.t_us, self.lone = np.zeros(0), np.zeros(0, bool)
        self.wait: list[tuple[int, float]] = []  # beats whose stretch after them is not in yet
        self.row_t, self.rows = np.zeros(0), np.zeros((0, len(_lags(fs))))
        self.vouch = ShapeVouch(fs, ROWS_S)  # beats whose QRS the seat can't vouch for

    def push(self, samples, idx, ts_us) -> None:
        """A chunk's samples, and the beats (stream index, time) the detector gave out."""
        self.tail.push(samples)
        if len(idx):  # (none: the window's verdicts and what waits stand as they are)
            local = np.asarray(idx, int) - self.tail.start()
            inside = local >= 0
            t = np.concatenate((self.t_us, np.asarray(ts_us, float)[inside]))
            lone = np.concatenate((self.lone, lone_beats(self.tail.x(), self.fs, local[inside])))
            keep = t >= t[-1] - self.keep_us if len(t) else np.zeros(0, bool)
            self.t_us, self.lone = t[keep], lone[keep]
            self.wait += zip(np.asarray(idx, int).tolist(), np.asarray(ts_us, float).tolist())
        if self.wait:
            self._rows()

    def shift(self, step_us: float) -> None:
        """The stamps' clock stepped (edge.timebase): the beats' times move with it."""
        self.t_us = self.t_us + step_us
        self.row_t = self.row_t + step_us
        self.wait = [(i, t + step_us) for i, t in self.wait]
        self.vouch.shift(step_us)

    def _rows(self) -> None:
        """`_beside` rows of the waiting beats whose stretch is in (the low-pass run over
        their span of the tail)."""
        lags, start = _lags(self.fs), self.tail.start()
        end = self.tail.n - int(_EDGE_S * self.fs) - lags[-1]
        ready = [w for w in self.wait if w[0] < end]
        self.wait = [w for w in self.wait if w[0] >= end]
        ready = [(i - start, t) for i, t in ready if i - start + lags[0] >= 0]
        if not ready:
            return
        x = self.tail.x()
        self.vouch.add(x, [i for i, _ in ready], [t for _, t in ready])
        a = max(0, min(i for i, _ in ready) + lags[0] - int(_EDGE_S * self.fs))
        rows = _beside(_low(x[a:], self.fs), self.fs, [i - a for i, _ in ready])
        t = np.concatenate((self.row_t, [t for _, t in ready]))
        rows = np.concatenate((self.rows, rows))
        keep = t >= t[-1] - ROWS_S * 1e6
        self.row_t, self.rows = t[keep], rows[keep]

    def doubt(self, at_us: float, window_s: float) -> bool:
        """A beat of the window the seat can't vouch for (ecg_vouch): withhold HR."""
        return self.vouch.doubt(at_us, window_s)

    def no_heart(self, now_us: float, window_s: float) -> bool:
        """Over SPIKE_BEATS of the window's beats are lone (spikes, not QRS complexes), or
        their rows' recurrence is under SEAT_RECUR (no shape recurs beside them)."""
        w = self.lone[self.t_us >= now_us - window_s * 1e6]
        rows = self.rows[self.row_t >= now_us - ROWS_S * 1e6]
        return bool(len(w)) and (float(np.mean(w)) > SPIKE_BEATS
                                 or recurrence(rows, self.fs) < SEAT_RECUR)


@lru_cache(maxsize=8)  # (read at every chunk: not to be changed by a caller)
def _lags(fs: float) -> np.ndarray:
    lags = np.concatenate([np.arange(int(round(a * fs)), int(round(b * fs)) + 1)
                           for a, b in AROUND_S])
    lags.setflags(write=False)
    return lags


@lru_cache(maxsize=8)  # (a seat asks per chunk: designing them took ~0.5 ms a beat)
def _line_fit(fs: float) -> np.ndarray:
    """The projection onto a straight line over _lags."""
    line = np.column_stack([np.ones(len(_lags(fs))), _lags(fs) / fs])
    return line @ np.linalg.pinv(line)


@lru_cache(maxsize=8)
def _sos(fs: float) -> tuple[np.ndarray, np.ndarray, int]:
    """The low-pass, planned for zero_phase.filtfilt."""
    return zero_phase.plan(butter(2, min(_LOW_HZ, 0.4 * fs), fs=fs, output="sos"))


def _less_line(rows: np.ndarray, fs: float) -> np.ndarray:
    """Each row (over _lags) less its own least-squares straight line."""
    return rows - rows @ _line_fit(fs).T


def _low(x, fs: float) -> np.ndarray:
    x = np.asarray(x, float)
    return zero_phase.filtfilt(_sos(fs), x - _median(x)) if len(x) > 30 else np.zeros(len(x))


def _beside(y: np.ndarray, fs: float, idx) -> np.ndarray:
    """Rows of the low-passed samples y at AROUND_S of each beat (those inside y), each less
    its own straight line (a wandering baseline)."""
    lags, idx = _lags(fs), np.asarray(idx, int)
    idx = idx[(idx + lags[0] >= 0) & (idx + lags[-1] < len(y))]
    return _less_line(y[idx[:, None] + lags[None, :]], fs)


def recurrence(rows: np.ndarray, fs: float) -> float:
    """How far the beats' median row (`_beside`), less its straight line, stands from flat:
    the mean over lags of its square over its standard error's square (median absolute
    deviations over the beats). Noise around random spikes averages flat, about 1."""
    if len(rows) < 4:
        return float("inf")
    med = np.median(rows, axis=0)
    shape = _less_line(med[None, :], fs)[0]
    se = 1.2533 * 1.4826 * np.median(np.abs(rows - med), axis=0) / np.sqrt(len(rows))
    return float(np.mean((shape / np.maximum(se, 1e-12)) ** 2))


def waveform_evidence(x, fs: float, idx, kind: str, still=None) -> bool:
    """Whether the waveform looks like a heart's: an ECG's beats few lone spikes, with a
    shape that recurs beside them; a PPG's rises and falls unlike (ppg_evidence; where
    `still`, a mask of the samples an accelerometer found still, if any)."""
    if kind == "ppg":
        return heart_evidence(x, fs, idx, still)
    return kind != "ecg" or (lone_share(x, fs, idx) <= SPIKE_BEATS
                             and recurrence(_beside(_low(x, fs), fs, idx), fs) >= RECUR_MIN)
