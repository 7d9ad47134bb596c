"""A host clock step in the middle of a real heart record, through a seat.
`python -m empathy.bench.clock_step [--record mitdb-100] [--steps -3 -2 ...] [--json]`.

The record comes from bench/wave_clock.py's device (declared 250 Hz, its real rate 2 %
fast, chunks of 0.05-0.15 s stamped at their first sample plus 2 ms + Exp(3 ms)); at
STEP_AT_S the host clock steps by S seconds (NTP or chrony stepping it, someone setting
the time): every later stamp and every later estimate's `now` is S off, no sample is
lost. `--lone`: the wall clock under a BrainFlow board's stamps steps instead (ours, the
monotonic one, does not): sensors/brainflow.py moves each read's stamps onto ours by the
offset at the read, so the one read across the step has its first sample's stamp S early
(stamped before the step, moved by the offset after it), and the rest are right.
One estimate per second of real time. Per step, against the same run without one:
- lost: seconds of real time from STEP_AT_S to the end without HR_OK, less the same count
  without the step (negative: the step run had more);
- restarts of the seat's detector;
- HR error: median and max |HR - the record's batch beats' HR| (bench/wave_clock.py's
  reference, at the real time) over the HR_OK seconds of the 30 s after the step;
- disorder: estimates at which the seat's held beats were not in time order;
- beat times: SNAP_AFTER_S after the step, each held beat's time against the nearest batch
  beat's (the real time, plus S: the new clock): the median |difference| (ms), and how
  many of the held beats are over OFF_MS from every batch beat (off: misplaced);
- RR error: max |RR - the batch beats' RR| over the held intervals joined to the one before
  (an interval across the step among them), ms: one across the step with a wrong length
  shows here.
A second seat, through the same step, reads real skin conductance (eda corpus
systole-task1, a board's 16 Hz) and a real accelerometer (the wrist record
wrist-s1-low-bike's magnitude, 60 s repeated, 50 Hz) from devices 2 % fast, beside the
record itself where it is a PPG (the accelerometer grades its beats); against its run
without the step:
- EDA lost: seconds from STEP_AT_S without EDA quality (the estimate's), less the same
  count without the step; EDA and ACC restarts;
- SCR off: responses given out whose peak, taken back to real time, has no twin within
  OFF_MS in the run without the step, and the reverse, over those peaking after STEP_AT_S;
- moving s off: seconds after STEP_AT_S that the accelerometer calls moving in one run and
  not the other (on the new clock), and motion-gated beats judged, rejected and left
  unjudged against that run (PPG records only).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from empathy.cli import number_in

STEP_AT_S = 60.0
EDA_RECORD, EDA_HZ = "systole-task1", 16.0  # a board's GSR front end (sim/board.py)
ACC_RECORD, ACC_HZ = "wrist-s1-low-bike", 50.0  # its moving spans are few (walking is all)
STEPS_S = (-3.0, -2.0, -0.5, 0.5, 2.0, 3.0, 10.0)
RATE_ERR = 0.02
SNAP_AFTER_S = 15.0  # the held beats are looked at this long after the step
OFF_MS = 100.0  # a held beat further than this from every batch beat is misplaced


def held_beats(heart):
    """(t_end µs, rr ms, joined) of the raw intervals a HeartWindow holds, classified or not."""
    t, rr, _, _, joined = heart.beats[:5]
    new = heart.new
    return (np.concatenate((t, new[0])), np.concatenate((rr, new[1])),
            np.concatenate((joined, np.asarray(new[4], bool))))


def run(x, fs: float, kind: str, step_s: float, lone: bool = False, seed: int = 0) -> dict:
    """The seat through the record with the clock stepped by step_s at STEP_AT_S: the host's
    (every later stamp and `now`), or `lone`: the wall clock under BrainFlow's stamps (one
    chunk's stamp off by -step_s, see the module docstring)."""
    from empathy.bench.wave_clock import DECLARED_HZ, device_chunks
    from empathy.edge.features import SeatFeatures
    from empathy.sensors.base import Waveform
    from empathy.wire import Flag

    feats, wave, restarts, disorder, done = SeatFeatures(baseline_s=10), None, 0, 0, False
    t0_us, next_s, rows, snap = 10**9, 1.0, [], None
    step_us = int(step_s * 1e6)
    for stamp, y, read in device_chunks(x, fs, RATE_ERR, seed):
        off = step_us if stamp - t0_us >= STEP_AT_S * 1e6 else 0
        if lone:  # the read across the step: its first sample's stamp moved by -step
            stamp, off, done = stamp - (off if not done else 0), 0, done or bool(off)
        feats.add(Waveform(stamp + off, kind, DECLARED_HZ, y))
        restarts += wave is not None and feats.waves.get(kind) is not wave
        wave = feats.waves.get(kind)
        real_s = (read - t0_us) / 1e6
        if real_s >= next_s:
            e = feats.estimate(read + off)
            rows.append((real_s, bool(e["flags"] & Flag.HR_OK), e["hr_bpm"]))
            if wave is not None:
                disorder += bool(np.any(np.diff(held_beats(wave.heart)[0]) <= 0))
            if snap is None and real_s >= STEP_AT_S + SNAP_AFTER_S and wave is not None:
                snap = held_beats(wave.heart)
            next_s = np.floor(real_s) + 1.0
    return {"rows": rows, "restarts": restarts, "disorder": disorder, "beats": snap}


