"""The heart's own drive for a seat's arousal: the rate of the HR window's intervals clear of
labelled ectopic beats (`HeartWindow.heart_rates`' sinus rate), where that reads the sinus
rhythm better than every beat's rate does."""

from __future__ import annotations

# (np.median: ~15 µs a call on these few values, most of heart_rates' time: bench/heart_rates.py)
from statistics import median

import numpy as np

from empathy.edge.ectopic_beats import EARLY, NORMAL_N

# the heart's arousal reads the rate of the intervals clear of labelled ectopic beats where
# at least this many are left, covering this share of the HR window; else every beat's.
# Trigeminy leaves a third of the window, bigeminy none (its compensatory pairs keep every
# beat's rate near the sinus one). bench/arousal_heart.py, 18 arrhythmic tuning ECG, |heart
# z error| p90: every beat's rate 1.017; (3, 0.5) 0.870; (2, 0.25) 0.671 (with IRREGULAR);
# (4, 0.6) 0.895. Worse: QT sel233 (a PVC one beat in three) 1.06 -> 1.76, until the
# newest early beat was held out too (`newest_early`: 0.99; all tuning ECG pooled 0.36 -> 0.25)
SINUS_LEFT = (2, 0.25)
# ... nor where the intervals clear of those beats step by over this share of their median
# (the median step): an irregular rhythm, whose labels are not ectopy. Tuning records, p10-p90
# at estimates with a label: sinus with ectopy 0.005-0.08; atrial fibrillation 0.10-0.21, a
# strap's AF-like 0.11-0.27; noise (nstdb-118e00) 0.02-0.14, QT sele0114's APCs 0.15-0.24
IRREGULAR = 0.1


def sinus_intervals(rr: np.ndarray, at: np.ndarray, kept_rr: np.ndarray,
                    kept_touching: np.ndarray, joined: np.ndarray) -> np.ndarray | None:
    """The rate's intervals `rr` (`at`: each one's place among the raw intervals kept,
    `kept_rr`) less those that begin or end at a labelled ectopic beat (`kept_touching`: a
    premature beat's coupling interval and its pause, both halves of an interpolated one's)
    and the newest where it ends early (`newest_early`), or None where every beat's rate
    stands: none is left out, or the rhythm is irregular (`irregular`): a strap's labels
    come from timing alone, and an atrial fibrillation's short-long pairs read as premature
    beats (bench/arousal_heart.py --strap, AF-like |z error| p90 0 -> 0.8-1.1 without it).
    Whether enough are left (SINUS_LEFT) is the caller's: it knows the window."""
    out = kept_touching[at] | ((at == len(kept_rr) - 1) & newest_early(kept_rr, kept_touching))
    if not out.any() or irregular(kept_rr, kept_touching, joined):
        return None
    return rr[~out]


def newest_early(rr: np.ndarray, touching: np.ndarray) -> bool:
    """The newest interval ends early (under the labeller's EARLY of the median of the last
    NORMAL_N before it clear of labelled ectopic beats): a premature beat's coupling, whose
    label waits for the next beat (a pause or an on-time one). Read as sinus until then, it
    was the viewer's drive rising for a second at each PVC (tuning |z error| p50 at those
    estimates, MIT-BIH 119 2.52, QT sel233 1.75). Not the labeller's own normal: at the
    series' end its running median is padded with the newest pair, the premature one's
    (sel233 at 50.6 s: 484 ms, the sinus intervals ~570)."""
    clear = rr[:-1][~touching[:-1]][-NORMAL_N:]
    return len(clear) >= 3 and bool(rr[-1] < EARLY * median(clear.tolist()))


def irregular(rr: np.ndarray, touching: np.ndarray, joined: np.ndarray) -> bool:
    """The intervals `rr` clear of labelled ectopic beats (not `touching`, and `joined` to
    the one before) vary from one to the next by over IRREGULAR of their median (the median
    step), as in atrial fibrillation (judged on 5 steps or more)."""
    clean = ~touching & joined
    steps = np.abs(np.diff(rr))[clean[1:] & clean[:-1]]
    return len(steps) >= 5 and median(steps.tolist()) > IRREGULAR * median(rr[clean].tolist())
