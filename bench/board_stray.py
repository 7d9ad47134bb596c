"""A serial board's stray old frames, and its clock gone back, through the host's mapping of
its clock into a seat. `python -m empathy.bench.board_stray [--record mitdb-100] [--json]`.

The board (its clock 20 min up) sends a heart record's ECG or PPG at its rate in frames of
0.1 s or 0.25 s (as ours: 25 samples), each when its last sample is taken plus 1-20 ms, an
accelerometer's frames of 0.5 s the same way, and a STATUS each second as it is stamped.
Cases, from STRAY_AT_S:
- repeat: every 20 s (its first 180 s), the heart frame of 1.5 s before sent again (a USB hiccup's
  retransmit);
- acc_late: every 20 s, an accelerometer frame sent 1.3 s late (its task stalled), the
  two due since right after it;
- set_back, near_zero: the board's clock set back 10 s for good, or back to near 0 (a
  power cycle whose boot HELLO was lost), no HELLO either way.
Each through `before` (BoardClock alone, the driver till now: a frame over 1 s behind the
newest starts the mapping afresh) and `after` (BoardGate). Per run, against the run with
no stray on the same mapping:
- off: heart frames stamped over 20 ms from where the run without a stray put them (strays:
  per stray; a clock gone back: its first second, against its arrival less its send delay);
- dropped: heart frames never given to the seat;
- restarts of the seat's heart detector; lost: seconds (one estimate a second) without
  HR_OK, less the run without a stray;
- held: frames held before the mapping followed a clock gone back, and for how long (s).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from empathy.sensors.firmware import protocol
from empathy.sensors.serial.board_clock import BoardClock, BoardGate

FRAME_S = {"ecg": 0.1, "ppg": 0.25}  # our boards' frames: 25 samples at 250 Hz, 100 Hz
ACC_FS, ACC_N = 50, 25  # 0.5-s frames
B0 = 1_200_000_000  # the board's clock: 20 min up
STRAY_AT_S, EVERY_S = 40.0, 20.0
SPAN_S = 180.0  # of the record (strays at 40-160 s)
OFF_US = 20_000


class Before:
    """The driver's mapping till now: BoardClock alone (a HELLO with seq 0 resets it)."""

    def __init__(self):
        self.clock = BoardClock()

    def feed(self, msg: tuple, arrival_us: int) -> list[tuple]:
        if msg[0] == protocol.HELLO and msg[1] == 0:
            self.clock.reset()
        return [(msg, arrival_us, self.clock.to_host(msg[2], arrival_us))]


