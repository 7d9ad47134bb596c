"""How many ECG beats of each ECG-referenced PPG record have no finger pulse.

    python -m empathy.bench.ppg_pulse_deficit [--held-out]

A premature beat that fills the heart too little ejects no pulse to the finger (a pulse
deficit): the ECG reference counts it, no PPG detector can find it, and the record's F1 and
HR then read a loss that is the heart's, not the detector's. The rule, fixed before it was
counted and the same for every record with trusted spans (heart_corpus.trusted_spans):

- the reference is the page's: the R peaks less the T waves, inside the trusted spans;
- the pulses are the PPG peers' (NeuroKit2, its MSPTDfast, HeartPy: those that ran), never
  ours, so the count does not depend on the detector it would excuse;
- each peer's transit is the median time from an R peak to its first beat later than the
  shortest finger transit (PULSE_LAG_S[0]): the pulse of that R peak, not of the one before
  (a monitor may delay the PLETH past the next R peak: BIDMC's 0.6-0.75 s);
- an R peak has no pulse when no peer has a beat within the match window of it plus that
  peer's transit; it is premature when the interval before it is under RHYTHM_GAP[0] of
  the median of the 9 intervals around it (the detector's own "sooner than the rhythm").

Per record: R peaks scored, those with no pulse by the peers, how many of them premature;
then the deficits told without any PPG detector (edge/pulse_deficit.py: PVCs by the ECG's
QRS width and timing, and no rise of the PPG after them), how many of them the peers' count
holds too, and ours and each peer scored as the page does before and after the deficits
are left out (the page's deficit-aware section). Counting by the peers was circular: a
deficit there excused what the peers missed.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from empathy.edge.beat_score import PULSE_LAG_S, TOL_S, in_spans, peer_beats, t_wave_free
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import (RECORDS, annotated_beats, available, peer_cache_dir,
                                        record_data, reference_lead, trusted_spans)
from empathy.edge.heart_method import RHYTHM_GAP
from empathy.edge.pulse_deficit import deficit_match, deficit_rows


def no_pulse(r_s: np.ndarray, spans: np.ndarray, pulses: dict) -> np.ndarray:
    """The R peaks inside `spans` after which none of `pulses` (name -> beats, s) has a
    pulse where its own transit puts one."""
    ref = in_spans(r_s, spans)
    found = np.zeros(len(ref), bool)
    for b in pulses.values():
        b = np.sort(b)
        nxt = np.searchsorted(b, ref + PULSE_LAG_S[0])
        ok = nxt < len(b)
        if not ok.any():
            continue
        t = b - float(np.median(b[nxt[ok]] - ref[ok]))
        j = np.clip(np.searchsorted(t, ref), 1, len(t) - 1)
        found |= np.minimum(np.abs(t[j - 1] - ref), np.abs(t[j] - ref)) <= TOL_S
    return ref[~found]


def premature(r_s: np.ndarray, beat: float) -> bool:
    """The interval before `beat` is under RHYTHM_GAP[0] of the median of the 9 around it."""
    i, iv = int(np.argmin(np.abs(r_s - beat))), np.diff(r_s)
    return i > 0 and iv[i - 1] < RHYTHM_GAP[0] * np.median(iv[max(0, i - 5):i + 4])


def record_rows(rec) -> dict:
    """The peers' count, and every detector before and after the ECG-told deficits are left
    out (edge/pulse_deficit.py): name -> (match, HR error in bpm) each."""
    x, fs = record_data(rec)
    spans = trusted_spans(rec)
    r = t_wave_free(annotated_beats(rec, len(x), fs), reference_lead(rec), fs)[0]
    peers = {k: b for k, b in peer_beats(x, fs, "ppg", peer_cache_dir()).items() if b is not None}
    beats = {"ours": waveform_peaks(x, fs, "ppg").idx / fs, **peers}
    gone = no_pulse(r, spans, peers)
    after = deficit_rows(x, fs, reference_lead(rec), r, spans, beats)
    before = {n: deficit_match(r, b, spans, []) for n, b in beats.items()}
    return {"scored": len(in_spans(r, spans)), "no_pulse": gone,
            "premature": [t for t in gone if premature(r, t)], "deficit": after,
            "before": before}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m empathy.bench.ppg_pulse_deficit")
    ap.add_argument("--held-out", action="store_true", help="the held-out records instead")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")  # the peers warn about their own internals
    for rec in RECORDS:
        if (rec.kind != "ppg" or rec.held_out != args.held_out or rec.fmt != "pulse_npz"
                or not available(rec)):
            continue
        out = record_rows(rec)
        d = out["deficit"]
        at = " ".join(f"{t:.2f}" for t in out["no_pulse"][:10])
        agree = int(np.isin(d["gone"], out["no_pulse"]).sum())
        print(f"{rec.name:18s} R peaks {out['scored']:4d}  no pulse by the peers "
              f"{len(out['no_pulse']):3d} (premature {len(out['premature'])}) {at}")
        print(f"{'':18s} PVCs by the ECG {len(d['pvc']):3d}  deficits {len(d['gone']):3d} "
              f"(the peers' too: {agree})  " + " ".join(f"{t:.2f}" for t in d["gone"][:10]))
        for name, (m, hr) in d["rows"].items():
            m0, hr0 = out["before"][name]
            print(f"    {name:14s} F1 {m0.f1:.4f} -> {m.f1:.4f}  HR err {hr0:+.2f} -> {hr:+.2f} bpm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
