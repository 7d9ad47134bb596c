"""The heart's part of a seat's arousal against the heart's own (sinus) rate, on real ECG.
`python -m empathy.bench.arousal_heart [RECORD ...] [--set tuning|held-out] [--strap]`.

Each labelled ECG record goes through `SeatFeatures` (baseline BASELINE_S) in 0.1-s chunks,
an estimate a second. At each estimate from SCORE_FROM_S with HR_OK and the heart in the
arousal, the heart's z (`signals["hr"]`) is set against the z, on the seat's own baseline, of
the reference: the annotation's normal-to-normal rate (intervals between two beats labelled
normal, NLRej) ending in the seat's HR window as of the beat it reads (`heard_until`), where
it has 3 such intervals or more (none in bigeminy: not scored). Premature beats and their
pauses are the heart's rhythm, not the viewer's drive; an atrial fibrillation's beats are
labelled N, so its reference is every beat's rate. Per record: estimates scored, |z error|
p50 and p90, and the same for the wire's HR (`hr_bpm`) beside; pooled rows.

`--strap`: the strap rhythms of bench/strap_loss.py (its own generators; nothing lost), a
seat fed their intervals, against the mean rate of every interval ending in the HR window
(none of them is ectopic but bigeminy's, whose pairs make two sinus intervals), and the
share of estimates whose heart is in the arousal.
"""

from __future__ import annotations

import argparse

import numpy as np

BASELINE_S = 30.0
SCORE_FROM_S = 40.0
NORMAL = np.array(list("NLRej"))
T0_US = 10**12


def ecg_seat(x: np.ndarray, fs: float):
    """(record s as of the beat the seat reads, estimate, seat) a second, 0.1-s chunks."""
    from empathy.edge.features import SeatFeatures
    from empathy.sensors.base import Waveform

    f = SeatFeatures(baseline_s=BASELINE_S)
    n = int(round(0.1 * fs))
    for k, i in enumerate(range(0, len(x) - n + 1, n)):
        f.add(Waveform(T0_US + int(i * 1e6 / fs), "ecg", fs, x[i:i + n]))
        if k % 10 == 9:
            now = T0_US + int((i + n) * 1e6 / fs)
            e = f.estimate(now)
            yield (f.waves["ecg"].heard_until(now) - T0_US) / 1e6, e, f


def nn_rate(beats_s: np.ndarray, normal: np.ndarray, t: float, window_s: float) -> float:
    """Mean-interval rate (bpm) of the intervals between two normal beats ending in
    (t - window_s, t]; NaN under 3."""
    k = np.flatnonzero((beats_s > t - window_s) & (beats_s <= t))
    k = k[(k > 0)]
    k = k[normal[k] & normal[k - 1]]
    return 60.0 / float(np.mean(beats_s[k] - beats_s[k - 1])) if len(k) >= 3 else np.nan


def z_errors(rows, rate_at) -> tuple[list, list]:
    """|heart z - reference z| and |wire z - reference z| over (t s, estimate, seat) rows,
    where both exist."""
    from empathy.wire import Flag

    gaps, wire = [], []
    for t, e, f in rows:
        ref = rate_at(t)
        z = f.signals.get("hr")
        if t < SCORE_FROM_S or not e["flags"] & Flag.HR_OK or z is None or np.isnan(ref):
            continue
        b = f.base["hr"]
        gaps.append(abs(z[0] - b.z(ref, True)))
        wire.append(abs(b.z(e["hr_bpm"], True) - b.z(ref, True)))
    return gaps, wire


def ecg_record(name: str) -> tuple[list, list, int] | None:
    from empathy.edge.heart_corpus import annotated_beats, beat_labels, record, record_data
    from empathy.edge.latency import HR_WINDOW_S

    rec = record(name)
    x, fs = record_data(rec)
    beats, lab = annotated_beats(rec, len(x), fs), beat_labels(rec, len(x))
    if lab is None:
        return None
    normal = np.isin(lab, NORMAL)
    gaps, wire = z_errors(ecg_seat(x, fs), lambda t: nn_rate(beats, normal, t, HR_WINDOW_S))
    return gaps, wire, int((~normal).sum())


def strap_case(rhythm: str, seed: int) -> tuple[list, list, float]:
    from empathy.bench.strap_loss import RHYTHMS
    from empathy.edge.features import SeatFeatures
    from empathy.edge.latency import HR_WINDOW_S
    from empathy.sensors.base import Beat

    rr = RHYTHMS[rhythm](240.0, np.random.default_rng(seed))
    t = np.cumsum(rr) / 1000.0

    def rows():
        f, j = SeatFeatures(baseline_s=BASELINE_S), 0
        for now in np.arange(1.0, t[-1], 1.0):
            while j < len(t) and t[j] <= now:
                f.add(Beat(T0_US + int(t[j] * 1e6), float(rr[j])))
                j += 1
            e = f.estimate(T0_US + int(now * 1e6))
            if now >= SCORE_FROM_S:
                felt.append("hr" in f.signals)
            yield now, e, f

    def every(s):
        k = (t > s - HR_WINDOW_S) & (t <= s)
        return 60000.0 / rr[k].mean() if k.sum() >= 3 else np.nan
    felt: list = []
    gaps, wire = z_errors(rows(), every)
    return gaps, wire, float(np.mean(felt))


def _row(name: str, gaps, wire, extra: str) -> str:
    if not gaps:
        return f"{name:16s} n   0 {extra}"
    g, w = np.asarray(gaps), np.asarray(wire)
    return (f"{name:16s} n {len(g):3d}  |z error| p50 {np.median(g):.2f} p90 "
            f"{np.percentile(g, 90):.2f}  (wire {np.median(w):.2f} {np.percentile(w, 90):.2f})"
            f"  {extra}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="*")
    ap.add_argument("--set", choices=("tuning", "held-out"), default="tuning")
    ap.add_argument("--strap", action="store_true")
    a = ap.parse_args(argv)
    pool: tuple[list, list] = ([], [])
    if a.strap:
        for rhythm in ("sinus", "arrhythmia", "af", "bigeminy"):
            for seed in range(3):
                g, w, share = strap_case(rhythm, seed)
                print(_row(f"{rhythm}-{seed}", g, w, f"heart in arousal {share:.2f}"), flush=True)
        return 0
    from empathy.edge.heart_corpus import RECORDS, available

    names = a.records or [r.name for r in RECORDS if r.kind == "ecg" and r.annotation
                          and r.held_out == (a.set == "held-out") and available(r)]
    for name in names:
        got = ecg_record(name)
        if got is None:
            continue  # no beat labels kept (edge/heart_corpus.py)
        g, w, ectopic = got
        pool[0].extend(g)
        pool[1].extend(w)
        print(_row(name, g, w, f"non-normal beats {ectopic}"), flush=True)
    print(_row("pooled", *pool, ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
