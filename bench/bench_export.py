"""`empathy session export` of a long show: a session of SEATS seats x MINUTES at the edge's
10 Hz (with frames at 24 fps, a segment a minute, the audience state at 2 Hz and a units
report every 5 s), each format exported in its own process, peak RSS and CPU-seconds each.

    python -m empathy.bench.bench_export make DIR [SEATS MINUTES [SEGMENTS]]
    python -m empathy.bench.bench_export run DIR FORMAT OUT   # one line: format, RSS, CPU-s

A 1,000-seat 3-h show is 108 million samples (~0.45 KB each held as Python rows): exports
that hold the session do not fit in memory; these figures show whether memory grows with it.
20 seats x 120 min (1.44 M samples), a loaded 2-core machine (CPU noisy), whole session read
first -> a seat at a time: parquet 951 -> 213 MB (10.4 -> 13.0 CPU-s), xdf 904 -> 119 MB
(9.0 -> 10.7), edf 901 -> 128 MB (12.6 -> 16.1), bids 901 -> 131 MB (34.3 -> 36.3); xdf,
edf and bids byte-identical (cmp), parquet read back equal (row groups of 65,536 rows).
4 seats x 180 min (with the state and units events), `empathy session export` under
/usr/bin/time, frame log and events read whole -> streamed: xdf 165 -> 99 MB peak RSS (5.2
-> 3.6 CPU-s), edf 169 -> 94 MB, bids 181 -> 105 MB, csv 40 -> 40, parquet 213 -> 213;
every file byte-identical (cmp).
"""

from __future__ import annotations

import json
import resource
import sqlite3
import sys
from pathlib import Path

import numpy as np

from empathy.host.session import store


def make(folder: Path, seats: int, minutes: float, segments: int = 0) -> Path:
    """The session; `segments` segment starts spread over it (0: one a minute)."""
    rec = store.Recorder(folder, {"story": "bench"})
    rec.close()
    rng = np.random.default_rng(1)
    n = int(minutes * 600)
    db = sqlite3.connect(rec.path)
    for seat in range(1, seats + 1):
        ts = 10**9 + np.arange(n) * 100_000 + rng.integers(0, 3000, n)
        hr = np.where(rng.random(n) < 0.05, 0, np.round(60 + 30 * rng.random(n), 2))
        expr = np.where(rng.random(n) < 0.1, 15, rng.integers(0, 7, n))
        db.executemany("INSERT INTO samples VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", (
            (int(t), seat % 7, seat, i, float(h), 40.5, 4.25, 0.1, -0.2, int(e), 0.5, 0)
            for i, (t, h, e) in enumerate(zip(ts, hr, expr))))
    frames = int(minutes * 60 * 24)
    db.executemany("INSERT INTO frames VALUES (?,?,?,?,?)", (
        (10**9 + i * 41_667, i, f"seg{i // 1440}", round(i % 1440 / 24, 4), 0.5)
        for i in range(frames)))
    segments = segments or int(minutes)
    db.executemany("INSERT INTO events VALUES (?,?,?)", (
        (10**9 + int(m * minutes * 60e6 / segments), "segment",
         json.dumps({"segment": f"seg{m}"})) for m in range(segments)))
    # and what else a show records: its audience state twice a second, and every 5 s each
    # unit's report (the exports read its clock sync)
    units = sorted({seat % 7 for seat in range(1, seats + 1)})
    db.executemany("INSERT INTO events VALUES (?,?,?)", (
        (10**9 + i * 500_000, "state", json.dumps({
            "ts_us": 10**9 + i * 500_000, "arousal": 0.1, "arousal_se": 0.05, "valence": 0.0,
            "valence_se": 0.05, "seats_total": seats, "seats_good": seats, "synchrony": 0.4,
            "rise": 0.0, "spike": 0.0, "synchrony_unlagged": 0.4, "lag_s": 9.0}))
        for i in range(int(minutes * 120))))
    db.executemany("INSERT INTO events VALUES (?,?,?)", (
        (10**9 + i * 5_000_000, "units", json.dumps([
            {"unit": u, "silent_s": 0.1, "loss": 0.0, "impossible": 0, "firmware": "1.4.0",
             "battery": 90, "sensors": 7, "offset_us": 120 + u, "drift_ppb": 300,
             "rtt_us": 900 + (i * 7 + u) % 400, "sync_loss_permille": 0, "uplink_fail": 0,
             "estimate_lag_ms": 9000} for u in units]))
        for i in range(int(minutes * 12))))
    db.commit()
    db.close()
    return rec.path


def run(folder: Path, fmt: str, out: Path) -> str:
    from empathy.host.session.exports import export

    export(store.sessions(folder)[0], out, fmt)
    u = resource.getrusage(resource.RUSAGE_SELF)
    return f"{fmt}\tpeak RSS {u.ru_maxrss / 1024:.0f} MB\tCPU {u.ru_utime + u.ru_stime:.1f} s"


if __name__ == "__main__":
    if sys.argv[1] == "make":
        print(make(Path(sys.argv[2]), *(int(a) for a in sys.argv[3:6] or (20, 30))))
    else:
        print(run(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])))
