"""A seat's wire HR (hr_bpm with HR_OK) on real ECG and PPG records against the corpus's
reference over the seat's own HR window.
`python -m empathy.bench.seat_hr [RECORD ...] [--kind ecg|ppg] [--set tuning|held-out] [--json]`.

Each record goes through `SeatFeatures` in 0.1 s chunks as the runtime feeds it
(bench/seat_hrv.py's `seat_stream`; a wrist record's accelerometer with it, as kind "acc"),
an estimate a second from WARMUP_S on. The reference at an estimate: the mean-interval rate
of the reference's intervals that end in the seat's HR window (the last HR_WINDOW_S s, as
`HeartWindow.hr_bpm` reads it). The reference is the corpus's: the expert annotation; for a
PPG record with a simultaneous ECG, its R peaks less T waves (`t_wave_free`) shifted by the
record's pulse lag (`lagged_match` of the batch detector's beats), its intervals inside one
trusted span only, where they cover COVER of the window or more; else the peers' consensus,
inside its `plausible_spans`. Estimates whose window has no trusted reference are not
scored. Per record: the time of the first HR_OK (s from the record's start, scored or not:
what a viewer waits), estimates scored, the share with HR_OK, the median error (seat - ref,
bpm) of the HR_OK ones with a 95 % interval (block bootstrap over BLOCK_S blocks: a second's
estimate shares most of its window with the next), |error| p90, and the same two for the
batch detector's beats at those estimates (`signal hr`'s, their raw mean-interval rate over
the same window): a seat error the batch beats don't have lies in the seat's window, not in
detection. Pooled rows by kind.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from empathy.bench.seat_hrv import T0_US, seat_stream
from empathy.edge.hrv import WINDOW_S

WARMUP_S = WINDOW_S  # a seat's quality is judged over this much at least (HeartWindow):
# its first HR_OK, clean ECG and PPG records, came at 6-10 s
BLOCK_S = 30.0
COVER = 0.5  # of the HR window: a record's trusted reference intervals that score it
BOOT = 2000


def reference(rec, x: np.ndarray, fs: float, batch_s: np.ndarray):
    """(reference beats in s on the record's (PPG: pulse) time, trusted spans there or None:
    all of it, pulse lag in s)."""
    from empathy.edge.beat_score import (lagged_match, peer_beats, plausible_spans,
                                         reference as consensus_of, t_wave_free)
    from empathy.edge.heart_corpus import (annotated_beats, peer_cache_dir, reference_lead,
                                           trusted_spans)

    ann, spans = annotated_beats(rec, len(x), fs), trusted_spans(rec)
    if spans is not None:  # a PPG's simultaneous ECG: its beats where the pulses come
        ann = t_wave_free(ann, reference_lead(rec), fs)[0]
        lag = lagged_match(ann, batch_s, spans)[1]
        return ann + lag, spans + lag, lag
    if ann is not None:
        return ann, None, 0.0
    ref = consensus_of(peer_beats(x, fs, rec.kind, peer_cache_dir()))
    return ref, plausible_spans(ref), 0.0


def window_rate(beats_s: np.ndarray, t: float, window_s: float, spans=None) -> float:
    """Mean-interval rate (bpm) of the intervals ending in (t - window_s, t]; of those with
    both beats in one of `spans` (None: all trusted), NaN where those cover under COVER of
    the window. beats_s in time order (an interval ends at each beat)."""
    lo, hi = np.searchsorted(beats_s, (t - window_s, t), "right")  # (a strap run asks ~2000 times)
    k = np.arange(max(lo, 1), hi)
    if spans is not None:
        a, b = beats_s[k - 1], beats_s[k]
        k = k[np.any((a[:, None] >= spans[:, 0]) & (b[:, None] <= spans[:, 1]), axis=1)]
    iv = beats_s[k] - beats_s[k - 1]
    if not len(k) or (spans is not None and iv.sum() < COVER * window_s):
        return float("nan")
    return 60.0 / (float(iv.sum()) / len(iv))  # (np.mean's bits, without its overhead)


def batch_beats(x: np.ndarray, fs: float, kind: str) -> np.ndarray:
    """The batch detector's beats (s) as `signal hr` finds them (a PPG turned upright)."""
    from empathy.edge.heart import waveform_peaks

    if kind == "ppg":
        from empathy.edge.ppg_polarity import oriented

        x = oriented(x, fs)[0]
    return waveform_peaks(x, fs, kind).idx / fs


