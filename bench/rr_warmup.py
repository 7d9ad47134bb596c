"""The RR corrector's first intervals: false flags and early sensitivity by position.
`python -m empathy.bench.rr_warmup [--seat] [--held-out]`.

A series' first intervals are judged against thresholds from the few intervals seen so far
(edge/rr_artefacts.py). Artefact-free real series, cut into pieces of PIECE that start
every STEP intervals (each piece a fresh corrector, as a viewer's session starts one): the
corpus page's RR series cleaned by NeuroKit2 (edge/rr_validation.py; the intervals
NeuroKit2 still doubts left out of the count), and the annotation's runs of NN intervals
(every beat normal) on ECG records with beat labels. Prints the share of intervals flagged
per position in the piece (1-10, 11-20, 21-40, 41-90, 91+: the thresholds' window full),
and the sensitivity to one artefact per piece injected at a random position of each bin
(rr_validation.inject_at), flagged within one interval. `--seat`: a strap's first minute
instead (the annotation's beats, every one, as a strap's RR into `SeatFeatures`, a session
starting every SEAT_STEP_S s of each labelled ECG record that has 90 s after it): the
share of estimates (one a second) with HRV_OK, and |RMSSD - the annotation's NN RMSSD over
the seat's window| / it (bench/seat_hrv.py's reference) at the HRV_OK ones, its median,
p75 and p90, pooled (the seat learns the viewer's resting baseline in this minute). Tuning
records unless --held-out (score those once, after a change).
"""

from __future__ import annotations

import argparse

import numpy as np

BINS = ((0, 10), (10, 20), (20, 40), (40, 90), (90, None))  # 0-based positions in a piece
SEAT_S, SEAT_STEP_S = 60.0, 10.0
PIECE, STEP = 150, 5  # (sessions start anywhere: a start every 5 intervals)
SE_EVERY = 5  # injections in every 5th piece


def labelled(held_out: bool):
    """(name, beat times s, labels) of the ECG records with beat labels."""
    from empathy.edge.heart_corpus import (RECORDS, annotated_beats, available, beat_labels,
                                           record_data)

    for rec in RECORDS:
        if rec.kind != "ecg" or rec.held_out != held_out or not available(rec):
            continue
        x, fs = record_data(rec)
        lab = beat_labels(rec, len(x))
        if lab is not None:
            yield rec.name, annotated_beats(rec, len(x), fs), lab


def nn_runs(held_out: bool) -> dict:
    """name -> list of runs (RR ms) of consecutive NN intervals of at least PIECE."""
    from empathy.bench.seat_hrv import NORMAL

    out = {}
    for name, t, lab in labelled(held_out):
        ok = np.array([a in NORMAL and b in NORMAL for a, b in zip(lab[:-1], lab[1:])])
        rr = np.diff(t) * 1000.0
        edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(int), [0]))))
        runs = [rr[a:b] for a, b in zip(edges[::2], edges[1::2]) if b - a >= PIECE]
        if runs:
            out[name] = runs
    return out


def rr_bases(held_out: bool) -> dict:
    """name -> ([cleaned series], suspects): the corpus page's RR series (tuning only)."""
    if held_out:
        return {}
    from empathy.edge.heart_validation import rr_series
    from empathy.edge.rr_validation import base_suspects

    return {k: ([v], base_suspects(v)) for k, v in rr_series().items()}


def pieces(runs: list, suspects=frozenset()):
    """(piece, set of its positions not known clean) from each run."""
    for rr in runs:
        for s in range(0, len(rr) - PIECE + 1, STEP):
            yield rr[s:s + PIECE], {i - s for i in suspects if s <= i < s + PIECE}


def false_flags(runs: list, suspects=frozenset()) -> np.ndarray:
    """Per bin: [flags, intervals counted]."""
    from empathy.edge.rr_artefacts import rr_correct

    counts = np.zeros((len(BINS), 2), int)
    for p, odd in pieces(runs, suspects):
        flagged = {i for i, _ in rr_correct(p).artefacts} - odd
        for b, (lo, hi) in enumerate(BINS):
            span = set(range(lo, hi or len(p))) - odd
            counts[b] += (len(flagged & span), len(span))
    return counts