def frames(x: np.ndarray, n: int, fs: float, case: str, loaded: bool, seed: int = 0) -> list[tuple]:
    """(arrival µs, kind, board µs, samples, heart frame index or -1, on a clock gone back), in
    the order sent."""
    rng = np.random.default_rng(seed)
    out, span_s = [], len(x) / fs
    for k in range(len(x) // n):
        t = k * n / fs
        out.append((t + n / fs + rng.uniform(1e-3, 2e-2), protocol.ECG, t, x[k * n:(k + 1) * n], k))
    for k in range(int(span_s * ACC_FS) // ACC_N):
        t = k * ACC_N / ACC_FS
        out.append((t + ACC_N / ACC_FS + rng.uniform(1e-3, 2e-2), protocol.ACC, t,
                    np.full(ACC_N, 1000.0), -1))
    out += [(float(t), protocol.STATUS, float(t), None, -1) for t in range(int(span_s))]
    out.sort(key=lambda f: f[0])
    at = np.arange(STRAY_AT_S, span_s - 5, EVERY_S)
    if case == "repeat":
        for a in at:
            i = next(j for j, f in enumerate(out) if f[0] >= a and f[1] == protocol.ECG)
            k = out[i][4] - round(1.5 * fs / n)
            old = next(f for f in out if f[4] == k)
            out.insert(i + 1, (out[i][0] + 1e-4,) + old[1:])
    elif case == "acc_late":
        for a in at:
            late = [j for j, f in enumerate(out)
                    if f[1] == protocol.ACC and a - 1.3 <= f[2] < a - 0.1]
            moved = [out[j] for j in late]
            for j in reversed(late):
                out.pop(j)
            i = next(j for j, f in enumerate(out) if f[2] >= a + 0.3) + 1
            out[i:i] = [(out[i - 1][0] + 1e-4 * (n + 1),) + f[1:] for n, f in enumerate(moved)]
    if loaded:  # the host reads at its loop's turns, 20-150 ms apart: a frame when read
        turns = np.cumsum(rng.choice((0.02, 0.02, 0.12, 0.15), int(span_s * 20)))
        out = [(float(turns[np.searchsorted(turns, f[0])]),) + f[1:] for f in out]
    back = {"set_back": 10.0, "near_zero": B0 / 1e6 + STRAY_AT_S - 0.01}.get(case, 0.0)
    return [(int(a * 1e6) + 5 * 10**9, kind, int(B0 + (t - back * (t >= STRAY_AT_S)) * 1e6), y,
             k, bool(back) and t >= STRAY_AT_S) for a, kind, t, y, k in out]


def run(x: np.ndarray, fs: float, kind: str, case: str, mapping, loaded: bool) -> dict:
    from empathy.edge.features import SeatFeatures
    from empathy.sensors.base import Waveform
    from empathy.wire import Flag

    seat, wave, restarts, stamps, ok = SeatFeatures(baseline_s=10), None, 0, {}, []
    again, new_fed, first_new, held, next_us = 0, 0, None, None, None
    n = round(FRAME_S[kind] * fs)
    for seq, (arrival, what, board, y, k, new) in enumerate(frames(x, n, fs, case, loaded), 1):
        new_fed += new
        first_new = arrival if new and first_new is None else first_new
        out = mapping.feed((what, seq, board & 0xFFFFFFFF, (y, k, new)), arrival)
        for (kind_, _, _, (y_, k_, new_)), _, ts in out:
            if held is None and new_ and kind_ == protocol.ECG:  # the clock gone back's first
                held = (new_fed - 1, (arrival - first_new) / 1e6)
            if kind_ == protocol.ECG:
                again += k_ in stamps
                stamps.setdefault(k_, ts)
                seat.add(Waveform(ts, kind, fs, y_))
            elif kind_ == protocol.ACC:
                seat.add(Waveform(ts, "acc", ACC_FS, y_))
        restarts += wave is not None and seat.waves.get(kind) is not wave
        wave = seat.waves.get(kind)
        next_us = next_us or arrival + 10**6
        if arrival >= next_us:
            ok.append(bool(seat.estimate(arrival)["flags"] & Flag.HR_OK))
            next_us += 10**6
    return {"stamps": stamps, "again": again, "restarts": restarts, "ok": np.array(ok),
            "held": held or (0, 0.0)}


def compare(x: np.ndarray, fs: float, kind: str, case: str, mapping, loaded: bool) -> dict:
    base = run(x, fs, kind, "clean", mapping(), loaded)
    r = run(x, fs, kind, case, mapping(), loaded)
    if case in ("set_back", "near_zero"):  # against where the clock's own time puts them
        ks = [k for k in r["stamps"] if 0 <= k * FRAME_S[kind] - STRAY_AT_S < 1]
        lag = [r["stamps"][k] - base["stamps"][k] for k in ks]
        off, per = sum(abs(v - np.median(lag)) > OFF_US for v in lag), 1
    else:
        off = sum(abs(r["stamps"][k] - base["stamps"][k]) > OFF_US for k in r["stamps"])
        per = len(np.arange(STRAY_AT_S, len(x) / fs - 5, EVERY_S))
    n = min(len(base["ok"]), len(r["ok"]))
    lost = int((~r["ok"][:n]).sum() - (~base["ok"][:n]).sum())
    return {"case": case, "per": per, "off": (off + r["again"]) / per,
            "dropped": len(base["stamps"]) - len(r["stamps"]), "restarts": r["restarts"] / per,
            "lost_s": lost / per, "held": r["held"][0], "held_s": round(r["held"][1], 2)}


def main(argv=None) -> int:
    from empathy.edge.heart_corpus import RECORDS, bench_record

    ap = argparse.ArgumentParser(prog="python -m empathy.bench.board_stray")
    ap.add_argument("--record", default="mitdb-100",
                    choices=[r.name for r in RECORDS if r.kind in FRAME_S])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rec, x, fs = bench_record(args.record, SPAN_S)
    if len(x) < (STRAY_AT_S + EVERY_S) * fs:
        raise SystemExit(f"{args.record}: under {STRAY_AT_S + EVERY_S:g} s")
    rows = [dict(compare(x, fs, rec.kind, case, m, loaded), mapping=name, reader=reader)
            for reader, loaded in (("idle", False), ("loaded", True))
            for case in ("repeat", "acc_late", "set_back", "near_zero")
            for name, m in (("before", Before), ("after", BoardGate))]
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{args.record}: per stray (a clock gone back: once)")
    for r in rows:
        print(f"{r['reader']:>6} {r['case']:>9} {r['mapping']:>6}: off {r['off']:4.1f} frames, "
              f"dropped {r['dropped']}, restarts {r['restarts']}, lost {r['lost_s']:4.1f} s, "
              f"held {r['held']} frames {r['held_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
