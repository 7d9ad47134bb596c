"""PPG as users' own boards record it: the corpus's PPG made into a board's raw output.

`python -m empathy.edge.ppg_boards [--held-out] [--out FILE]` scores ours, NeuroKit2 and
HeartPy on each PPG record of the corpus (tuning records by default) untouched and under
each of BOARDS' transforms, against the reference the corpus page scores that record
against (heart_validation.score_record: the simultaneous ECG's R peaks inside its trusted
spans, pulse lag fitted per detector; else the PPG peers' consensus on the untouched
record), and prints F1 per transform and detector, pooled over the records.

What boards do that the corpus's exports don't (sensors/serial/board.py reads a MAX3010x):
- raw counts are absorbance-shaped: the count FALLS with each pulse, a large DC (~120k of
  18 bits) under a pulse of a few hundred counts, integer steps;
- low rates: 25, 50 and 64 Hz (MAX30102 modes, wearables' exports);
- clipping: the signal cut at a level (the ADC's rail under a drifting DC), or pinned at
  full scale or 0 for seconds while a finger presses or lifts (no pulse there: such spans
  are left out of the reference, and a beat inside one counts as a false beat);
- ambient light: steps in the DC, many pulse heights tall; a finger pressed harder or
  eased: the DC moving as far within a few tenths of a second.
Every detector sees the same transformed samples; the reference never changes with them.
Ours reads them as `empathy signal hr` reads a file (ppg_polarity decides which way the
pulses point). The peers are called as their documentation shows: HeartPy, given counts on
a DC of 120k, finds no rate in any of them (its fit fails; its docs suggest scaling first).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from empathy.edge.beat_score import resampled

PULSE_COUNTS = 300.0  # a MAX3010x pulse's height in counts (p5-p95 of the waveform)
DC_COUNTS = 120_000.0  # and the DC under it (18-bit ADC)
FULL_SCALE = 262_143.0
RAIL_EVERY_S, RAIL_S = 20.0, 3.0  # a press/lift: pinned this long, once per this long
STEP_EVERY_S, STEP_X = 15.0, 10.0  # ambient light: a DC step of 10 pulse heights every 15 s
PRESS_X, PRESS_S = 30.0, 0.3  # a finger pressed harder: the DC moves 30 pulses in 0.3 s
CLIP_PCT = 75  # "clipped at a level": the waveform cut at this percentile of itself


def board_counts(x: np.ndarray, invert: bool = True) -> np.ndarray:
    """x as a MAX3010x's raw counts: DC_COUNTS with the pulse PULSE_COUNTS tall, falling
    with each pulse where `invert`, rounded to the ADC's step."""
    lo, hi = np.percentile(x, [5, 95])
    c = (np.asarray(x, float) - np.median(x)) * (PULSE_COUNTS / max(hi - lo, 1e-12))
    return np.round(DC_COUNTS + (-c if invert else c))


def _spans(n: int, fs: float, every_s: float, long_s: float) -> list[tuple[int, int]]:
    start = int(every_s / 2 * fs)
    return [(a, min(a + int(long_s * fs), n)) for a in range(start, n, int(every_s * fs))]


def _pinned(top: bool):
    """As counts, pinned at full scale (top) or 0 for RAIL_S every RAIL_EVERY_S."""
    def run(x, fs):
        y = board_counts(x, invert=False)
        spans = _spans(len(y), fs, RAIL_EVERY_S, RAIL_S)
        for a, b in spans:
            y[a:b] = FULL_SCALE if top else 0.0
        return y, fs, [(a / fs, b / fs) for a, b in spans]
    return run


def _stepped(x, fs, times: float = STEP_X, ramp_s: float = 0.0):
    """x with the DC stepped by `times` pulse heights every STEP_EVERY_S, up then down,
    at once or over ramp_s."""
    y = np.array(x, float)
    for k, (a, _) in enumerate(_spans(len(y), fs, STEP_EVERY_S, 0)):
        ramp = np.minimum(np.arange(len(y) - a) / max(ramp_s * fs, 1.0), 1.0)
        y[a:] += (1 if k % 2 == 0 else -1) * times * PULSE_COUNTS * ramp
    return y


def _clipped(x, fs):
    c = board_counts(x, invert=False)
    return np.minimum(c, np.percentile(c, CLIP_PCT))


def _at(to_hz: float, invert: bool | None):
    """Resampled to to_hz, then (invert not None) as a board's counts."""
    def run(x, fs):
        y = resampled(x, fs, to_hz)
        return (y if invert is None else board_counts(y, invert)), to_hz, []
    return run


# name -> (x, fs) -> (samples, rate, spans in s where no pulse can be seen)
BOARDS = {
    "counts, upright": lambda x, fs: (board_counts(x, False), fs, []),
    "counts, inverted (raw)": lambda x, fs: (board_counts(x), fs, []),
    "64 Hz": _at(64.0, None),
    "50 Hz": _at(50.0, None),
    "25 Hz": _at(25.0, None),
    "raw at 50 Hz": _at(50.0, True),
    "raw at 25 Hz": _at(25.0, True),
    f"clipped at p{CLIP_PCT}": lambda x, fs: (_clipped(x, fs), fs, []),
    "pinned at full scale": _pinned(True),
    "pinned at 0": _pinned(False),
    "DC steps": lambda x, fs: (_stepped(board_counts(x, False), fs), fs, []),
    f"pressed: {PRESS_X:g}x in {PRESS_S:g} s": lambda x, fs: (
        _stepped(board_counts(x, False), fs, PRESS_X, PRESS_S), fs, []),
}
DETECTORS = ("ours", "NeuroKit2", "HeartPy")