def early_se(runs: list, seeds: int = 3) -> np.ndarray:
    """Per bin: [found, injected], one artefact per piece at a random place in the bin."""
    from empathy.edge.rr_artefacts import rr_correct
    from empathy.edge.rr_validation import inject_at

    counts = np.zeros((len(BINS), 2), int)
    for k, (p, _) in enumerate(list(pieces(runs))[::SE_EVERY]):
        for seed in range(seeds):
            rng = np.random.default_rng(1000 * k + seed)
            for b, (lo, hi) in enumerate(BINS):
                at = int(rng.integers(max(lo, 1), (hi or len(p) - 4)))
                bad, w = inject_at(p, rng, at)
                flagged = {i for i, _ in rr_correct(bad).artefacts}
                counts[b] += (bool(flagged & {w - 1, w, w + 1}), 1)
    return counts


def seat_first_minute(held_out: bool) -> tuple[list, list]:
    """(HRV_OK per estimate, |RMSSD error| per HRV_OK estimate), strap sessions pooled."""
    from empathy.bench.seat_hrv import T0_US, reference_rmssd
    from empathy.edge.features import SeatFeatures
    from empathy.edge.latency import HRV_WINDOW_S
    from empathy.sensors.base import Beat
    from empathy.wire import Flag

    ok, err, seen = [], [], []
    for _, ann, lab in labelled(held_out):
        if any(len(a) == len(ann) and np.allclose(a, ann) for a in seen):
            continue  # (the noise stress records share MIT-BIH 118's beats)
        seen.append(ann)
        for start in np.arange(ann[0], ann[-1] - SEAT_S - 30.0, SEAT_STEP_S):
            k = np.flatnonzero(ann >= start)[0]
            beats = ann[k:ann.searchsorted(start + SEAT_S)]
            seat, last = SeatFeatures(baseline_s=SEAT_S), 0.0
            for a, b in zip(beats[:-1], beats[1:]):
                now = T0_US + int(round((b - beats[0]) * 1e6))
                seat.add(Beat(now, (b - a) * 1000.0))
                if b - last < 1.0:
                    continue
                last = b
                e = seat.estimate(now)
                ok.append(bool(e["flags"] & Flag.HRV_OK))
                if not ok[-1]:
                    continue
                iv, _ = seat.strap.hrv_window(now, HRV_WINDOW_S)
                t0 = iv.t_s[0] - iv.rr_ms[0] / 1000.0 - T0_US / 1e6 + beats[0]
                t1 = iv.t_s[-1] - T0_US / 1e6 + beats[0]
                ref = reference_rmssd(ann, lab, t0 - 0.05, t1 + 0.05)
                if np.isfinite(ref):
                    err.append(abs(e["rmssd_ms"] - ref) / ref)
    return ok, err


def _row(name: str, c: np.ndarray) -> str:
    return f"{name:26s} " + " ".join(
        f"{100 * a / n:6.2f}% ({a:4d}/{n:5d})" if n else "      -" for a, n in c)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--held-out", action="store_true")
    ap.add_argument("--seat", action="store_true", help="a strap's first minute in a seat")
    a = ap.parse_args(argv)
    if a.seat:
        ok, err = seat_first_minute(a.held_out)
        print(f"strap sessions' first {SEAT_S:.0f} s: {len(ok)} estimates, HRV_OK "
              f"{np.mean(ok):.3f}; |RMSSD err| median {np.median(err):.3f} p75 "
              f"{np.percentile(err, 75):.3f} p90 {np.percentile(err, 90):.3f} ({len(err)})")
        return
    print(f"{'positions':26s} " + " ".join(f"{lo + 1:>3d}-{hi or '':<3}".ljust(21)
                                           for lo, hi in BINS))
    groups = {"RR series (NeuroKit2-clean)": rr_bases(a.held_out),
              "annotated NN runs": {k: (v, frozenset()) for k, v in nn_runs(a.held_out).items()}}
    for title, series in ((t, s) for t, s in groups.items() if s):
        ff, se = np.zeros((len(BINS), 2), int), np.zeros((len(BINS), 2), int)
        for name, (runs, odd) in series.items():
            f = false_flags(runs, odd)
            ff += f
            se += early_se(runs)
            print(_row(f"  {name} false", f), flush=True)
        print(_row(f"{title}: false flags", ff))
        print(_row(f"{title}: Se", se), flush=True)


if __name__ == "__main__":
    main()
