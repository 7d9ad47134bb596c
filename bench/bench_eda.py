"""EDA: our SCR detection (edge/eda.py) against NeuroKit2's EDA processing, on real
recordings that ship inside Python packages (bench/eda_corpus.py), in the same run.

Both of our paths are scored against NeuroKit2 on every record: `batch`, the whole-
recording analysis (`eda_scrs`: the stream, then NeuroKit2's floor of 10 % of the
recording's largest response) and `stream`, what the live show gives out
(`eda_scrs(..., whole=False)`, identical to `EdaStream` in any chunks). An onset of ours
matches one of NeuroKit2's within 0.5 s (one to one, nearest first); peaks are matched the
same way. Printed per record and path, and pooled (tuning set and held-out set apart):
SCRs found by each, matches, F1 with a 95 % Wilson interval (pooled also with whole
records resampled, `f1_ci95_records`), median onset difference, and how long each took
(ratio ours / NeuroKit2). `--lookahead-s` scores another look-ahead than the detector's
default, `--rel-memory-s` another reference for the stream's relative floor; `--set
tuning` scores the tuning records only, so that trying such settings never shows a
held-out figure. `--misses` lists NeuroKit2's responses the whole-recording path misses
and each one's size against the largest, on our side and NeuroKit2's.

    python -m empathy.bench.bench_eda [--json] [--set tuning|held_out|all]
                                      [--lookahead-s S] [--rel-memory-s S] [--misses]
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings

import numpy as np
from scipy import signal

from empathy.cli import number_in
from empathy.bench.eda_corpus import RECORDS, CorpusMissing, record_data
from empathy.edge.eda import LOOKAHEAD_S, REL_MEMORY_S, eda_scrs

TOL_S = 0.5


def neurokit_eda(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NeuroKit2's SCR onsets and peaks (s), its default EDA processing, and its phasic
    part."""
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sig, info = nk.eda_process(x, sampling_rate=int(round(fs)))
    on = np.asarray(info["SCR_Onsets"], float)
    pk = np.asarray(info["SCR_Peaks"], float)
    ok = np.isfinite(on) & np.isfinite(pk)
    return on[ok] / fs, pk[ok] / fs, sig["EDA_Phasic"].to_numpy()


def neurokit_scrs(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """NeuroKit2's SCR onsets and peaks (s)."""
    return neurokit_eda(x, fs)[:2]


def match(ours: np.ndarray, ref: np.ndarray, tol_s: float = TOL_S) -> list[tuple[int, int]]:
    """One-to-one pairs (i ours, j ref) within tol_s, closest pairs first."""
    pairs = sorted((abs(a - b), i, j) for i, a in enumerate(ours) for j, b in enumerate(ref)
                   if abs(a - b) <= tol_s)
    used_i, used_j, out = set(), set(), []
    for _, i, j in pairs:
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j))
    return out


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (round(c - h, 3), round(c + h, 3))


PATHS = ("batch", "stream")  # eda_scrs over the whole recording; the live stream's own


def agreement(ours: np.ndarray, ours_pk: np.ndarray, ref: np.ndarray, ref_pk: np.ndarray,
              ms: float) -> dict:
    m = match(ours, ref)
    mp = match(ours_pk, ref_pk)
    d = [abs(ours[i] - ref[j]) for i, j in m]
    return {"ours": len(ours), "matched": len(m),
            "f1": round(2 * len(m) / max(1, len(ours) + len(ref)), 3),
            "f1_ci95": wilson(2 * len(m), len(ours) + len(ref)),
            "median_onset_diff_s": round(float(np.median(d)), 3) if d else None,
            "peaks_matched": len(mp),
            "peak_f1": round(2 * len(mp) / max(1, len(ours) + len(ref)), 3),
            "ms_ours": round(ms, 1)}


