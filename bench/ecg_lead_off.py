"""A lead off on our serial board's ECG, through the real path: the simulated board
(sim/board.py: an AD8232 playing a corpus ECG) writes frames into a pty, `serial://` reads
them, a seat estimates each 0.1 s.
`python -m empathy.bench.ecg_lead_off [--records NAME ...] [--case CASE] [--json]`.

Each tuning record from START_S, its electrodes off AT_S after that for HOLD_S, the input
floating in mains hum (tests/redteam/test_heart20's case), played twice in real time: by a
board whose LO+/LO- are not wired (no lead-off reading: the seat has only the waveform) and
by one that reports them. Per run: the time from the lead off to the first estimate
without CONTACT (None: none while off), the share of estimates with CONTACT while off,
from the lead off and from ALLOWANCE_S on (the seat's own pause allowance, as the red team
counts), estimates with HR_OK while off, and the time from the leads back to CONTACT.
`--case flap`: +IN on a loose snap (`flapping`); `--case stuck`: LO+ stuck high over a good
ECG, the pins trusted and ignored (`stuck`); `--case float`: the electrodes off, the input
floating in hum, noise and recorded electrode motion for `--minutes` (`floating`);
`--case judge`: the stuck-pin judge alone, frame by frame, fast: every ECG record of
`--set` with LO+ stuck, and floating inputs (`judge_records`, `judge_floating`); `--case
both`: the flap on a board with a PPG fitted too (its STATUS); `--case finger`: a finger
PPG board's finger off, then lifting (`finger`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Optional

import numpy as np

from empathy.cli import number_in

START_S = 30.0
AT_S = 30.0  # (60 s into the record, as the red team's)
HOLD_S = 60.0
AFTER_S = 5.0
ALLOWANCE_S = 8.0
EVERY_S = 0.1
RECORDS = ("qtdb-sel117", "mitdb-100", "mitdb-119")


def seat_over_pty(link: Path, ecg, seconds: float, bare_ppg: bool = False, query: str = "",
                  health: Optional[list] = None, finger: Optional[dict] = None) -> np.ndarray:
    """A simulated ECG board (`SimAD8232` ecg; `bare_ppg`: its PPG fitted, no finger on it),
    or with ecg None a finger PPG board (`finger`: SimBoard's finger_off/finger_flap), on a
    pty at link, its frames read by serial://link?query into a seat, an estimate each
    EVERY_S for `seconds`: rows of (s since the sensor's first sample, CONTACT, HR_OK, HR).
    `health` gets (s, contact, fault) of each Health the source gave. Raises
    AssertionError if a frame was rejected."""
    from empathy.clock import now_us
    from empathy.edge.features import SeatFeatures
    from empathy.sensors.base import Health, open_source
    from empathy.sim.board import SimBoard
    from empathy.wire import Flag

    board = SimBoard(link, ecg=ecg, bare_ppg=bare_ppg, **(finger or {}))
    src = open_source(f"serial://{board.link}" + (f"?{query}" if query else ""))
    seat, rows, nxt = SeatFeatures(baseline_s=10), [], time.monotonic()
    t0 = None  # the first sample's time, on the simulated sensor's own count
    try:
        end = nxt + seconds
        while time.monotonic() < end:
            board.step()
            for r in src.read(0.01):
                seat.add(r)
                if isinstance(r, Health) and health is not None and t0 is not None:
                    health.append(((r.ts_us - t0) / 1e6, r.contact, r.fault))
            # (not the first frame's stamp: read in a burst as the port opened, its mapping
            # was its arrival's, seconds late, and the finger lifted that early in the rows)
            s = board.sensor
            t0 = ecg.t0_us if ecg is not None else s.sampled_us and (
                s.sampled_us - (s.n - 1) * 1_000_000 // s.fs_hz)
            if time.monotonic() >= nxt and t0 is not None:
                nxt += EVERY_S
                t = now_us()
                e = seat.estimate(t)
                rows.append(((t - t0) / 1e6, bool(e["flags"] & Flag.CONTACT),
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


def flapping(name: str, bare_ppg: bool = False) -> dict:
    """+IN on a loose snap (SimAD8232 `flap`) FLAP_AT_S..+FLAP_S (`bare_ppg`: on a board
    with its PPG fitted, no finger on it): how often CONTACT and HR_OK changed while it
    flapped, when the seat heard 'keeps dropping', and CONTACT back after the snap held."""
    from empathy.sim.board import ECG_FS_HZ, SimAD8232, corpus_ecg

    x = corpus_ecg(name)[int(START_S * ECG_FS_HZ):]
    end = FLAP_AT_S + FLAP_S
    ecg = SimAD8232(x, flap=[(FLAP_AT_S, end)])
    health: list = []
    with TemporaryDirectory() as d:
        rows = seat_over_pty(Path(d) / "tty", ecg, end + 10.0, bare_ppg, health=health)
    t, on, hr = rows[:, 0], rows[:, 1] > 0, rows[:, 2] > 0
    span = (t >= FLAP_AT_S) & (t < end)
    back = t[(t >= end) & on]
    return {"record": name, "case": "flap, a PPG fitted" if bare_ppg else "flap",
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


def finger(how: str) -> dict:
    """A finger PPG board (a simulated viewer), the finger `how` ('off' or resting so
    lightly it lifts: 'flap') FLAP_AT_S..+FLAP_S: CONTACT and HR_OK while so, CONTACT and
    HR_OK back after (s), and HR_OK's share from AFTER_S on after it."""
    end = FLAP_AT_S + FLAP_S
    with TemporaryDirectory() as d:
        rows = seat_over_pty(Path(d) / "tty", None, end + 15.0,
                             finger={f"finger_{how}": [(FLAP_AT_S, end)]})
    t, on, hr = rows[:, 0], rows[:, 1] > 0, rows[:, 2] > 0
    span, late = (t >= FLAP_AT_S) & (t < end), t >= end + 8.0
    first = lambda x: round(float(x[0] - end), 2) if len(x) else None  # noqa: E731
    return {"case": f"finger {how}", "contact_while": f"{int(on[span].sum())}/{int(span.sum())}",
            "hr_ok_while": f"{int(hr[span].sum())}/{int(span.sum())}",
            "contact_back_s": first(t[(t >= end) & on]), "hr_ok_back_s": first(t[(t >= end) & hr]),
            "hr_ok_from_8s_after": f"{int(hr[late].sum())}/{int(late.sum())}"}


def floating(minutes: float, hum_hz: float, motion: float) -> dict:
    """The electrodes off for `minutes` (SimAD8232 `off`), the input floating in mains hum,
    noise and the recorded electrode motion x `motion` (`recorded_motion`): estimates with
    CONTACT, and the seat told 'check the LO wiring' (a false stuck pin)."""
    from empathy.sim.board import SimAD8232, recorded_motion

    seconds = 60.0 * minutes
    ecg = SimAD8232(np.zeros(1), off=[(0.0, seconds + 10.0)], hum_hz=hum_hz,
                    motion_mv=motion * recorded_motion())
    health: list = []
    with TemporaryDirectory() as d:
        rows = seat_over_pty(Path(d) / "tty", ecg, seconds, health=health)
    return {"case": "float", "minutes": minutes, "hum_hz": hum_hz, "motion": motion,
            "contact": f"{int((rows[:, 1] > 0).sum())}/{len(rows)}",
            "stuck_calls": sum(STUCK_TEXT in h[2] for h in health)}


STUCK_TEXT = "check the LO wiring"
FRAME = 25  # samples a frame at 250 Hz: the board's 10 frames a second


def _watch(mv: np.ndarray, fs: float) -> tuple[Optional[float], int, int]:
    """mv through a LeadWatch as frames with LO+ high: when it said stuck (s from the
    start; None: never), the windows it judged and those that read a heart."""
    from empathy.sensors.firmware import protocol
    from empathy.sensors.serial import leads

    w, named, judged, hearts = leads.LeadWatch(), None, 0, 0
    for i in range(0, len(mv) - FRAME + 1, FRAME):
        before = w.hearts
        w.frame(protocol.LEAD_P, mv[i:i + FRAME], fs)
        if w.held_n == 0:  # a window was judged
            judged += 1
            hearts += w.hearts > before
        if w.fault == leads.STUCK and named is None:
            named = round((i + FRAME) / fs, 1)
    return named, judged, hearts


def judge_records(names: list) -> list:
    """Per ECG record (whole, at the board's 250 Hz), LO+ stuck from its start."""
    from empathy.sim.board import ECG_FS_HZ, corpus_ecg

    out = []
    for n in names:
        x = corpus_ecg(n)
        named, judged, hearts = _watch(x, ECG_FS_HZ)
        out.append({"record": n, "seconds": round(len(x) / ECG_FS_HZ, 1),
                    "named_after_s": named, "heart_windows": f"{hearts}/{judged}"})
    return out


def judge_floating(minutes: float, seed: int = 100) -> list:
    """Floating inputs, `minutes` each: hum 0.1-1 mV at 50 and 60 Hz, noise 0.03 mV, the
    recorded electrode motion x 0-1 from a random point (seeds from `seed`: the judge was
    tuned on seed 0 and on 300-323, 400-423, 500-523 and 600-623)."""
    from empathy.sim.board import ECG_FS_HZ, recorded_motion

    em, fs = recorded_motion(), float(ECG_FS_HZ)
    t = np.arange(int(minutes * 60 * fs)) / fs
    out = []
    for k, (hz, hum, motion) in enumerate((hz, hum, m) for hz in (50.0, 60.0)
                                          for hum in (0.1, 0.4, 1.0)
                                          for m in (0.0, 0.1, 0.3, 1.0)):
        rng = np.random.default_rng(seed + k)
        j = rng.integers(len(em))
        mv = (hum * np.sin(2 * np.pi * hz * t + rng.uniform(0, 2 * np.pi))
              + rng.normal(0.0, 0.03, len(t)) + motion * np.roll(em, -j)[np.arange(len(t)) % len(em)])
        named, judged, hearts = _watch(mv, fs)
        out.append({"hum_hz": hz, "hum_mv": hum, "motion": motion,
                    "heart_windows": f"{hearts}/{judged}", "stuck_named_s": named})
    return out


def main(argv=None) -> None:
    from empathy.edge.heart_corpus import RECORDS as ALL, available, record

    tuning = [r.name for r in ALL if r.kind == "ecg" and not r.held_out]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=("tuning", "held-out"), default="tuning",
                    help="--case judge: the records it plays")
    ap.add_argument("--minutes", type=number_in(float, 0.5, 60), default=3.0,
                    help="--case float and judge: minutes of each floating input (0.5-60)")
    ap.add_argument("--seed", type=number_in(int, 0, 10**9), default=100,
                    help="--case judge: the floating inputs' first seed (0-10**9; one each)")
    ap.add_argument("--records", nargs="+", default=list(RECORDS), help="tuning ECG records")
    ap.add_argument("--hum", type=number_in(float, 40, 70), default=50.0, help="mains Hz (default 50)")
    ap.add_argument("--case", choices=("off", "flap", "stuck", "float", "judge", "both",
                                       "finger"),
                    default="off",
                    help="leads off in hum (default), a lead flapping on a loose snap, "
                         "LO+ stuck high over a good ECG (trusted, then lo_pins=ignore), a "
                         "floating lead in recorded electrode motion, the stuck-pin judge "
                         "alone on every record and on floating inputs, a lead flapping on a "
                         "board with a PPG too, a finger PPG board's finger off or lifting")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    for n in a.records:
        if n not in tuning:
            ap.exit(2, f"{n}: not a tuning ECG record\n")
        if not available(record(n)):
            ap.exit(2, f"{n}: not in cache/heart-corpus (scripts/install.sh)\n")
    if a.case == "judge":
        names = [r.name for r in ALL if r.kind == "ecg" and r.held_out == (a.set == "held-out")
                 and available(r)]
        recs, fl = judge_records(names), judge_floating(a.minutes, a.seed)
        for r in recs + fl:
            print(json.dumps(r) if a.json else "  ".join(f"{k}={v}" for k, v in r.items()))
        if not a.json:
            print(f"# stuck pin named on {sum(r['named_after_s'] is not None for r in recs)} "
                  f"of {len(recs)} {a.set} records; floating inputs called stuck "
                  f"{sum(r['stuck_named_s'] is not None for r in fl)} of {len(fl)} "
                  f"({a.minutes:g} min each, seeds {a.seed}-{a.seed + len(fl) - 1}), "
                  "windows read as a heart "
                  f"{sum(int(r['heart_windows'].split('/')[0]) for r in fl)} of "
                  f"{sum(int(r['heart_windows'].split('/')[1]) for r in fl)}")
        return
    if a.case in ("both", "finger"):
        rows = ([flapping(n, bare_ppg=True) for n in a.records] if a.case == "both"
                else [finger(how) for how in ("off", "flap")])
        for r in rows:
            print(json.dumps(r) if a.json else "  ".join(f"{k}={v}" for k, v in r.items()))
        return
    if a.case == "float":
        rows = [floating(a.minutes, a.hum, m) for m in (0.1, 0.3, 1.0)]
        for r in rows:
            print(json.dumps(r) if a.json else "  ".join(f"{k}={v}" for k, v in r.items()))
        return
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
