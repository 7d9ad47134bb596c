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
"""

from __future__ import annotations

import argparse
import json

import numpy as np

STEP_AT_S = 60.0
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


def main(argv=None) -> None:
    from empathy.bench.wave_clock import reference_hr
    from empathy.edge.heart import waveform_peaks
    from empathy.edge.heart_corpus import RECORDS, available, record, record_data

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", default="mitdb-100",
                    choices=[r.name for r in RECORDS if r.kind in ("ecg", "ppg")])
    ap.add_argument("--steps", type=float, nargs="+", default=list(STEPS_S))
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--lone", action="store_true",
                    help="the wall clock steps under BrainFlow's stamps (one chunk off), not ours")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    rec = record(a.record)
    if not available(rec):
        raise SystemExit(f"{a.record}: not in cache/heart-corpus (scripts/install.sh)")
    x, fs = record_data(rec)
    x = x[: int(a.seconds * fs)]
    if len(x) < (STEP_AT_S + 40) * fs:
        raise SystemExit(f"{a.record}: under {STEP_AT_S + 40:g} s")
    ref_hr, ref_s = reference_hr(x, fs, rec.kind), waveform_peaks(x, fs, rec.kind).idx / fs
    base = run(x, fs, rec.kind, 0.0)
    rows = [measure(x, fs, rec.kind, s, base, ref_hr, ref_s, a.lone) for s in a.steps]
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


if __name__ == "__main__":
    main()
