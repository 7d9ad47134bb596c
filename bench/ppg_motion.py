"""PPG with movement at known times, with and without the accelerometer beside it.

A simulated finger PPG (sim/ppg.py) and the accelerometer on the same hand, both moved by
the same scripted movements (`move` for `dur_s` every `every_s` seconds, from 8 s into each
period). The estimator (edge/heart.py, edge/motion.py, edge/features.py) knows nothing of
the script. Per recording, beat by beat against the true pulse peaks (±150 ms, EC57's
window) and as the show's HR (SeatFeatures, every chunk):

- ours without and with the accelerometer, NeuroKit2's and HeartPy's PPG peaks (they have
  no accelerometer input; for HeartPy the peaks it accepts, its own artefact rejection),
- false beats during movement: beats handed on (for us: not rejected for motion) that match
  no true peak, inside a movement or 0.5 s after it,
- Se on the still parts, HR error (mean and 95th percentile, bpm) of the show's HR against
  the same window's HR from the true pulse intervals, and the share of estimates that
  carried an HR at all.

    python -m empathy.bench.ppg_motion [--seeds 0-7] [--seconds 240] [--json]

Nothing here was tuned: edge/motion.py's constants were set before this ran.
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np

from empathy.cli import number_in
from empathy.edge.beat_score import TOL_S, beat_match, neurokit_beats
from empathy.edge.features import SeatFeatures
from empathy.edge.heart import ppg_peaks
from empathy.edge.motion import PAD_S, motion_gate
from empathy.edge.ppg_guide import guided_beats
from empathy.edge.ppg_motion_cancel import cancel_motion
from empathy.edge.signal_sims import systole_s
from empathy.sensors.base import Waveform
from empathy.sim.impact import Impact
from empathy.sim.nuisance import Activity
from empathy.sim.viewer import SimViewer

DT = 0.02
WARMUP_S = 20.0  # the show's baseline start: HR estimates before it are not scored


class _Script:
    def __init__(self, move: float, every_s: float, dur_s: float):
        self.move, self.every, self.dur = move, every_s, dur_s

    def moving(self, t_s: float) -> bool:
        return 8.0 <= t_s % self.every < 8.0 + self.dur

    def step(self, t_s: float, dt: float) -> Activity:
        on = self.moving(t_s)
        return Activity(move=self.move if on else 0.0,
                        move_onset=on and not self.moving(t_s - dt))


def motion_recording(seed: int, seconds: float = 240.0, move: float = 0.8,
                     every_s: float = 20.0, dur_s: float = 4.0) -> dict:
    """One simulated recording: its chunks in arrival order, true pulse peaks, the script,
    and the true interval behind each of them (s)."""
    v = SimViewer(seed, 0, 0, ppg=True, acc=True, nuisance=0)
    script = v.nuisance = _Script(move, every_s, dur_s)
    arrivals: list = []
    add = v.pulse.add_beat
    v.pulse.add_beat = lambda t, rr: (arrivals.append((t + v.pulse.ptt, rr / 1000.0)), add(t, rr))
    chunks = []
    for i in range(1, int(seconds / DT) + 1):
        out: list = []
        v.step(i * 20_000, DT, ("scene", i * DT, 0.3), Impact(), 0.0, out)
        for r in out:
            if isinstance(r, Waveform):
                chunks.append(r)
    peaks = np.array([t + systole_s(rr) for t, rr in arrivals])  # sim/ppg.py's systolic peak
    return {"chunks": chunks, "true_s": peaks, "script": script,
            "seconds": seconds, "true_rr_s": np.array([rr for _, rr in arrivals])}


def _joined(chunks: list, kind: str) -> tuple[np.ndarray, float, float]:
    mine = [c for c in chunks if c.kind == kind]
    return np.concatenate([c.samples for c in mine]).astype(float), mine[0].fs_hz, mine[0].ts_us


def show_hr(rec: dict, use_acc: bool) -> dict:
    """The show's HR from the chunks as an edge unit gets them: error and coverage. The
    show's HR is 60000 / the mean interval over its window, so it is held against the same
    of the true pulse peaks: what is left is the artefacts' error, not the window's lag."""
    f = SeatFeatures(baseline_s=WARMUP_S)
    err, n = [], 0
    peaks_us, rr_s = rec["true_s"] * 1e6, rec["true_rr_s"]
    for r in rec["chunks"]:
        if r.kind == "ppg" or use_acc:
            f.add(r)
        end_us = r.ts_us + len(r.samples) * 1e6 / r.fs_hz
        if r.kind == "ppg" and end_us > WARMUP_S * 1e6:
            n += 1
            hr = f.estimate(int(end_us))["hr_bpm"]
            seen = (peaks_us <= end_us) & (peaks_us > end_us - f.hr_window_s * 1e6)
            if hr and seen.sum() >= 2:
                err.append(abs(hr - 60.0 / float(np.mean(rr_s[seen]))))
    err = np.array(err)
    return {"hr_mae_bpm": float(err.mean()) if len(err) else float("nan"),
            "hr_p95_bpm": float(np.percentile(err, 95)) if len(err) else float("nan"),
            "hr_coverage": len(err) / n if n else 0.0, **f.motion_report()}


def beat_scores(rec: dict, beats_s: np.ndarray) -> dict:
    """False beats inside movement, Se on the still parts, beat by beat."""
    true, script = rec["true_s"], rec["script"]
    near = lambda t: script.moving(t) or script.moving(t - PAD_S)
    in_motion = np.array([near(t) for t in beats_s], bool)
    false_moving = sum(1 for t in beats_s[in_motion]
                       if not len(true) or np.min(np.abs(true - t)) > TOL_S)
    still_true = np.array([t for t in true if not near(t)])
    m = beat_match(still_true, beats_s[~in_motion])
    return {"false_beats_moving": int(false_moving), "se_still": round(m.se, 4),
            "ppv_still": round(m.ppv, 4)}


def score(rec: dict, peers: bool = True) -> dict:
    x, fs, t0 = _joined(rec["chunks"], "ppg")
    a, afs, at0 = _joined(rec["chunks"], "acc")
    b = ppg_peaks(x, fs)
    ts_us = t0 + b.idx * 1e6 / fs
    ts, _, moving, _ = motion_gate(ts_us, b.sqi, a, afs, at0)
    rows = {"ours": {**beat_scores(rec, ts_us / 1e6), **show_hr(rec, False)},
            "ours+acc": {**beat_scores(rec, ts[~moving] / 1e6), **show_hr(rec, True)}}
    # the canceller (edge/ppg_motion_cancel.py) before the gate: the simulated hand gives
    # only the magnitude, at 50 Hz, laid on the PPG's clock here (batch only)
    at = at0 / 1e6 + np.arange(len(a)) / afs
    mag = np.interp(t0 / 1e6 + np.arange(len(x)) / fs, at, a)
    c = ppg_peaks(cancel_motion(x, mag, fs), fs)
    cts_us = t0 + c.idx * 1e6 / fs
    cts, _, cmoving, _ = motion_gate(cts_us, c.sqi, a, afs, at0)
    rows["ours+cancel"] = beat_scores(rec, cts_us / 1e6)
    rows["ours+cancel+gate"] = beat_scores(rec, cts[~cmoving] / 1e6)
    # beats placed by the rate tracked with the accelerometer while it moves (ppg_guide)
    g = guided_beats(x, fs, a, afs)[0]
    rows["ours+track"] = {**beat_scores(rec, t0 / 1e6 + g / fs),
                          "f1": round(beat_match(rec["true_s"], t0 / 1e6 + g / fs).f1, 4)}
    rows["ours"]["f1"] = round(beat_match(rec["true_s"], ts_us / 1e6).f1, 4)
    if peers:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, fn in (("NeuroKit2", lambda: neurokit_beats(x, fs, "ppg")),
                             ("HeartPy", lambda: heartpy_accepted(x, fs))):
                try:
                    rows[name] = beat_scores(rec, fn() + t0 / 1e6)
                except Exception as e:  # a peer that gives up on a record is a result too
                    rows[name] = {"error": str(e)[:80]}
    return rows


def heartpy_accepted(x, fs: float) -> np.ndarray:
    """HeartPy's peaks less those its own checks reject (`binary_peaklist`)."""
    import heartpy as hp

    wd, _ = hp.process(np.asarray(x, float), fs)
    keep = np.asarray(wd["binary_peaklist"], bool)
    return np.asarray(wd["peaklist"], float)[keep] / fs


