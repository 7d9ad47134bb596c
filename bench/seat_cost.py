"""What a seat's heart pipeline costs in CPU per minute of signal, end to end.
`python -m empathy.bench.seat_cost [RECORD ...] [--seconds S] [--repeat N] [--spikes]`.

Each record's first S seconds go through `SeatFeatures` as the runtime feeds it (bench/
seat_hrv.py's `seat_stream`: 0.1-s chunks, an estimate a second); the process's CPU time
for the whole stream, best of N (a shared machine's load only adds). `--spikes`: random-
spike noise (tests/test_seat_hrv.py's case, seed 0) at 100, 250 and 360 Hz beside. Per
case: CPU ms per minute of signal; the sum over the cases last.
"""

from __future__ import annotations

import argparse
import time

from empathy.cli import number_in

# tuning records: ECG trigeminy (119), bigeminy runs (200), sinus at 500 Hz (qtdb-sel233's
# 250 Hz: multiform PVCs), a PPG
RECORDS = ("mitdb-119", "mitdb-200", "qtdb-sel233", "systole-ecg", "systole-ppg")


def cpu_ms(x, fs: float, kind: str, repeat: int) -> float:
    """The best of `repeat` CPU times (ms) of a fresh seat fed x."""
    from empathy.bench.seat_hrv import seat_stream

    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        for _ in seat_stream(x, fs, 1.0, kind):
            pass
        best = min(best, time.process_time() - t)
    return best * 1e3


def cases(names, seconds: float, spikes: bool):
    """(name, samples, fs, kind) of each case."""
    from empathy.bench.seat_hrv import spike_noise
    from empathy.edge.heart_corpus import record, record_data

    for name in names:
        rec = record(name)
        x, fs = record_data(rec)
        yield name, x[:int(seconds * fs)], fs, rec.kind
    if spikes:
        for fs in (100, 250, 360):
            yield f"spikes-{fs}Hz", spike_noise(0, fs, seconds), float(fs), "ecg"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="*", default=list(RECORDS))
    ap.add_argument("--seconds", type=number_in(float, 1, 86400), default=120.0)
    ap.add_argument("--repeat", type=number_in(int, 1, 1000), default=3)
    ap.add_argument("--spikes", action="store_true")
    a = ap.parse_args(argv)
    try:
        todo = list(cases(a.records, a.seconds, a.spikes))
    except KeyError as e:
        ap.error(str(e.args[0]))
    cpu_ms(*todo[0][1:], 1)  # (imports and caches outside the figures)
    total = 0.0
    for name, x, fs, kind in todo:
        ms = cpu_ms(x, fs, kind, a.repeat)
        total += ms
        print(f"{name:16s} {kind}  {len(x) / fs:6.1f} s  {ms * 60 * fs / max(len(x), 1):7.0f} "
              f"ms CPU per minute", flush=True)
    print(f"all {len(todo)} cases: {total:.0f} ms CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
