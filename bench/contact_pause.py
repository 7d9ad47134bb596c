"""Lost contact against the heart's own pauses, through a seat (the edge's own path).
`python -m empathy.bench.contact_pause [--records NAME ...] [--json]`.

Pauses: each record through a seat in 0.1-s chunks (bench/seat_hrv.seat_stream), an
estimate every 0.5 s from 10 s on. The electrodes stay on all along, so every estimate
without the wire's CONTACT bit is false; counted over the record and in the annotated
intervals of PAUSE_S or more (a sick sinus' pauses: qtdb-sel232), up to LATE_S after
their end (the next beat is found that late).
Unplugs: the same record's first UNPLUG_AT_S + HOLD_S, the leads coming off at each of
UNPLUG_AT_S for the rest, as front ends show it (the levels are this bench's own):
- rail: the amplifier sits on its rail (the record's top);
- zero: the board reads zeros (a sensor unplugged from its socket);
- hum: a floating input picks up the mains (50 Hz, 0.3 mV) and noise (0.02 mV rms);
- quiet: noise alone (0.01 mV rms: a shielded floating input).
Time from the unplug to the first estimate (one each 0.1 s) without CONTACT, the worst
over UNPLUG_AT_S (None: none within HOLD_S), and the share of the estimates from then on
that still had CONTACT (a floating lead's noise can bring it back: `back`).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

PAUSE_S = 2.0
LATE_S = 1.0
EVERY_S = 0.5
FROM_S = 10.0
UNPLUG_AT_S = (30.0, 33.37, 36.71)  # anywhere in the cardiac cycle
HOLD_S = 30.0  # (a floating lead's noise brought CONTACT back 13 s on: tests/redteam/test_heart20)
RECORDS = ("qtdb-sel232", "mitdb-100", "mitdb-106", "mitdb-119", "qtdb-sel117",
           "systole-ecg")
UNPLUGS = ("rail", "zero", "hum", "quiet")


def unplugged(x: np.ndarray, fs: float, at_s: float, how: str, seed: int = 0) -> np.ndarray:
    """x with the leads off from at_s on, as `how` (see the module docstring)."""
    y, a = x.copy(), int(at_s * fs)
    t = np.arange(len(y) - a) / fs
    noise = np.random.default_rng(seed).normal(0.0, 1.0, len(t))
    y[a:] = {"rail": np.full(len(t), np.max(x)), "zero": np.zeros(len(t)),
             "hum": 0.3 * np.sin(2 * np.pi * 50 * t) + 0.02 * noise,
             "quiet": 0.01 * noise}[how]
    return y


def pauses(name: str) -> dict:
    """Estimates without CONTACT on a record whose electrodes stay on."""
    from empathy.bench.seat_hrv import T0_US, seat_stream
    from empathy.edge.heart_corpus import annotated_beats, record, record_data
    from empathy.wire import Flag

    rec = record(name)
    x, fs = record_data(rec)
    x = x[:int(300 * fs)]
    ann = annotated_beats(rec, len(x), fs)
    long = [] if ann is None else [(a, b) for a, b in zip(ann[:-1], ann[1:]) if b - a >= PAUSE_S]
    off = in_pause = n = 0
    for now, e, _ in seat_stream(x, fs, EVERY_S):
        t = (now - T0_US) / 1e6
        if t < FROM_S:
            continue
        n += 1
        if not e["flags"] & Flag.CONTACT:
            off += 1
            in_pause += any(a <= t <= b + LATE_S for a, b in long)
    return {"record": name, "estimates": n, "contact_off": off, "pauses": len(long),
            "longest_s": round(max((b - a for a, b in long), default=0.0), 2),
            "contact_off_in_pauses": in_pause}


def time_to_off(name: str, how: str, back: bool = True) -> tuple[float | None, float | None]:
    """The worst time from an unplug to CONTACT off (None: not within HOLD_S), and the share
    of estimates with CONTACT after the first without (`back=False`: not measured, None;
    each run stops at its first estimate without, half the seat's work of a test)."""
    from empathy.bench.seat_hrv import T0_US, seat_stream
    from empathy.edge.heart_corpus import record, record_data
    from empathy.wire import Flag

    x, fs = record_data(record(name))
    worst, kept = 0.0, []
    for k, at in enumerate(UNPLUG_AT_S):
        y = unplugged(x[:int((at + HOLD_S) * fs)], fs, at, how, seed=k)
        rows = []
        for now, e, _ in seat_stream(y, fs, 0.1):
            t = (now - T0_US) / 1e6 - at
            if t > 0:
                rows.append((t, bool(e["flags"] & Flag.CONTACT)))
                if not back and not rows[-1][1]:
                    break
        lost = next((t for t, on in rows if not on), None)
        if lost is None:
            return None, 1.0
        worst = max(worst, lost)
        kept += [on for t, on in rows if t > lost]
    share = (round(float(np.mean(kept)), 2) if kept else 0.0) if back else None
    return round(worst, 1), share


def main(argv=None) -> None:
    from empathy.edge.heart_corpus import RECORDS as ALL, available, record

    names = [r.name for r in ALL if r.kind == "ecg" and not r.held_out]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", nargs="+", default=list(RECORDS),
                    help="tuning ECG records (held-out ones are scored apart, once)")
    ap.add_argument("--held-out", action="store_true", help="allow held-out records")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    for n in a.records:
        if n not in names and not (a.held_out and n in [r.name for r in ALL if r.kind == "ecg"]):
            raise SystemExit(f"{n}: not a tuning ECG record")
        if not available(record(n)):
            raise SystemExit(f"{n}: not in cache/heart-corpus (scripts/install.sh)")
    rows = [{**pauses(n), "unplug_s": {h: time_to_off(n, h) for h in UNPLUGS}}
            for n in a.records]
    if a.json:
        print(json.dumps(rows))
        return
    print(f"record          estimates  CONTACT off  pauses >= {PAUSE_S:g} s (longest)  "
          f"off in them  | unplug -> CONTACT off s (back: share on after): " + "  ".join(UNPLUGS))
    for r in rows:
        print(f"{r['record']:15s} {r['estimates']:9d}  {r['contact_off']:11d}  "
              f"{r['pauses']:8d} ({r['longest_s']:.2f})  {r['contact_off_in_pauses']:16d}  | "
              + "  ".join("{} (back {})".format(*r['unplug_s'][h]) for h in UNPLUGS))


if __name__ == "__main__":
    main()
