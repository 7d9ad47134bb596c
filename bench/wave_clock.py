"""A real heart record through a seat from a device whose clock is off its declared rate.
`python -m empathy.bench.wave_clock [--record systole-ecg] [--seconds 300] [--json]`.

The device declares 250 Hz; its real rate (host time) is 250 x (1 + e) for e in 0, +-1,
+-2, +-3 %: the record (tuning records only) is resampled to that rate, so in host time the
heart beats as in the record. Chunks of 0.05-0.15 s are stamped with their first sample's
host time plus a latency of 2 ms + Exp(3 ms) (an LSL outlet's or a board thread's stamps),
read by the seat as they come (`SeatFeatures`, the edge's own path), and an estimate is
taken each second. Printed per rate error: HR availability (share of seconds with HR_OK
after the first 20 s), the detector's restarts, and HR error: median |HR - reference|
where the reference is the record's batch beats (`waveform_peaks` at its own rate) over
the same 8 s window. `--before` runs the time base as it was (samples counted at the
declared rate from the stream's first stamp, no correction) for the side by side.
The latency and chunk model are stated here, not fitted to anything of the estimator's.
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction

import numpy as np

from empathy.cli import number_in

DECLARED_HZ = 250.0
WARMUP_S = 20.0
RATE_ERRORS = (0.0, 0.01, -0.01, 0.02, -0.02, 0.03, -0.03)


def device_chunks(x: np.ndarray, fs_hz: float, rate_err: float, seed: int = 0,
                  declared_hz: float = DECLARED_HZ):
    """(stamp_us, samples, read_us) chunks of the record as the device sends them."""
    from scipy import signal

    real_hz = declared_hz * (1 + rate_err)
    q = Fraction(real_hz / fs_hz).limit_denominator(1000)
    y = signal.resample_poly(np.asarray(x, np.float64), q.numerator, q.denominator)
    rng = np.random.default_rng(seed)
    t0_us, i = 10**9, 0
    while i < len(y):
        n = int(rng.uniform(0.05, 0.15) * real_hz)
        true_us = t0_us + i * 1e6 / real_hz
        lat_us = 2000 + rng.exponential(3000)
        read_us = t0_us + (i + n) * 1e6 / real_hz + lat_us
        yield int(true_us + lat_us), y[i:i + n], int(read_us)
        i += n


def loaded_board_chunks(x: np.ndarray, fs_hz: float, seed: int):
    """The same record from bench/heart_noise.py's loaded BrainFlow synthetic board: its
    loop 0-10 % slow, batches of 15 samples stamped at the batch's start + k/250 s, stalls
    of 0.05-1 s (the signal goes on meanwhile: samples lost); read every 0.1 s (now and
    then up to 1 s late), each chunk stamped at its first sample as sensors/brainflow.py
    does. The record is sampled at the stamps' times, so host time is the record's."""
    from empathy.bench.heart_noise import loaded_synthetic_board

    stamps, made, _ = loaded_synthetic_board(seed, len(x) / fs_hz - 1.0)
    y = np.interp(stamps, np.arange(len(x)) / fs_hz, x)
    rng = np.random.default_rng(seed + 1)
    t0_us, now, i = 10**9, 0.0, 0
    while i < len(y):
        now += 0.1 + (rng.uniform(0, 1.0) if rng.random() < 0.1 else 0.0)
        j = int(np.searchsorted(made, now, "right"))
        if j > i:
            yield int(t0_us + stamps[i] * 1e6), y[i:j], int(t0_us + now * 1e6)
            i = j


def reference_hr(x: np.ndarray, fs_hz: float, kind: str):
    """HR at host second t from the record's batch beats over the seat's HR window."""
    from empathy.edge.features import HR_WINDOW_S
    from empathy.edge.heart import waveform_peaks

    beat_s = waveform_peaks(x, fs_hz, kind).idx / fs_hz

    def at(t_s: float) -> float:
        b = beat_s[(beat_s > t_s - HR_WINDOW_S) & (beat_s <= t_s)]
        return 60.0 * (len(b) - 1) / (b[-1] - b[0]) if len(b) >= 3 else 0.0
    return at


def seat_run(chunks, kind: str):
    """Feed a seat; yields (t_s since start, estimate, restarted) once a host second and at
    each restart of the detector."""
    from empathy.edge.features import SeatFeatures
    from empathy.sensors.base import Waveform

    feats, wave, next_s, start_us = SeatFeatures(baseline_s=10), None, 1.0, None
    for stamp_us, samples, read_us in chunks:
        start_us = stamp_us if start_us is None else start_us
        t_s = (read_us - start_us) / 1e6
        feats.add(Waveform(stamp_us, kind, DECLARED_HZ, samples))
        restarted = wave is not None and feats.waves.get(kind) is not wave
        wave = feats.waves.get(kind)
        if restarted or t_s >= next_s:
            yield t_s, feats.estimate(read_us), restarted
            next_s = max(next_s, np.floor(t_s) + 1.0)


def measure(x, fs_hz: float, kind: str, rate_err: float, seed: int = 0, chunks=None) -> dict:
    from empathy.wire import Flag

    ref = reference_hr(x, fs_hz, kind)
    ok = n = restarts = 0
    errs = []
    chunks = device_chunks(x, fs_hz, rate_err, seed) if chunks is None else chunks
    for t_s, est, restarted in seat_run(chunks, kind):
        restarts += restarted
        if t_s < WARMUP_S or restarted:
            continue
        n += 1
        if est["flags"] & Flag.HR_OK:
            ok += 1
            r = ref(t_s)
            if r:
                errs.append(abs(est["hr_bpm"] - r))
    return {"rate_err_pct": round(100 * rate_err, 1), "hr_available": round(ok / max(n, 1), 3),
            "restarts": restarts, "hr_err_bpm_median": round(float(np.median(errs)), 2)
            if errs else None, "hr_err_bpm_p95": round(float(np.percentile(errs, 95)), 2)
            if errs else None, "seconds": n}


def counted_clocks() -> None:
    """The time base as it was before the tracked one (bench only: the side by side)."""
    from empathy.edge import eda, features, motion, timebase

    class Counted(timebase.SampleClock):
        def follow(self, ts_us, n_samples):
            self.n += int(n_samples)

        def off_s(self, fs_hz, ts_us):  # no short gap bridged, no step taken either
            return 0.0
    for mod in (features, eda, motion):
        mod.SampleClock = Counted


def main(argv=None) -> None:
    from rich.progress import track

    from empathy.edge.heart_corpus import RECORDS, bench_record, record

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", default="systole-ecg",
                    choices=[r.name for r in RECORDS if r.kind in ("ecg", "ppg")])
    ap.add_argument("--seconds", type=number_in(float, 10, 86400), default=300.0)
    ap.add_argument("--before", action="store_true", help="the uncorrected time base")
    ap.add_argument("--loaded-board", type=number_in(int, 0, 100_000), metavar="RUNS", default=0,
                    help="instead: RUNS seeds of bench/heart_noise.py's loaded BrainFlow board")
    ap.add_argument("--first", type=number_in(int, 0, 2**32 - 1), default=100,
                    help="the loaded board's first seed (0-9 were looked at to set MIN_GAP_S)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    rec = record(a.record)
    if rec.held_out:
        raise SystemExit(f"{a.record} is held out: pick a tuning record")
    rec, x, fs = bench_record(a.record, a.seconds)
    if a.before:
        counted_clocks()
    if a.loaded_board:
        rows = [{"seed": s, **measure(x, fs, rec.kind, 0.0, chunks=loaded_board_chunks(x, fs, s))}
                for s in track(range(a.first, a.first + a.loaded_board), description="runs")]
    else:
        rows = [measure(x, fs, rec.kind, e) for e in track(RATE_ERRORS, description="rates")]
    if a.json:
        print(json.dumps({"record": a.record, "seconds": a.seconds, "before": a.before,
                          "rows": rows}))
        return
    print(f"{a.record}, {a.seconds:g} s, declared {DECLARED_HZ:g} Hz"
          f"{' (before: counted time base)' if a.before else ''}")
    head = "board seed" if a.loaded_board else "rate err %"
    print(f"{head}  HR avail  restarts  |HR err| median / p95 bpm")
    for r in rows:
        key = f"{r['seed']:10d}" if a.loaded_board else f"{r['rate_err_pct']:+10.1f}"
        print(f"{key}  {r['hr_available']:8.3f}  {r['restarts']:8d}  "
              f"{r['hr_err_bpm_median']} / {r['hr_err_bpm_p95']}")


if __name__ == "__main__":
    main()
