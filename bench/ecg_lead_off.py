"""A lead off on our serial board's ECG, through the real path: the simulated board
(sim/board.py: an AD8232 playing a corpus ECG) writes frames into a pty, `serial://` reads
them, a seat estimates each 0.1 s.
`python -m empathy.bench.ecg_lead_off [--records NAME ...] [--case off|flap|stuck] [--json]`.

Each tuning record from START_S, its electrodes off AT_S after that for HOLD_S, the input
floating in mains hum (tests/redteam/test_heart20's case), played twice in real time: by a
board whose LO+/LO- are not wired (no lead-off reading: the seat has only the waveform) and
by one that reports them. Per run: the time from the lead off to the first estimate
without CONTACT (None: none while off), the share of estimates with CONTACT while off,
from the lead off and from ALLOWANCE_S on (the seat's own pause allowance, as the red team
counts), estimates with HR_OK while off, and the time from the leads back to CONTACT.
`--case flap`: +IN on a loose snap (`flapping`); `--case stuck`: LO+ stuck high over a good
ECG, the pins trusted and ignored (`stuck`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Optional

import numpy as np

START_S = 30.0
AT_S = 30.0  # (60 s into the record, as the red team's)
HOLD_S = 60.0
AFTER_S = 5.0
ALLOWANCE_S = 8.0
EVERY_S = 0.1
RECORDS = ("qtdb-sel117", "mitdb-100", "mitdb-119")


def seat_over_pty(link: Path, ecg, seconds: float, bare_ppg: bool = False, query: str = "",
                  health: Optional[list] = None) -> np.ndarray:
    """A simulated ECG board (`SimAD8232` ecg; `bare_ppg`: its PPG fitted, no finger on it)
    on a pty at link, its frames read by serial://link?query into a seat, an estimate each
    EVERY_S for `seconds`: rows of (s since the ECG's first sample, CONTACT, HR_OK, HR).
    `health` gets (s, contact, fault) of each Health the source gave. Raises
    AssertionError if a frame was rejected."""
    from empathy.clock import now_us
    from empathy.edge.features import SeatFeatures
    from empathy.sensors.base import open_source
    from empathy.sim.board import SimBoard
    from empathy.wire import Flag

    board = SimBoard(link, ecg=ecg, bare_ppg=bare_ppg)
    from empathy.sensors.base import Health

    src = open_source(f"serial://{board.link}" + (f"?{query}" if query else ""))
    seat, rows, nxt = SeatFeatures(baseline_s=10), [], time.monotonic()
    try:
        end = nxt + seconds
        while time.monotonic() < end:
            board.step()
            for r in src.read(0.01):
                seat.add(r)
                if isinstance(r, Health) and health is not None and ecg.t0_us is not None:
                    health.append(((r.ts_us - ecg.t0_us) / 1e6, r.contact, r.fault))
            if time.monotonic() >= nxt and ecg.t0_us is not None:
                nxt += EVERY_S
                t = now_us()
                e = seat.estimate(t)
                rows.append(((t - ecg.t0_us) / 1e6, bool(e["flags"] & Flag.CONTACT),
                             bool(e["flags"] & Flag.HR_OK), e["hr_bpm"]))
        rejected = src.stats()["rejected"]
        assert not any(rejected.values()), rejected
    finally:
        src.close()
        board.close()
    return np.array(rows, float).reshape(-1, 4)


def lead_off(name: str, reports: bool, hum_hz: float = 50.0) -> dict:
    from empathy.sim.board import ECG_FS_HZ, SimAD8232, corpus_ecg

    x = corpus_ecg(name)[int(START_S * ECG_FS_HZ):]
    ecg = SimAD8232(x, off=[(AT_S, AT_S + HOLD_S)], hum_hz=hum_hz, reports=reports)
    with TemporaryDirectory() as d:
        rows = seat_over_pty(Path(d) / "tty", ecg, AT_S + HOLD_S + AFTER_S)
    t, on, hr = rows[:, 0], rows[:, 1] > 0, rows[:, 2] > 0
    off = (t >= AT_S) & (t < AT_S + HOLD_S)
    late = (t >= AT_S + ALLOWANCE_S) & off
    first = t[off & ~on]
    back = t[(t >= AT_S + HOLD_S) & on]
    return {"record": name, "lead_off_reading": reports,
            "to_off_s": round(float(first[0] - AT_S), 2) if len(first) else None,
            "contact_while_off": f"{int(on[off].sum())}/{int(off.sum())}",
            "contact_from_allowance": f"{int(on[late].sum())}/{int(late.sum())}",
            "hr_ok_while_off": int(hr[off].sum()),
            "back_s": round(float(back[0] - AT_S - HOLD_S), 2) if len(back) else None}


FLAP_AT_S, FLAP_S = 20.0, 30.0  # (the flapping and stuck cases: shorter runs)
STUCK_S = 60.0


def _first(health: list, text: str, after_s: float) -> Optional[float]:
    """Seconds from after_s to the first Health whose fault says text (None: none)."""
    t = [h[0] for h in health if text in h[2] and h[0] >= after_s]
    return round(t[0] - after_s, 2) if t else None


def flapping(name: str) -> dict:
    """+IN on a loose snap (SimAD8232 `flap`) FLAP_AT_S..+FLAP_S: how often CONTACT and
    HR_OK changed while it flapped, when the seat heard 'keeps dropping', and CONTACT back
    after the snap held."""
    from empathy.sim.board import ECG_FS_HZ, SimAD8232, corpus_ecg

    x = corpus_ecg(name)[int(START_S * ECG_FS_HZ):]
    end = FLAP_AT_S + FLAP_S
    ecg = SimAD8232(x, flap=[(FLAP_AT_S, end)])
    health: list = []
    with TemporaryDirectory() as d:
        rows = seat_over_pty(Path(d) / "tty", ecg, end + 10.0, health=health)
    t, on, hr = rows[:, 0], rows[:, 1] > 0, rows[:, 2] > 0
    span = (t >= FLAP_AT_S) & (t < end)
    back = t[(t >= end) & on]
    return {"record": name, "case": "flap",
            "contact_changes": int(np.abs(np.diff(on[span].astype(int))).sum()),
            "hr_ok_changes": int(np.abs(np.diff(hr[span].astype(int))).sum()),
            "contact_while_flapping": f"{int(on[span].sum())}/{int(span.sum())}",
            "named_after_s": _first(health, "keeps dropping", FLAP_AT_S),
            "back_s": round(float(back[0] - end), 2) if len(back) else None}


def stuck(name: str, query: str) -> dict:
    """LO+ stuck high over a good ECG for STUCK_S (SimAD8232 `stuck_lo`), the seat's
    source with `query` (lo_pins=ignore: the seat's switch): HR_OK share from 10 s, and
    when the seat heard 'check the LO wiring'."""
    from empathy.sim.board import ECG_FS_HZ, SimAD8232, corpus_ecg

    x = corpus_ecg(name)[int(START_S * ECG_FS_HZ):]
    health: list = []
    with TemporaryDirectory() as d:
        rows = seat_over_pty(Path(d) / "tty", SimAD8232(x, stuck_lo=True), STUCK_S,
                             query=query, health=health)
    late = rows[:, 0] >= 10.0
    return {"record": name, "case": "stuck " + (query or "lo_pins=trust"),
            "hr_ok_from_10s": f"{int((rows[late, 2] > 0).sum())}/{int(late.sum())}",
            "named_after_s": _first(health, "check the LO wiring", 0.0)}


def main(argv=None) -> None:
    from empathy.edge.heart_corpus import RECORDS as ALL, available, record

    tuning = [r.name for r in ALL if r.kind == "ecg" and not r.held_out]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", nargs="+", default=list(RECORDS), help="tuning ECG records")
    ap.add_argument("--hum", type=float, default=50.0, help="mains Hz (default 50)")
    ap.add_argument("--case", choices=("off", "flap", "stuck"), default="off",
                    help="leads off in hum (default), a lead flapping on a loose snap, or "
                         "LO+ stuck high over a good ECG (trusted, then lo_pins=ignore)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    for n in a.records:
        if n not in tuning:
            ap.exit(2, f"{n}: not a tuning ECG record\n")
        if not available(record(n)):
            ap.exit(2, f"{n}: not in cache/heart-corpus (scripts/install.sh)\n")
    if not 40.0 <= a.hum <= 70.0:
        ap.exit(2, "--hum: mains is 50 or 60 Hz\n")
    if a.case != "off":
        rows = [flapping(n) for n in a.records] if a.case == "flap" else [
            stuck(n, q) for n in a.records for q in ("", "lo_pins=ignore")]
        for r in rows:
            print(json.dumps(r) if a.json else "  ".join(f"{k}={v}" for k, v in r.items()))
        return
    rows = [lead_off(n, reports, a.hum) for n in a.records for reports in (False, True)]
    if a.json:
        print(json.dumps(rows))
        return
    print(f"leads off {AT_S:g}-{AT_S + HOLD_S:g} s in {a.hum:g}-Hz hum (records from "
          f"{START_S:g} s), an estimate each {EVERY_S:g} s over a pty")
    print("record          lead-off reading  to CONTACT off s  CONTACT while off  "
          f"from {ALLOWANCE_S:g} s  HR_OK while off  back s")
    for r in rows:
        print(f"{r['record']:15s} {'yes' if r['lead_off_reading'] else 'no':16s}  "
              f"{str(r['to_off_s']):16s}  {r['contact_while_off']:17s}  "
              f"{r['contact_from_allowance']:7s}  {r['hr_ok_while_off']:15d}  {r['back_s']}")


if __name__ == "__main__":
    main()