def compare(rec, lookahead_s: float = LOOKAHEAD_S, rel_memory_s: float = REL_MEMORY_S) -> dict:
    """NeuroKit2 and both our paths on one record: the whole-recording one (`eda_scrs`,
    NeuroKit2's floor of the recording's largest) and the live stream's (`whole=False`)."""
    x, fs = record_data(rec)
    t0 = time.perf_counter()
    ref, ref_pk = neurokit_scrs(x, fs)
    t_nk = time.perf_counter() - t0
    row = {"record": rec.name, "held_out": rec.held_out, "seconds": round(len(x) / fs, 1),
           "fs_hz": fs, "neurokit2": len(ref), "ms_neurokit2": round(t_nk * 1e3, 1)}
    for path in PATHS:
        t0 = time.perf_counter()
        scrs = eda_scrs(x, fs, lookahead_s, rel_memory_s, whole=path == "batch")
        ms = (time.perf_counter() - t0) * 1e3
        row[path] = agreement(scrs.onset / fs, scrs.peak / fs, ref, ref_pk, ms)
    return row


def pooled(rows: list[dict], path: str) -> dict:
    ours = [r[path] for r in rows]
    tp = sum(o["matched"] for o in ours)
    n = sum(o["ours"] + r["neurokit2"] for o, r in zip(ours, rows))
    # F1 = 2TP / (2TP + FP + FN): the share of all detections (both sides) that agree
    tpp = sum(o["peaks_matched"] for o in ours)
    return {"records": len(rows), "ours": sum(o["ours"] for o in ours),
            "neurokit2": sum(r["neurokit2"] for r in rows), "matched": tp,
            "f1": round(2 * tp / max(1, n), 3), "f1_ci95": wilson(2 * tp, n),
            "f1_ci95_records": bootstrap_f1(rows, path),
            "peak_f1": round(2 * tpp / max(1, n), 3),
            "speed_ratio_ours_vs_neurokit2": round(sum(o["ms_ours"] for o in ours) / max(
                1e-9, sum(r["ms_neurokit2"] for r in rows)), 3)}


def bootstrap_f1(rows: list[dict], path: str, draws: int = 2000) -> tuple[float, float]:
    """95 % interval of the pooled F1 with whole records resampled: responses within a
    record are not independent (one floor, one electrode), which Wilson's interval assumes."""
    if not rows:
        return (math.nan, math.nan)
    tp = np.array([r[path]["matched"] for r in rows], float)
    n = np.array([r[path]["ours"] + r["neurokit2"] for r in rows], float)
    pick = np.random.default_rng(0).integers(0, len(rows), (draws, len(rows)))
    f1 = 2 * tp[pick].sum(1) / np.maximum(1, n[pick].sum(1))
    return tuple(round(float(q), 3) for q in np.percentile(f1, [2.5, 97.5]))


def misses(rec) -> list[dict]:
    """NeuroKit2's responses the whole-recording path misses, and why: each one's
    prominence as a share of the largest, as our stream judged it (in its 60-s window) and
    as NeuroKit2 measures it (over the whole recording); both floors are 10 %."""
    x, fs = record_data(rec)
    ref, ref_pk, phasic = neurokit_eda(x, fs)
    stream, batch = eda_scrs(x, fs, whole=False), eda_scrs(x, fs)
    peaks, _ = signal.find_peaks(phasic)
    prom = signal.peak_prominences(phasic, peaks)[0]
    hit = {j for _, j in match(batch.onset / fs, ref)}
    found = {j: i for i, j in match(stream.onset / fs, ref)}
    out = []
    for j in sorted(set(range(len(ref))) - hit):
        i, k = found.get(j), int(np.argmin(np.abs(peaks - ref_pk[j] * fs)))
        out.append({"record": rec.name, "onset_s": round(float(ref[j]), 1),
                    "stream_found": i is not None,
                    "ours_share_of_largest": None if i is None else round(
                        float(stream.prom_us[i] / stream.prom_us.max()), 3),
                    "neurokit2_share_of_largest": round(float(prom[k] / prom.max()), 3)})
    return out