def measure(x, fs: float, kind: str, step_s: float, base: dict, ref_hr, ref_s,
            lone: bool = False) -> dict:
    r = run(x, fs, kind, step_s, lone)
    after = [(t, ok, hr) for t, ok, hr in r["rows"] if t >= STEP_AT_S]
    missing = sum(not ok for _, ok, _ in after)
    base_missing = sum(not ok for t, ok, _ in base["rows"] if t >= STEP_AT_S)
    errs = [abs(hr - ref_hr(t)) for t, ok, hr in after if ok and t < STEP_AT_S + 30]
    t_end, rr, joined = r["beats"]
    # each held beat against the nearest batch beat, on the new clock for the whole window
    real = (t_end - 10**9 - (0 if lone else step_s) * 1e6) / 1e6
    k = np.clip(np.searchsorted(ref_s, real), 1, len(ref_s) - 1)
    k = np.where(np.abs(ref_s[k - 1] - real) < np.abs(ref_s[k] - real), k - 1, k)
    dt_ms = np.abs(real - ref_s[k]) * 1000
    ref_rr = np.diff(ref_s, prepend=np.nan)[k] * 1000
    rr_err = np.abs(rr - ref_rr)[joined & (dt_ms < 100)]
    return {"step_s": step_s, "lost_s": missing - base_missing, "restarts": r["restarts"],
            "hr_err_median": round(float(np.median(errs)), 2) if errs else None,
            "hr_err_max": round(float(np.max(errs)), 2) if errs else None,
            "disorder": r["disorder"],
            "beat_ms_median": round(float(np.median(dt_ms)), 1),
            "beats_off": int(np.sum(dt_ms > OFF_MS)), "beats": len(dt_ms),
            "rr_err_max_ms": round(float(np.nanmax(rr_err)), 1) if len(rr_err) else None}


