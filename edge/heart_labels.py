"""A seat's beat labels: which of the raw beats a heart window keeps (edge/heart_window.py)
are ectopic or misplaced, labelled as the batch summary labels them (edge/hrv.py)."""

from __future__ import annotations

import numpy as np

from empathy.edge.ectopic_beats import doubtful_beats, slope_match
from empathy.edge.hrv import labelled_artefacts


def label_runs(beats: tuple, beats0: int, found: dict[int, str], run_labels: dict,
               width: int, cycles: bool) -> tuple:
    """`labelled_artefacts` over the raw beats kept, run by run (no interval spans a
    break), from their intervals (a strap's stamps jitter, its intervals don't). An
    ECG's shape is shape_match's, from its beats' slope rows (the stream keeps no
    samples) against the on-time beats kept: the batch summary's, with a template of
    the last keep_s + RAW_MARGIN_S. It was the beats' quality (0..1: the opposite-shape
    rule never fired): seat labels found (tuning) mitdb-109 0 -> 8 of 9 ectopic beats,
    200 80 -> 120 of 129 (`signal hr` 8, 120), no false one more. A strap's by timing
    alone; a PPG's between pulse-shaped beats, as the batch summary labels a PPG's.
    `beats`, `beats0`, `found`, `width`, `cycles`: the window's (HeartWindow.__init__);
    `run_labels`: the last call's runs, by their inputs. Returns, per raw interval kept,
    whether it ends at an ectopic beat; the labels (raw index, type); the runs' labels
    for the next call; whether it begins or ends at an ectopic beat; whether its raw
    value stands (see HeartWindow.hrv_window); whether it begins or ends at an ECG's or a
    strap's beat left in doubt (`doubtful_beats`: no NN for its HRV)."""
    t, rr, iq, q_end, joined, rows = beats
    end = np.zeros(len(rr), bool)
    labelled = []
    misplaced = np.zeros(len(rr), bool)
    doubt = np.zeros(len(rr), bool)
    starts = np.concatenate((np.flatnonzero(~joined[1:]) + 1, [len(rr)]))
    a, memo = 0, {}  # a run's labels by its inputs: a run before a break stays as it was
    for b in starts[starts > 0].tolist():
        g0 = beats0 + a
        mine = [(i - g0, k) for i, k in found.items() if g0 <= i < beats0 + b]
        # keyed by what its beat times, qualities and rows are made of (building them for
        # every run at every beat cost more than looking them up)
        key = (t[a:a + 1].tobytes(), rr[a:b].tobytes(), iq[a:a + 1].tobytes(),
               q_end[a:b].tobytes(), rows[a, 0].tobytes(), rows[a:b, 1].tobytes(), tuple(mine))
        if key not in run_labels:
            beat_s = (t[a] - rr[a] * 1e3
                      + np.concatenate(([0.0], np.cumsum(rr[a:b]) * 1e3))) / 1e6
            q = np.concatenate((iq[a:a + 1], q_end[a:b]))
            u = np.concatenate((rows[a:a + 1, 0], rows[a:b, 1]))  # (ECG: the run's first
            # beat's slope row, then each interval's last beat's; a strap's: timing alone)
            shape = slope_match(u, beat_s) if width else None
            run_labels[key] = (labelled_artefacts(beat_s, mine, shape, None if cycles else q),
                               doubtful_beats(beat_s, shape) - 1 if cycles else np.zeros(0, int))
        memo[key] = run_labels[key]
        doubt[a + memo[key][1]] = True
        for i, k in memo[key][0]:
            end[a + i] |= k == "ectopic"
            misplaced[a + i] |= k == "misplaced"
            labelled.append((g0 + i, k))
        a = b
    touching, doubt = _touching(end, joined), _touching(doubt, joined)
    near = touching.copy()
    near[1:] |= touching[:-1]
    near[:-1] |= touching[1:]
    return end, labelled, memo, touching, misplaced & near, doubt


def _touching(end: np.ndarray, joined: np.ndarray) -> np.ndarray:
    """Per raw interval, whether it ends at a beat of `end`'s, or begins at one (joined)."""
    out = end.copy()
    out[1:] |= joined[1:] & end[:-1]
    return out
