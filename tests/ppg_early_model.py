"""Premature beats laid on a clean tuning PPG, for tests/test_heart_ppg_early.py.

A model of what the fresh BIDMC records showed (heart_passes.md, thirty-third pass) that
shares nothing with the detector: the pulses are the record's own, found on the waveform
from its ECG's R peaks (the highest sample near each, the lowest between two). A premature
beat's pulse starts `frac` of the interval after the pulse before (its foot on that pulse's
falling tail), is that pulse's shape above its chord scaled by `scale` (a short filling:
a small stroke), and the next pulse comes where it did (a compensatory pause), the tail
under it going straight on to that pulse's foot.
"""

from __future__ import annotations

import numpy as np

from empathy.edge.beat_score import in_spans, t_wave_free
from empathy.edge.heart_corpus import (annotated_beats, record, record_data, reference_lead,
                                       trusted_spans)

NEAR_S = 0.15  # an R peak's pulse top lies within this of it plus the record's pulse lag
LAG_S = 1.0  # the lag is looked for up to this long after the R peaks
EVERY = 9  # one pulse in this many is made premature
STEADY = 0.2  # where the intervals either side are within this of the median (no span's gap)


def pulses(name: str):
    """(x, fs, trusted spans, pulse tops, feet) of a tuning record: each trusted R peak's
    pulse top (the highest sample within NEAR_S of it plus the lag where the R-aligned mean
    pulse peaks) and each top's foot (the lowest sample since the top before)."""
    rec = record(name)
    assert not rec.held_out
    x, fs = record_data(rec)
    x = np.asarray(x, float)
    spans = trusted_spans(rec)
    r, _ = t_wave_free(annotated_beats(rec, len(x), fs), reference_lead(rec), fs)
    r = np.round(in_spans(r, spans) * fs).astype(int)
    r = r[(r > round(NEAR_S * fs)) & (r < len(x) - round((LAG_S + NEAR_S) * fs))]
    lag = int(np.argmax(np.mean([x[i:i + round(LAG_S * fs)] for i in r], axis=0)))
    near = round(NEAR_S * fs)
    tops = np.unique([c - near + int(np.argmax(x[c - near:c + near + 1])) for c in r + lag])
    feet = np.array([a + int(np.argmin(x[a:b])) for a, b in zip(tops[:-1], tops[1:])])
    return x, fs, spans, tops[1:], feet


def premature(x, tops, feet, k: int, frac: float, scale: float, after: int | None = None):
    """x with pulse k (tops[k], its foot feet[k]) made premature, as the module says, `frac`
    of the interval after the top before (or after `after`: a run's pulse before it);
    returns (new x, its top). The pulses either side must be in x's trusted spans."""
    x = x.copy()
    f0, f1 = feet[k], feet[k + 1]  # pulse k's foot and the next pulse's foot
    shape = x[f0:f1] - np.linspace(x[f0], x[f1], f1 - f0)  # above its chord
    after = tops[k - 1] if after is None else after
    start = after + round(frac * (tops[k] - tops[k - 1])) - (tops[k] - f0)
    seg = np.linspace(x[start], x[f1], f1 - start)  # the falling tail, straight on
    n = min(len(shape), len(seg))
    seg[:n] += scale * shape[:n]
    x[start:f1] = seg
    return x, start + (tops[k] - f0)


def with_premature(name: str, frac: float, scale: float, then: float = 0.0,
                   every: int = EVERY, bpm: float | None = None):
    """A tuning record with one pulse in `every` made premature (where the rhythm around it
    is steady): (x, fs, trusted spans, every pulse top in s, the premature ones' in s).
    `then`: a run of two, the next pulse too made premature, `then` of its interval after
    the first (as small); the one after it comes where it did (a pause). `every` 2: every
    other pulse small (bigeminy with weak pulses; `frac` 1: pulsus alternans). `bpm`: the
    record played faster or slower, its median interval that rate's (a faster heart; same
    sample rate)."""
    x, fs, spans, tops, feet = pulses(name)
    iv = np.diff(tops)
    med = float(np.median(iv))
    truth, early = tops.astype(float), []
    run = int(then > 0)  # (a run's second pulse and the one after it steady too)
    for k in range(2, len(tops) - 2 - run, every):
        if np.all(np.abs(iv[k - 2:k + 2 + run] - med) <= STEADY * med):
            x, truth[k] = premature(x, tops, feet, k, frac, scale)
            early.append(truth[k])
            if then:
                x, truth[k + 1] = premature(x, tops, feet, k + 1, then, scale, int(truth[k]))
                early.append(truth[k + 1])
    speed = 1.0 if bpm is None else bpm / 60 * med / fs  # (med: samples per interval)
    if speed != 1.0:
        x = np.interp(np.arange(0, len(x) - 1, speed), np.arange(len(x)), x)
    return (x, fs, np.asarray(spans) / speed, truth / fs / speed,
            np.array(early) / fs / speed)
