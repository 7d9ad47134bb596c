"""`python -m empathy.edge.ppg_motion_validation [--set tuning|held-out|all] [--json]`:
the wrist PPG records scored with and without their accelerometer's axes.

Per record (edge/heart_reference/wrist-*, the chest ECG's R peaks as the reference, scored
inside the trusted spans with each detector's own pulse lag, `beat_score.lagged_match`, as
docs/heart-corpus.md does): ours on the bare PPG, ours on the PPG less what the axes predict
(edge/ppg_motion_cancel.py), NeuroKit2 and HeartPy (they take no accelerometer). F1 with a
95 % interval from resampling the record's paired, extra and missed beats (beats are few
and the interval ignores their autocorrelation, so it is if anything too narrow), Se, +P,
HR error in the spans, and how many of the detector's beats the gate (edge/motion.py, on
the magnitude) marks as moving, which the show leaves out of HR and HRV.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from empathy.edge.beat_score import lagged_match, peer_beats, span_rate
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import (RECORDS, annotated_beats, motion_axes, peer_cache_dir,
                                        record_data, trusted_spans)
from empathy.edge.motion import motion_gate
from empathy.edge.ppg_guide import guided_beats
from empathy.edge.ppg_motion_cancel import cancel_motion
from empathy.edge.ppg_track import WINDOW_S, track_hr

PEERS = ("NeuroKit2", "HeartPy")
WRIST = [r for r in RECORDS if r.fmt == "pulse_npz" and r.name.startswith("wrist-")]


def f1_interval(tp: int, fp: int, fn: int, draws: int = 4000, seed: int = 0) -> tuple:
    """95 % interval of F1 = 2tp / (2tp + fp + fn), the outcomes resampled as a multinomial."""
    n = tp + fp + fn
    if not n:
        return (float("nan"), float("nan"))
    c = np.random.default_rng(seed).multinomial(n, np.array([tp, fp, fn]) / n, draws)
    f1 = 2 * c[:, 0] / np.maximum(2 * c[:, 0] + c[:, 1] + c[:, 2], 1)
    return tuple(float(v) for v in np.percentile(f1, [2.5, 97.5]))


def detections(x, fs: float, axes) -> dict:
    """Every detector's beats (s) on one wrist record's PPG x (its axes in mG beside it)."""
    peers = peer_beats(x, fs, "ppg", peer_cache_dir())
    return {"ours": waveform_peaks(x, fs, "ppg").idx / fs,
            "ours+acc": waveform_peaks(cancel_motion(x, axes, fs), fs, "ppg").idx / fs,
            "ours+track": guided_beats(x, fs, axes)[0] / fs,
            **{n: peers.get(n) for n in PEERS}}


def window_rate(ref, spans, end_s: float) -> float:
    """The ECG reference's HR (bpm) in the tracker's window ending at end_s: its intervals
    inside the trusted spans; NaN where they cover under half the window."""
    iv = [d for a, b in spans for d in np.diff(ref[(ref >= max(a, end_s - WINDOW_S)) &
                                                   (ref < min(b, end_s))])]
    return 60.0 / np.mean(iv) if sum(iv) >= WINDOW_S / 2 else float("nan")


def track_error(x, fs: float, axes, ref, spans) -> dict:
    """The tracker's (edge/ppg_track.py) mean absolute error against the ECG's HR per
    window (TROIKA's figure), over the windows the reference covers."""
    end, hr, _, sure = track_hr(x, fs, axes)
    err = np.abs(hr - np.array([window_rate(ref, spans, e) for e in end]))
    ok = np.isfinite(err)
    mean = lambda m: float(err[m].mean()) if m.any() else float("nan")  # noqa: E731
    return {"mae_bpm": mean(ok), "windows": int(ok.sum()),
            "confident": int((ok & sure).sum()), "confident_mae_bpm": mean(ok & sure)}


def score_wrist(rec) -> dict:
    """Rows per detector: f1, interval, se, ppv, hr error, lag, beats marked moving."""
    x, fs = record_data(rec)
    ref, spans = annotated_beats(rec, len(x), fs), trusted_spans(rec)
    axes = motion_axes(rec)
    mag = np.linalg.norm(axes, axis=1)
    rows = {}
    for name, b in detections(x, fs, axes).items():
        if b is None:
            rows[name] = {"error": "failed on this record"}
            continue
        m, lag = lagged_match(ref, b, spans)
        moving = motion_gate(b * 1e6, np.ones(len(b)), mag, fs)[2]
        rows[name] = {"f1": m.f1, "f1_95": f1_interval(m.tp, m.fp, m.fn), "se": m.se,
                      "ppv": m.ppv, "tp": m.tp, "fp": m.fp, "fn": m.fn,
                      "hr_err_bpm": span_rate(b - lag, spans) - span_rate(ref, spans),
                      "lag_ms": 1000 * lag, "moving": int(moving.sum()), "beats": len(b)}
    return {"record": rec.name, "held_out": rec.held_out, "rows": rows,
            "hr_ref_bpm": span_rate(ref, spans), "track": track_error(x, fs, axes, ref, spans)}


def table(results: list[dict]) -> list[str]:
    lines = ["| record | set | detector | F1 (95 %) | Se | +P | HR err (bpm) | "
             "beats the gate marks moving |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        for name, row in r["rows"].items():
            head = f"| {r['record']} | {'held out' if r['held_out'] else 'tuning'} | {name} |"
            if "error" in row:
                lines.append(f"{head} failed | | | | |")
                continue
            lo, hi = row["f1_95"]
            lines.append(f"{head} {row['f1']:.3f} ({lo:.2f}-{hi:.2f}) | {row['se']:.3f} | "
                         f"{row['ppv']:.3f} | {row['hr_err_bpm']:+.1f} | "
                         f"{row['moving']} of {row['beats']} |")
    return lines


def track_table(results: list[dict]) -> list[str]:
    """The tracker's HR against the ECG's, window by window."""
    lines = ["| record | set | tracked HR: mean abs. error (bpm) | windows scored | "
             "of them confident | error there (bpm) |", "|---|---|---|---|---|---|"]
    for r in results:
        t = r["track"]
        lines.append(f"| {r['record']} | {'held out' if r['held_out'] else 'tuning'} | "
                     f"{t['mae_bpm']:.1f} | {t['windows']} | {t['confident']} | "
                     f"{t['confident_mae_bpm']:.1f} |")
    return lines


def page_section() -> list[str]:
    """docs/heart-corpus.md's section: every wrist record, with and without the axes."""
    head = ["## PPG with the wrist's accelerometer axes", "",
            "The wrist records scored as above, ours also on the PPG less what the "
            "accelerometer's three axes predict of it (`ours+acc`, edge/ppg_motion_cancel.py; "
            "its settings chosen on the tuning records, the held-out ones scored once after, "
            "docs/signal-validation.md). F1's interval: the record's paired, extra and missed "
            "beats resampled (`python -m empathy.edge.ppg_motion_validation --set all`). Last "
            "column: the detector's beats the gate (edge/motion.py) marks as moving. "
            "`ours+track`: beats placed where the heart rate tracked in the PPG's and the "
            "accelerometer's spectra expects them while the wrist moves (edge/ppg_track.py, "
            "edge/ppg_guide.py; experimental, not the headline: they did not generalise to "
            "the held-out records); the second table: that tracked rate's mean absolute error "
            "against the ECG's rate in each 8-s window the reference covers by half, and in "
            "the windows where the tracker says it is confident (edge/ppg_track.py).", ""]
    results = [score_wrist(r) for r in WRIST]
    return head + table(results) + [""] + track_table(results) + [""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m empathy.edge.ppg_motion_validation")
    ap.add_argument("--set", choices=("tuning", "held-out", "all"), default="tuning")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    recs = [r for r in WRIST if args.set == "all" or r.held_out == (args.set == "held-out")]
    results = [score_wrist(r) for r in recs]
    print(json.dumps(results, indent=1) if args.json else
          "\n".join(table(results) + [""] + track_table(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