def _reference(rec, x, fs):
    """(reference beats in s, spans or None): what heart_validation scores this record by."""
    from empathy.edge.beat_score import peer_beats, reference, t_wave_free
    from empathy.edge.heart_corpus import (annotated_beats, peer_cache_dir, reference_lead,
                                           trusted_spans)

    spans = trusted_spans(rec)
    if spans is not None:
        return t_wave_free(annotated_beats(rec, len(x), fs), reference_lead(rec), fs)[0], spans
    return reference(peer_beats(x, fs, "ppg", peer_cache_dir())), None


def detected(name: str, y: np.ndarray, fs: float) -> np.ndarray | None:
    """A detector's beats in s (None: it failed on the samples)."""
    from empathy.edge.beat_score import heartpy_beats, neurokit_beats
    from empathy.edge.heart import ppg_peaks
    from empathy.edge.ppg_polarity import oriented

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if name == "ours":  # as `signal hr` reads a file (ppg_polarity)
                return ppg_peaks(oriented(y, fs)[0], fs).idx / fs
            if name == "NeuroKit2":
                return neurokit_beats(y, fs, "ppg")
            return heartpy_beats(y, fs)
        except Exception:  # noqa: BLE001 - a peer's own failure is its score
            if name == "ours":
                raise
            return None


def score(ref: np.ndarray, spans, beats: np.ndarray | None, lost=()):
    """beat_score.Match of beats against ref (None: every reference beat missed), the
    reference's beats within `lost` spans (± the match window) left out of it."""
    from empathy.edge.beat_score import TOL_S, Match, beat_match, lagged_match

    for a, b in lost:
        ref = ref[(ref < a - TOL_S) | (ref > b + TOL_S)]
    if spans is not None and lost:  # a lost span is no trusted span
        spans = _less(spans, lost)
    if beats is None:
        return Match(0, 0, len(ref) if spans is None else int(
            sum(((ref >= a) & (ref <= b)).sum() for a, b in spans)))
    return beat_match(ref, beats) if spans is None else lagged_match(ref, beats, spans)[0]


def _less(spans, lost) -> np.ndarray:
    out = [tuple(s) for s in spans]
    for la, lb in lost:
        out = [p for a, b in out for p in ((a, min(b, la)), (max(a, lb), b)) if p[1] > p[0]]
    return np.array(out, float).reshape(-1, 2)


def sweep(held_out: bool = False, boards=None, progress=print) -> dict:
    """{(record, transform): {detector: Match}}, "untouched" first."""
    from empathy.edge.heart_corpus import RECORDS, available, record_data

    out = {}
    for rec in RECORDS:
        if rec.kind != "ppg" or rec.held_out != held_out or not available(rec):
            continue
        x, fs = record_data(rec)
        ref, spans = _reference(rec, x, fs)
        cases = {"untouched": lambda x, fs: (x, fs, [])} | {
            k: v for k, v in BOARDS.items() if boards is None or k in boards}
        for tname, make in cases.items():
            y, fy, lost = make(x, fs)
            out[rec.name, tname] = {d: score(ref, spans, detected(d, y, fy), lost)
                                    for d in DETECTORS}
            progress(f"{rec.name:18s} {tname:24s} " + "  ".join(
                f"{d} {m.f1:.3f}" for d, m in out[rec.name, tname].items()))
    return out


def table(results: dict) -> list[str]:
    """Markdown: per transform, each detector's pooled F1 and its worst record's."""
    from empathy.edge.beat_score import Match

    names = list(dict.fromkeys(t for _, t in results))
    lines = ["| transform | " + " | ".join(f"{d} F1 pooled (worst)" for d in DETECTORS) + " |",
             "|---" * (len(DETECTORS) + 1) + "|"]
    for t in names:
        rows = {r: m for (r, tt), m in results.items() if tt == t}
        cells = []
        for d in DETECTORS:
            pooled = sum((m[d] for m in rows.values()), start=Match(0, 0, 0))
            worst = min(rows, key=lambda r: rows[r][d].f1)
            cells.append(f"{pooled.f1:.3f} ({rows[worst][d].f1:.3f} {worst})")
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return lines


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m empathy.edge.ppg_boards")
    p.add_argument("--held-out", action="store_true", help="the held-out PPG records (score "
                   "them once, after a change: never tune on them)")
    p.add_argument("--board", action="append", choices=list(BOARDS),
                   help="only this transform (repeatable)")
    p.add_argument("--out", help="also write the table here")
    a = p.parse_args(argv)
    lines = table(sweep(a.held_out, a.board))
    print("\n".join(lines))
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