def _seeds(text: str) -> list[int]:
    """An argparse type: "3" or "0-7" ("x" and "-1" were tracebacks, "5-1" ran no seed)."""
    lo, _, hi = text.partition("-")
    a, b = (number_in(int, 0, 2**32 - 1)(v) for v in (lo, hi or lo))
    if not 0 <= b - a < 10_000:
        raise argparse.ArgumentTypeError(f"{text}: FROM-TO, FROM <= TO, under 10000 seeds")
    return list(range(a, b + 1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m empathy.bench.ppg_motion")
    ap.add_argument("--seeds", type=_seeds, default="0-7")
    ap.add_argument("--seconds", type=number_in(float, 10, 86400), default=240.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    results = {s: score(motion_recording(s, args.seconds)) for s in args.seeds}
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    cols = ("f1", "false_beats_moving", "se_still", "ppv_still", "hr_mae_bpm", "hr_p95_bpm",
            "hr_coverage", "beats_rejected_motion")
    print("| seed | method | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 2) + "|")
    for s, rows in results.items():
        for name, r in rows.items():
            cells = [f"{r[c]:.3g}" if isinstance(r.get(c), float) else str(r.get(c, "-"))
                     for c in cols]
            print(f"| {s} | {name} | " + " | ".join(cells) + " |")
    print()
    for line in summary(results):
        print(line)
    return 0


def _mean_ci(v) -> str:
    """Mean and its 95 % t interval over the recordings (each recording one sample)."""
    from scipy import stats

    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return f"{v.mean():.3g}" if len(v) else "-"
    h = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return f"{v.mean():.3g} ({v.mean() - h:.3g}-{v.mean() + h:.3g})"


def summary(results: dict) -> list[str]:
    """Per method over all recordings: totals of false beats, means with 95 % intervals."""
    cols = ("f1", "se_still", "ppv_still", "hr_mae_bpm", "hr_p95_bpm", "hr_coverage")
    lines = ["| method | false beats in movement (total) | " + " | ".join(cols) + " |",
             "|---" * (len(cols) + 2) + "|"]
    for name in next(iter(results.values())):
        rows = [r[name] for r in results.values() if "error" not in r[name]]
        cells = [_mean_ci([r[c] for r in rows]) if c in rows[0] else "-" for c in cols]
        lines.append(f"| {name} | {sum(r['false_beats_moving'] for r in rows)} | "
                     + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
