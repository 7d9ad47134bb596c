"""What a seat's heart rates cost per estimate: `HeartWindow.heart_rates` (the wire's rate,
its vouch and the arousal's sinus rate, one pass) beside `heart_rate` alone (the wire's).
`python -m empathy.bench.heart_rates [RECORD ...] [--seconds S] [--repeat N]`.

Each record's first S seconds go through a seat (bench/seat_hrv.py's `seat_stream`, 0.1-s
chunks, an estimate a second); at each estimate after the HR window has filled, each call
is timed on the seat's window as the estimate left it (classified and labelled, as the seat
asks after `quality` and `hrv_window`), best of N, the two in turn so a shared machine's
load falls on both alike. Per record: estimates timed, µs per estimate p50 and p90.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from empathy.cli import number_in

# tuning ECG: trigeminy (119), multiform PVCs one in three (QT sel233), bigeminy runs (200),
# sinus with rare ectopy (100)
RECORDS = ("mitdb-119", "qtdb-sel233", "mitdb-200", "mitdb-100")


def best_us(call, repeat: int) -> float:
    """The fastest of `repeat` calls, µs."""
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t)
    return best * 1e6


def time_record(name: str, seconds: float, repeat: int, calls: dict) -> dict[str, list]:
    """{call name: µs per estimate} over the record's estimates; `calls`: name -> f(heart,
    now_us, window_s)."""
    from empathy.bench.seat_hrv import seat_stream
    from empathy.edge.heart_corpus import record, record_data
    from empathy.edge.latency import HR_WINDOW_S

    x, fs = record_data(record(name))
    out: dict[str, list] = {k: [] for k in calls}
    for now, _, heart in seat_stream(x[:int(seconds * fs)], fs, 1.0):
        if heart is None or heart.first_us is None or now - heart.first_us < HR_WINDOW_S * 1e6:
            continue
        for k, f in calls.items():
            out[k].append(best_us(lambda: f(heart, now, HR_WINDOW_S), repeat))
    return out


CALLS = {"heart_rates": lambda h, now, w: h.heart_rates(now, w),
         "heart_rate": lambda h, now, w: h.heart_rate(now, w)}


def main(argv=None, calls: dict = CALLS) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="*", default=list(RECORDS))
    ap.add_argument("--seconds", type=number_in(float, 1, 86400), default=120.0)
    ap.add_argument("--repeat", type=number_in(int, 1, 1000), default=5)
    a = ap.parse_args(argv)
    pool: dict[str, list] = {k: [] for k in calls}
    for name in a.records:
        got = time_record(name, a.seconds, a.repeat, calls)
        for k, v in got.items():
            pool[k].extend(v)
        print(name, *(_cell(k, v) for k, v in got.items()), flush=True)
    print("pooled", *(_cell(k, v) for k, v in pool.items()))
    return 0


def _cell(name: str, us: list) -> str:
    if not us:
        return f"{name}: none"
    return f" {name}: n {len(us)} p50 {np.median(us):.0f} p90 {np.percentile(us, 90):.0f} µs"


if __name__ == "__main__":
    raise SystemExit(main())