def side_signals(seconds: float, heart=None) -> dict:
    """kind -> (samples, their rate, the device's declared rate) for the side seat: real EDA
    (µS) and accelerometer magnitude (mG), and `heart` (samples, rate) where it is a PPG."""
    from empathy.bench import eda_corpus
    from empathy.edge.heart_corpus import available, motion_axes, record

    rec = next(r for r in eda_corpus.RECORDS if r.name == EDA_RECORD)
    acc_rec = record(ACC_RECORD)
    if not (eda_corpus.available(rec) and available(acc_rec)):
        raise SystemExit(f"{EDA_RECORD} or {ACC_RECORD}: not in cache (scripts/install.sh)")
    eda, eda_fs = eda_corpus.record_data(rec)
    mag = np.linalg.norm(motion_axes(acc_rec), axis=1)
    n = int(seconds * acc_rec.fs_hz)
    out = {"eda": (eda[:int(seconds * eda_fs)], eda_fs, EDA_HZ),
           "acc": (np.tile(mag, n // len(mag) + 1)[:n], acc_rec.fs_hz, ACC_HZ)}
    if heart is not None:
        from empathy.bench.wave_clock import DECLARED_HZ

        out["ppg"] = (*heart, DECLARED_HZ)
    return out


def side_run(streams: dict, step_s: float, lone: bool = False, seed: int = 0) -> dict:
    """The side seat through `streams` (side_signals) with the clock stepped as in `run`:
    per second of real time (t, EDA quality > 0), the responses as given out (peak µS on
    the clock of that moment), restarts, and the accelerometer's track and report."""
    import heapq

    from empathy.bench.wave_clock import device_chunks
    from empathy.edge.features import SeatFeatures
    from empathy.sensors.base import Waveform

    feats, t0_us, next_s, step_us = SeatFeatures(baseline_s=10), 10**9, 1.0, int(step_s * 1e6)
    rows, peaks, given, restarts = [], [], 0, {"eda": 0, "acc": 0}
    done, eda, track = set(), None, None
    def device(k, kind, x, fs, decl):  # (read, k, stamp, kind, rate, samples), in read order
        for stamp, y, read in device_chunks(x, fs, RATE_ERR, seed + k, decl):
            yield read, k, stamp, kind, decl, y
    chunks = heapq.merge(*[device(k, kind, *v) for k, (kind, v) in enumerate(streams.items())])
    for read, _, stamp, kind, decl, y in chunks:
        off = step_us if stamp - t0_us >= STEP_AT_S * 1e6 else 0
        if lone and off:  # each stream's read across the step: its first sample's stamp moved
            stamp, off = stamp - (off if kind not in done else 0), 0
            done.add(kind)
        feats.add(Waveform(stamp + off, kind, decl, y))
        if feats.eda is not eda:
            restarts["eda"] += eda is not None
            eda, given = feats.eda, 0
        if eda is not None and eda.stream.count > given:
            peaks += [p for _, p, _, _ in list(eda.scrs)[given - eda.stream.count:]]
            given = eda.stream.count
        if feats.motion.track is not track:
            restarts["acc"] += track is not None
            track = feats.motion.track
        real_s = (read - t0_us) / 1e6
        if real_s >= next_s:
            feats.estimate(read + off)
            rows.append((real_s, feats.eda_report.get("quality", 0.0) > 0))
            next_s = np.floor(real_s) + 1.0
    return {"rows": rows, "peaks": np.asarray(peaks), "restarts": restarts,
            "track": feats.motion.track, "report": feats.motion.report(), "end_s": real_s}


def side_measure(streams: dict, step_s: float, base: dict, lone: bool = False) -> dict:
    r = side_run(streams, step_s, lone)
    shift_us = 0.0 if lone else step_s * 1e6  # the new clock against real time

    def lost(run):
        return sum(not ok for t, ok in run["rows"] if t >= STEP_AT_S)

    def after(peaks, sh):  # real seconds of the peaks after the step
        s = (peaks - 10**9 - sh) / 1e6
        return s[s >= STEP_AT_S + 0.5]

    ours, theirs = after(r["peaks"], shift_us), after(base["peaks"], 0.0)
    def unmatched(a, b):  # of a, those with no twin in b within OFF_MS
        return sum(not np.any(np.abs(b - t) * 1000 <= OFF_MS) for t in a)
    scr_off = int(unmatched(ours, theirs) + unmatched(theirs, ours))
    grid = np.arange(STEP_AT_S + 1, min(r["end_s"], base["end_s"]) - 1, 0.01) * 1e6 + 10**9
    moving_off = round(0.01 * sum(base["track"].moving(t) != r["track"].moving(t + shift_us)
                                  for t in grid), 2) if "acc" in streams else None
    rep, brep = r["report"], base["report"]
    return {"eda_lost_s": lost(r) - lost(base), "eda_restarts": r["restarts"]["eda"],
            "acc_restarts": r["restarts"]["acc"], "scr_off": scr_off, "scrs": len(theirs),
            "moving_s_off": moving_off,
            "gate": None if "ppg" not in streams else {
                k: rep[k] - brep[k] for k in ("beats_judged", "beats_rejected_motion",
                                              "beats_unjudged")}}


def main(argv=None) -> None:
    from empathy.bench.wave_clock import reference_hr
    from empathy.edge.heart import waveform_peaks
    from empathy.edge.heart_corpus import RECORDS, bench_record

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", default="mitdb-100",
                    choices=[r.name for r in RECORDS if r.kind in ("ecg", "ppg")])
    ap.add_argument("--steps", type=number_in(float, -3600, 3600), nargs="+", default=list(STEPS_S))
    ap.add_argument("--seconds", type=number_in(float, 10, 86400), default=180.0)
    ap.add_argument("--lone", action="store_true",
                    help="the wall clock steps under BrainFlow's stamps (one chunk off), not ours")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    rec, x, fs = bench_record(a.record, a.seconds)
    if len(x) < (STEP_AT_S + 40) * fs:
        raise SystemExit(f"{a.record}: under {STEP_AT_S + 40:g} s")
    ref_hr, ref_s = reference_hr(x, fs, rec.kind), waveform_peaks(x, fs, rec.kind).idx / fs
    base = run(x, fs, rec.kind, 0.0)
    rows = [measure(x, fs, rec.kind, s, base, ref_hr, ref_s, a.lone) for s in a.steps]
    side = side_signals(len(x) / fs, (x, fs) if rec.kind == "ppg" else None)
    side_base = side_run(side, 0.0)
    for r in rows:
        r["side"] = side_measure(side, r["step_s"], side_base, a.lone)
    if a.json:
        print(json.dumps({"record": a.record, "lone": a.lone, "rows": rows}))
        return
    what = "BrainFlow's wall clock" if a.lone else "host clock"
    print(f"{a.record}, {len(x) / fs:.0f} s, {what} step at {STEP_AT_S:g} s (device +2 %)")
    print("step s  lost s  restarts  |HR err| med/max  disorder  beat ms  off/held  RR err max ms")
    for r in rows:
        print(f"{r['step_s']:+6.1f}  {r['lost_s']:6d}  {r['restarts']:8d}  "
              f"{r['hr_err_median']} / {r['hr_err_max']}  {r['disorder']:8d}  "
              f"{r['beat_ms_median']}  {r['beats_off']}/{r['beats']}  {r['rr_err_max_ms']}")
    print(f"side seat: EDA {EDA_RECORD} ({EDA_HZ:g} Hz), accelerometer {ACC_RECORD} "
          f"({ACC_HZ:g} Hz){', the PPG' if rec.kind == 'ppg' else ''}")
    print("step s  EDA lost s  restarts EDA/ACC  SCR off/after  moving s off  "
          "gated beats judged/rejected/unjudged vs no step")
    for r in rows:
        d, g = r["side"], r["side"]["gate"]
        print(f"{r['step_s']:+6.1f}  {d['eda_lost_s']:10d}  {d['eda_restarts']:8d}/"
              f"{d['acc_restarts']:<7d}  {d['scr_off']:6d}/{d['scrs']:<6d}  "
              f"{d['moving_s_off'] or 0:12.2f}  "
              f"{'-' if g is None else '/'.join(f'{v:+d}' for v in g.values())}")


if __name__ == "__main__":
    main()
