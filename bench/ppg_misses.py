"""What our PPG detector does with the beats it misses, on the PPG tuning records.

    python -m empathy.bench.ppg_misses [--all] [--list]

Per tuning record (heart_corpus, held_out=False; `--all` adds the wrist records, where every
detector is near chance), against the reference docs/heart-corpus.md scores it by (the
peers' consensus, or the chest ECG's beats inside the trusted spans, each detector shifted
by its own pulse lag): our missed and extra beats, and whether NeuroKit2 found each. A
missed beat is labelled by what the detector did with a candidate within 0.25 s of it:
`height` (under the height gate), `refractory` (within the refractory time of a beat),
`rise` (its raw peak did not rise like a pulse), `edge` (its raw maximum on the search
window's edge), or `no block` (the energy never made a block of interest there). Issue 19's
tenth pass counted these before its change (docs/signal-validation.md; the detector of
commit 34174cd).
"""

from __future__ import annotations

import argparse
import warnings
from collections import Counter

import numpy as np

from empathy.edge.beat_score import in_spans, reference
from empathy.edge.heart import BeatStream
from empathy.edge.heart_corpus import RECORDS, available, record_data
from empathy.edge.heart_validation import score_record

NEAR_S = 0.25  # a candidate this close to a missed beat is taken as its


class _Traced(BeatStream):
    """The detector, noting where it turned a candidate down and why."""

    def __init__(self, fs_hz: float):
        super().__init__(fs_hz, "ppg")
        self.why: list[tuple[int, str]] = []

    def _taller_wins(self, p, h):
        self.why.append((p, "refractory"))
        super()._taller_wins(p, h)

    def _tall_enough(self, p, height):
        ok = super()._tall_enough(p, height)
        if not ok:  # (the rhythm may let it in yet: then it is no miss)
            self.why.append((p, "height"))
        return ok

    def _refine(self, p, h0, after):
        r = super()._refine(p, h0, after)
        if r < 0:
            self.why.append((p, "edge"))
        return r

    def _rises(self, r, h0):
        ok = super()._rises(r, h0)
        if not ok:
            self.why.append((r, "rise"))
        return ok


def _unmatched(a: np.ndarray, b: np.ndarray, tol_s: float = 0.15) -> np.ndarray:
    if not len(b):
        return a
    return a[np.abs(a[:, None] - b[None, :]).min(axis=1) > tol_s]


def diagnose(rec) -> dict:
    """Our misses and extras on one record, each with NeuroKit2's verdict (and a reason)."""
    res = score_record(rec)
    x, fs = record_data(rec)
    st = _Traced(fs)
    st.push(x)
    st.finish()
    beats = res["beats"]
    nk = beats["NeuroKit2"] if beats["NeuroKit2"] is not None else np.zeros(0)
    if res["spans"] is None:
        ref, shift = reference({k: v for k, v in beats.items() if k != "ours"}), 0.0
        ours = beats["ours"]
    else:
        spans, shift = res["spans"], res["lags"]["ours"]
        ref = in_spans(res["annotated"], spans)
        ours = in_spans(beats["ours"] - shift, spans)
        nk = in_spans(nk - res["lags"].get("NeuroKit2", 0.0), spans)
    why = [(i / fs - shift, w) for i, w in st.why]
    missed = []
    for t in _unmatched(ref, ours):
        near = [w for u, w in why if abs(u - t) <= NEAR_S]
        missed.append((float(t), near[0] if near else "no block", bool(len(_unmatched(
            np.array([t]), nk)) == 0)))
    extra = [(float(t), bool(len(_unmatched(np.array([t]), nk)) == 0))
             for t in _unmatched(ours, ref)]
    return {"ref": len(ref), "missed": missed, "extra": extra}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m empathy.bench.ppg_misses")
    ap.add_argument("--all", action="store_true", help="the wrist tuning records too")
    ap.add_argument("--list", action="store_true", help="every missed and extra beat")
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    recs = [r for r in RECORDS if r.kind == "ppg" and not r.held_out and available(r)
            and (a.all or not r.name.startswith("wrist-"))]
    print("| record | ref beats | missed (NK found: by reason) | missed NK also | extra | "
          "extra NK not |\n|---|---|---|---|---|---|")
    for rec in recs:
        d = diagnose(rec)
        found = Counter(w for _, w, nk in d["missed"] if nk)
        print(f"| {rec.name} | {d['ref']} | {len(d['missed'])} ("
              + (", ".join(f"{w} {n}" for w, n in found.most_common()) or "none") + ") | "
              f"{sum(not nk for *_, nk in d['missed'])} | {len(d['extra'])} | "
              f"{sum(not nk for _, nk in d['extra'])} |")
        if a.list:
            for t, w, nk in d["missed"]:
                print(f"    missed {t:8.2f} s  {w:10s} NeuroKit2 {'found' if nk else 'missed'} it")
            for t, nk in d["extra"]:
                print(f"    extra  {t:8.2f} s  NeuroKit2 {'too' if nk else 'not'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