SETS = {"tuning": (False,), "held_out": (True,), "all": (False, True)}


def results(lookahead_s: float = LOOKAHEAD_S, rel_memory_s: float = REL_MEMORY_S,
            which: str = "all") -> dict:
    rows = [compare(rec, lookahead_s, rel_memory_s) for rec in RECORDS
            if rec.held_out in SETS[which]]
    return {"lookahead_s": lookahead_s, "rel_memory_s": rel_memory_s, "records": rows,
            **{path: {"tuning": pooled([r for r in rows if not r["held_out"]], path),
                      "held_out": pooled([r for r in rows if r["held_out"]], path),
                      "all": pooled(rows, path)} for path in PATHS}}


def run() -> list[dict]:
    """`empathy bench eda`: pooled agreement with NeuroKit2 and the time ratio, both paths."""
    out = results()
    ms_nk = sum(r["ms_neurokit2"] for r in out["records"])
    entries = []
    for path in PATHS:
        entries += [{"name": f"eda_{path}_onset_f1_{k}", "value": out[path][k]["f1"],
                     "unit": "F1", "peer": None, "peer_value": None, "ratio": None}
                    for k in ("tuning", "held_out", "all") if out[path][k]["records"]]
        entries.append({"name": f"eda_{path}_peak_f1_all", "value": out[path]["all"][
            "peak_f1"], "unit": "F1", "peer": None, "peer_value": None, "ratio": None})
        ms = sum(r[path]["ms_ours"] for r in out["records"])
        entries.append({"name": f"eda_{path}_time_{len(out['records'])}_records",
                        "value": round(ms, 1), "unit": "ms",
                        "peer": "neurokit2 eda_process", "peer_value": round(ms_nk, 1),
                        "ratio": round(ms / ms_nk, 3)})
    return entries


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--set", choices=tuple(SETS), default="all",
                    help="which records to score (default all)")
    ap.add_argument("--lookahead-s", type=number_in(float, 1, 600), default=LOOKAHEAD_S,
                    help=f"the detector's look-ahead (default {LOOKAHEAD_S:g} s)")
    ap.add_argument("--rel-memory-s", type=number_in(float, 0, 86400), default=REL_MEMORY_S,
                    help="how long the relative floor remembers the responses given out "
                         f"(default {REL_MEMORY_S:g} s; 0: the detector's window only)")
    ap.add_argument("--misses", action="store_true",
                    help="list NeuroKit2's responses the whole-recording path misses, "
                         "with their prominence as a share of the largest on each side")
    args = ap.parse_args(argv)
    try:
        if args.misses:
            for rec in RECORDS:
                if rec.held_out in SETS[args.set]:
                    for m in misses(rec):
                        print(json.dumps(m))
            return 0
        out = results(args.lookahead_s, args.rel_memory_s, args.set)
    except (CorpusMissing, ValueError) as e:
        print(f"bench_eda: {e}")
        return 1
    rows = out["records"]
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    cols = ("ours", "matched", "f1", "f1_ci95", "median_onset_diff_s", "peak_f1", "ms_ours")
    print(f"look-ahead {out['lookahead_s']:g} s, relative floor's memory "
          f"{out['rel_memory_s']:g} s (stream; the batch then keeps 10 % of the largest)")
    head = ("record", "held_out", "seconds", "neurokit2", "ms_neurokit2", "path") + cols
    print("  ".join(f"{c:>12}" for c in head))
    for r in rows:
        for path in PATHS:
            cells = [r[c] for c in head[:5]] + [path] + [r[path][c] for c in cols]
            print("  ".join(f"{str(c):>12}" for c in cells))
    for path in PATHS:
        for k in ("tuning", "held_out", "all"):
            if out[path][k]["records"]:
                print(f"{path:>6} {k:>9}: {json.dumps(out[path][k])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
