"""`python -m empathy.edge.ecg_rate_validation [--rate 130] [--set tuning|held-out] [--json]`:
the corpus's ECG records at a strap's sampling rate, EC57-style.

Our seats take ECG from Polar H10 straps at 130 Hz; the corpus page (heart_validation)
scores each record at its own rate only. Here every ECG record of a set is resampled to
`--rate` (scipy.signal.resample_poly) and ours (the corpus's entry, `waveform_peaks`) and
every peer detector run on it, each scored with beat_score's functions at ±150 ms against
the record's reference, whose beat times (s) stay as they are: the expert annotation where
one is published, else the peers' consensus at the native rate (a peer never votes on its
own). Each record's F1 of ours at its native rate stands beside, for comparison. Held-out
records are never tuned on: score them once, after a change.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

import numpy as np

from empathy.cli import number_in
from empathy.edge.beat_score import Match, consensus_rows, peer_beats, resampled
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import (RECORDS, annotated_beats, available, peer_cache_dir,
                                        record_data)


def score_at_rate(rec, rate: float) -> dict:
    """Ours and every peer on one record resampled to `rate`, against its reference (the
    annotation, else the native-rate peers' consensus); ours at the native rate too."""
    x, fs = record_data(rec)
    native = peer_beats(x, fs, "ecg", peer_cache_dir())
    annotated = annotated_beats(rec, len(x), fs)
    y = resampled(x, fs, rate)
    peers = peer_beats(y, rate, "ecg", peer_cache_dir())
    ours = waveform_peaks(y, rate, "ecg").idx / rate
    rows = consensus_rows(native, ours, annotated=annotated, tested=peers)
    at_native = consensus_rows(native, waveform_peaks(x, fs, "ecg").idx / fs,
                               annotated=annotated)["ours"]
    return {"name": rec.name, "fs": fs, "reference": "annotation" if annotated is not None
            else "consensus", "rows": rows, "native": at_native}


def _row(row: tuple) -> dict:
    m, hr, hr_ref = row
    return {"tp": m.tp, "fp": m.fp, "fn": m.fn, "se": m.se, "ppv": m.ppv, "f1": m.f1,
            "hr": hr, "hr_err": hr - hr_ref}


def pooled(results: list[dict]) -> dict:
    """Per detector: counts summed over the records, F1 of the sums, mean |HR error|."""
    names = {n for r in results for n in r["rows"]}
    out = {}
    for n in sorted(names, key=lambda n: (n != "ours", n)):
        got = [r["rows"][n] for r in results if n in r["rows"]]
        m = sum((g[0] for g in got), Match(0, 0, 0))
        out[n] = {"tp": m.tp, "fp": m.fp, "fn": m.fn, "se": m.se, "ppv": m.ppv, "f1": m.f1,
                  "mean_abs_hr_err": float(np.mean([abs(h - r) for _, h, r in got])),
                  "records": len(got)}
    out["native ours"] = _pooled_native(results)
    return out


def _pooled_native(results: list[dict]) -> dict:
    m = sum((r["native"][0] for r in results), Match(0, 0, 0))
    return {"tp": m.tp, "fp": m.fp, "fn": m.fn, "se": m.se, "ppv": m.ppv, "f1": m.f1}


def best_peer(rows: dict) -> str:
    return max((n for n in rows if n != "ours"), key=lambda n: rows[n][0].f1)


def report(results: list[dict], rate: float) -> list[str]:
    lines = [f"| record | ref | F1 ours native | ours {rate:g} Hz: Se / +P / F1 | HR err | "
             f"best peer {rate:g} Hz | F1 | F1 ours ≥ best |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        rows = r["rows"]
        b = best_peer(rows)
        m, hr, hr_ref = rows["ours"]
        lines.append(f"| {r['name']} | {r['reference']} | {r['native'][0].f1:.3f} | "
                     f"{m.se:.3f} / {m.ppv:.3f} / {m.f1:.3f} | {hr - hr_ref:+.1f} | {b} | "
                     f"{rows[b][0].f1:.3f} | {'yes' if m.f1 >= rows[b][0].f1 else '**no**'} |")
    lines += ["", "| pooled | Se | +P | F1 | tp / fp / fn | mean abs HR err |",
              "|---|---|---|---|---|---|"]
    for n, p in pooled(results).items():
        err = f"{p['mean_abs_hr_err']:.2f}" if "mean_abs_hr_err" in p else ""
        lines.append(f"| {n} | {p['se']:.4f} | {p['ppv']:.4f} | {p['f1']:.4f} | "
                     f"{p['tp']} / {p['fp']} / {p['fn']} | {err} |")
    return lines


def run(rate: float, held_out: bool) -> list[dict]:
    from rich.console import Console
    from rich.progress import Progress

    warnings.filterwarnings("ignore")
    recs = [r for r in RECORDS if r.kind == "ecg" and r.held_out == held_out and available(r)]
    out = []
    with Progress(console=Console(stderr=True), transient=True) as bar:  # stdout: the table
        task = bar.add_task(f"ECG at {rate:g} Hz", total=len(recs))
        for r in recs:
            bar.update(task, description=f"ECG at {rate:g} Hz: {r.name}")
            out.append(score_at_rate(r, rate))
            bar.advance(task)
    return out


def page_section(rate: float = 130.0) -> list[str]:
    """The corpus page's section: every ECG record at `rate`, tuning and held-out apart."""
    lines = [f"## ECG at a Polar H10's {rate:g} Hz", "",
             "Every ECG record resampled to a chest strap's rate (polyphase) and scored as "
             "above, against the same reference (its beat times unchanged), ours beside its "
             "F1 at the record's own rate (edge/ecg_rate_validation.py; "
             "`python -m empathy.edge.ecg_rate_validation --set tuning|held-out`).", ""]
    for held, title in ((False, "Tuning records"), (True, "Held-out records")):
        lines += [f"**{title}**", ""] + report(run(rate, held), rate) + [""]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m empathy.edge.ecg_rate_validation",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=number_in(float, 50, 5000), default=130.0, help="Hz (default 130, a Polar H10)")
    ap.add_argument("--set", choices=("tuning", "held-out"), default="tuning")
    ap.add_argument("--json", action="store_true", help="per record and pooled, as JSON")
    a = ap.parse_args(argv)
    results = run(a.rate, a.set == "held-out")
    if a.json:
        print(json.dumps({"rate_hz": a.rate, "set": a.set, "records": [
            {"name": r["name"], "fs": r["fs"], "reference": r["reference"],
             "native_ours": _row(r["native"]), "best_peer": best_peer(r["rows"]),
             "rows": {n: _row(v) for n, v in r["rows"].items()}} for r in results],
            "pooled": pooled(results)}, indent=1))
    else:
        print("\n".join(report(results, a.rate)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