def block_ci(err: np.ndarray, block: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95 % interval of the median of err, resampling whole blocks (ids in `block`)."""
    ids = np.unique(block)
    if len(err) < 2 or len(ids) < 2:
        return float("nan"), float("nan")
    groups = [err[block == b] for b in ids]
    rng = np.random.default_rng(seed)
    meds = [np.median(np.concatenate([groups[i] for i in rng.integers(0, len(ids), len(ids))]))
            for _ in range(BOOT)]
    return float(np.percentile(meds, 2.5)), float(np.percentile(meds, 97.5))


def record_rows(name: str, window_s: float | None = None) -> dict:
    """Every scored estimate of a record: time (s), HR_OK, seat, reference and batch bpm."""
    from empathy.edge.heart_corpus import motion_mag, record, record_data
    from empathy.edge.latency import HR_WINDOW_S
    from empathy.wire import Flag

    window_s = window_s or HR_WINDOW_S
    rec = record(name)
    x, fs = record_data(rec)
    acc = motion_mag(rec)
    acc_mg = None if acc is None else acc / 9.80665 * 1000.0
    batch = batch_beats(x, fs, rec.kind)
    ref, spans, lag = reference(rec, x, fs, batch)
    rows, first = [], None
    for now, e, _ in seat_stream(x, fs, 1.0, rec.kind, acc_mg):
        t = (now - T0_US) / 1e6
        if first is None and e["flags"] & Flag.HR_OK:
            first = t
        r = window_rate(ref, t, window_s, spans)
        if t < WARMUP_S or np.isnan(r):
            continue
        rows.append((t, bool(e["flags"] & Flag.HR_OK), e["hr_bpm"], r,
                     window_rate(batch, t, window_s)))
    return {"record": name, "kind": rec.kind, "held_out": rec.held_out, "lag_s": lag,
            "first_ok_s": first, "rows": np.array(rows, float).reshape(-1, 5)}


def summary(name: str, kind: str, rows: np.ndarray, block: np.ndarray) -> dict:
    """The figures of a set of estimates (rows as record_rows', blocks as block_ci's)."""
    ok = rows[:, 1] > 0
    err = rows[ok, 2] - rows[ok, 3]
    berr = rows[ok, 4] - rows[ok, 3]
    berr = berr[~np.isnan(berr)]
    lo, hi = block_ci(err, block[ok])

    def q(v, f):
        return round(float(f(v)), 2) if len(v) else None
    return {"record": name, "kind": kind, "scored": len(rows),
            "hr_ok": round(float(ok.mean()), 3) if len(rows) else None,
            "err_median": q(err, np.median), "ci95": [round(lo, 2), round(hi, 2)],
            "abs_p90": q(np.abs(err), lambda v: np.percentile(v, 90)),
            "batch_median": q(berr, np.median),
            "batch_abs_p90": q(np.abs(berr), lambda v: np.percentile(v, 90))}


def names_for(kind: str | None, which: str) -> list[str]:
    from empathy.edge.heart_corpus import RECORDS, available

    return [r.name for r in RECORDS if r.kind in ("ecg", "ppg") and (kind is None or r.kind == kind)
            and r.held_out == (which == "held-out") and available(r)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="*")
    ap.add_argument("--kind", choices=("ecg", "ppg"))
    ap.add_argument("--set", choices=("tuning", "held-out"), default="tuning")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    try:
        from empathy.edge.heart_corpus import record

        names = a.records or names_for(a.kind, a.set)
        for n in names:
            if record(n).kind not in ("ecg", "ppg"):
                raise KeyError(f"{n} is an RR series, not a waveform")
    except KeyError as e:
        print(f"seat_hr: {e.args[0]}", file=sys.stderr)
        return 2
    out, pool = [], {}
    for n in names:
        r = record_rows(n)
        block = np.floor(r["rows"][:, 0] / BLOCK_S)
        s = summary(n, r["kind"], r["rows"], block)
        s["lag_s"] = round(r["lag_s"], 3)
        s["first_ok_s"] = r["first_ok_s"]  # (scored or not: the viewer's wait)
        out.append(s)
        p = pool.setdefault(r["kind"], ([], []))
        p[0].append(r["rows"])
        p[1].append(block + 1000 * len(p[1]))  # (a block id per record)
        if not a.json:
            print(_line(s), flush=True)
    pooled = [summary(f"pooled {k}", k, np.concatenate(v[0]), np.concatenate(v[1]))
              for k, v in pool.items()]
    if a.json:
        print(json.dumps({"records": out, "pooled": pooled}))
    else:
        print("\n".join(_line(s) for s in pooled))
    return 0


def _line(s: dict) -> str:
    if not s["scored"]:
        return f"{s['record']:18s} no estimate with a trusted reference"
    lo, hi = s["ci95"]
    first = f"first {s['first_ok_s']:5.1f} s " if s.get("first_ok_s") is not None else ""
    return (f"{s['record']:18s} n={s['scored']:4d} HR_OK {s['hr_ok']:.2f} {first} err median "
            f"{_f(s['err_median'])} [{_f(lo)}, {_f(hi)}]  |err| p90 {_f(s['abs_p90'])}   "
            f"batch beats: median {_f(s['batch_median'])} |err| p90 {_f(s['batch_abs_p90'])}")


def _f(v) -> str:
    return "   -  " if v is None or v != v else f"{v:+6.2f}"


if __name__ == "__main__":
    sys.exit(main())
