"""Install check for a cinema: listen to every seat for a while and say which fail, and why.

The plan (TOML) lists the seats the room should have, which unit serves each and which
sensors must work there. The check listens like the host does (same transport, same
`Intake`, answering clock-sync requests so units settle their clocks) and then judges each
seat: heard at all, packet rate, loss, sensor contact, signal quality per sensor, how far
its timestamps are from the host's clock on arrival, the unit's firmware version, and the
sensor faults its unit said (wire kind 7: "ECG lead off", with what to do) while it listened.

    name = "Screen 2"
    listen = "udp://0.0.0.0:47100"
    keystore = "host-keys.toml"        # relative to this file
    duration_s = 30.0
    [limits]
    rate_hz = 10.0
    min_firmware = "0.1.0"
    [[seats]]
    seat_id = 1
    unit_id = 1
    sensors = ["hr", "pupil", "face"]
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from empathy import wire
from empathy.clock import now_us
from empathy.config import from_toml, setting
from empathy.keys import Keystore
from empathy.transports import open_receiver

from .report import Check, Result

SENSOR_FLAGS = {"hr": wire.Flag.HR_OK, "pupil": wire.Flag.PUPIL_OK, "face": wire.Flag.FACE_OK}


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split("."))
    except ValueError:
        raise ValueError(f"version {text!r} must look like 1.2.3") from None


@dataclass
class SeatPlan:
    # ids as on the wire: one out of range could never be heard, and was reported as
    # "nothing heard from unit -3 (power, network ...)"
    seat_id: int = setting(lo=0, hi=0xFFFF)
    unit_id: int = setting(lo=0, hi=0xFFFF)
    sensors: list[str] = field(default_factory=lambda: ["hr"])

    def validate(self):
        unknown = set(self.sensors) - set(SENSOR_FLAGS)
        if unknown:
            raise ValueError(f"seat {self.seat_id}: unknown sensors {sorted(unknown)} "
                             f"(known: {', '.join(SENSOR_FLAGS)})")


@dataclass
class InstallLimits:
    rate_hz: float = 10.0            # packets per second each seat should send
    min_rate_pct: float = setting(90.0, lo=0, hi=100)
    max_loss_pct: float = setting(2.0, lo=0, hi=100)
    min_contact_pct: float = setting(95.0, lo=0, hi=100)
    min_quality_pct: float = setting(80.0, lo=0, hi=100)  # samples with each sensor's OK flag
    max_stamp_error_ms: float = setting(50.0, lo=0, hi=60_000)  # |arrival - timestamp|, median
    warmup_s: float = setting(5.0, lo=0, hi=3600)  # quality is judged after this: HR needs beats
    min_firmware: str = "0.1.0"

    def validate(self):
        _version(self.min_firmware)
        if not 0.1 <= self.rate_hz <= 100:
            raise ValueError(f"rate_hz {self.rate_hz} must be within 0.1..100")


@dataclass
class InstallPlan:
    name: str = "cinema"
    listen: str = "udp://0.0.0.0:47100"
    keystore: str = "keys.toml"
    duration_s: float = setting(30.0, lo=1, hi=86400)  # as --duration (-5 listened 0 s: all FAIL)
    limits: InstallLimits = field(default_factory=InstallLimits)
    seats: list[SeatPlan] = field(default_factory=list)

    def validate(self):
        if not self.seats:
            raise ValueError("the plan lists no seats")
        ids = [s.seat_id for s in self.seats]
        dup = sorted(k for k, n in Counter(ids).items() if n > 1)
        if dup:
            raise ValueError(f"seat ids listed twice: {dup}")


def load_plan(path: str | Path) -> InstallPlan:
    plan = from_toml(InstallPlan, path)
    plan.keystore = str((Path(path).parent / plan.keystore).resolve())
    return plan


@dataclass
class Heard:
    """Everything the check heard: per seat (arrival µs, sample), units' heartbeats."""

    duration_s: float
    samples: dict = field(default_factory=dict)
    claimed: Counter = field(default_factory=Counter)  # packets per claimed unit id
    units: dict = field(default_factory=dict)  # unit -> intake.unit_report() row
    rejected: Counter = field(default_factory=Counter)
    faults: dict = field(default_factory=dict)  # seat (str) -> FaultBook.spans_of, s from start


def listen(plan: InstallPlan, duration_s: float, quiet: bool = False) -> Heard:
    from rich.progress import Progress

    from empathy.host.receive import Intake

    keys = Keystore.load(plan.keystore, "host").units
    receiver = open_receiver(plan.listen)
    intake = Intake(keys, reply=receiver.reply)
    heard = Heard(duration_s)
    t0, end = now_us(), time.monotonic() + duration_s
    try:
        with Progress(disable=quiet, transient=True) as bar:
            task = bar.add_task("listening to the seats", total=duration_s)
            while (left := end - time.monotonic()) > 0:
                packets = receiver.recv_batch(timeout_s=min(0.05, left))
                rx = now_us()
                heard.claimed.update(wire.unit_of(p) for p in packets if len(p) >= 3)
                for s in intake.feed(packets, rx):
                    heard.samples.setdefault(s.seat_id, []).append((rx, s))
                intake.faults.check(rx)  # faults a unit stopped repeating end here
                bar.update(task, completed=duration_s - left)
    finally:
        receiver.close()
    heard.units = {u["unit"]: u for u in intake.unit_report()}
    heard.rejected = Counter(intake.rejected)
    heard.faults = intake.faults.spans_of(t0)
    return heard


def _faults(spans: list[dict], duration_s: float, warmup_s: float) -> dict:
    """Fault name -> (s held while listening, s held after the warm-up), from a seat's
    spans (s from the start; one set before it began counts from 0, one still set to the
    end). A short listen is judged whole, as the flags are."""
    after = warmup_s if warmup_s < duration_s else 0.0
    out: dict = {}
    for sp in spans:
        a, b = max(0.0, sp["from_s"]), min(duration_s, sp["to_s"] if sp["to_s"] is not None
                                           else duration_s)
        held, late = out.get(sp["name"], (0.0, 0.0))
        out[sp["name"]] = (held + max(0.0, b - a), late + max(0.0, b - max(a, after)))
    return out


def _seat(plan: InstallPlan, seat: SeatPlan, heard: Heard) -> tuple[dict, list[Check], list[str]]:
    """One seat's row for the table, its checks, and failures that are not a figure."""
    lim, name = plan.limits, f"seat {seat.seat_id}"
    got = heard.samples.get(seat.seat_id, [])
    row = {"seat": seat.seat_id, "unit": seat.unit_id, "packets": len(got)}
    if not got:
        why = (f"{name}: unit {seat.unit_id} sends but none of its packets verify (wrong key?)"
               if heard.claimed[seat.unit_id] else
               f"{name}: nothing heard from unit {seat.unit_id} (power, network, uplink URL?)")
        return {**row, "status": "FAIL", "why": why}, [], [why]
    rx = np.array([r for r, _ in got], float)
    ts = np.array([s.ts_us for _, s in got], float)
    flags = np.array([s.flags for _, s in got])
    late = rx >= rx[0] + lim.warmup_s * 1e6
    judged = flags[late] if late.sum() >= 5 else flags
    stamp_ms = float(np.median(rx - ts)) / 1000
    unit = heard.units.get(seat.unit_id, {})
    spans = heard.faults.get(str(seat.seat_id), [])
    held = _faults(spans, heard.duration_s, lim.warmup_s)
    said = {sp["name"]: sp for sp in spans}
    # the unit's own word on why a sensor is out beats a guess from the contact bit
    why_out = "; ".join(dict.fromkeys(sp["text"] for sp in spans))
    fault_errors = [f"{name}: {said[n]['text']} for {round(s, 1):g} of {heard.duration_s:g} s: "
                    f"{said[n]['action']}" for n, (s, late) in held.items() if late > 0]
    checks = [
        Check(f"{name}: packet rate", 100 * len(got) / heard.duration_s / lim.rate_hz,
              lim.min_rate_pct, "% of plan", kind="min", hint="unit overloaded or link lossy"),
        Check(f"{name}: loss", 100 * unit.get("loss", 1.0), lim.max_loss_pct, "%",
              hint="packets lost on the way"),
        Check(f"{name}: sensor contact",
              100 * float(np.mean((judged & int(wire.Flag.CONTACT)) > 0)),
              lim.min_contact_pct, "%", kind="min", hint=why_out or "sensor off the skin"),
        Check(f"{name}: timestamp error", abs(stamp_ms), lim.max_stamp_error_ms, "ms",
              hint="unit clock not synced to the host"),
    ]
    for sensor in seat.sensors:
        pct = 100 * float(np.mean((judged & int(SENSOR_FLAGS[sensor])) > 0))
        row[f"{sensor}_ok_pct"] = round(pct, 1)
        checks.append(Check(f"{name}: {sensor} signal", pct, lim.min_quality_pct, "%",
                            kind="min",
                            hint=why_out or f"{sensor} sensor gives no usable signal"))
    firmware = unit.get("firmware")
    row.update({"rate_hz": round(len(got) / heard.duration_s, 2),
                "stamp_error_ms": round(stamp_ms, 2), "firmware": firmware or "unknown",
                "clock_offset_ms": (round(unit["offset_us"] / 1000, 3) if "offset_us" in unit
                                    else None),
                "rtt_ms": round(unit["rtt_us"] / 1000, 3) if "rtt_us" in unit else None,
                "faults": {n: round(s, 1) for n, (s, _) in held.items()}})
    errors = []
    if not firmware:
        errors.append(f"{name}: no heartbeat from unit {seat.unit_id}, firmware unknown")
    elif _version(firmware) < _version(lim.min_firmware):
        errors.append(f"{name}: unit {seat.unit_id} runs firmware {firmware}, older than "
                      f"{lim.min_firmware}: update it")
    bad = fault_errors + [c.reason for c in checks if not c.ok] + errors
    return ({**row, "status": "FAIL" if bad else "ok", "why": "; ".join(bad)}, checks,
            fault_errors + errors)


def seats_check(plan: InstallPlan, heard: Heard, calibrated: dict | None = None) -> Result:
    """Judge every planned seat. `calibrated` (seat -> viewer, from the store) only adds a
    column: before a show it tells front of house who still needs a baseline."""
    res = Result("seats", f"Install check: {plan.name}")
    rows = []
    for seat in plan.seats:
        row, checks, errors = _seat(plan, seat, heard)
        if calibrated is not None:
            row["viewer"] = calibrated.get(seat.seat_id, "")
        rows.append(row)
        res.checks += checks
        res.errors += errors
    failed = [r["seat"] for r in rows if r["status"] != "ok"]
    unplanned = sorted(set(heard.samples) - {s.seat_id for s in plan.seats})
    res.figures.update({"seats_planned": len(plan.seats), "seats_ok": len(rows) - len(failed),
                        "seats_failed": failed, "listened_s": heard.duration_s,
                        "packets_rejected": dict(heard.rejected), "unplanned_seats": unplanned})
    if unplanned:
        res.notes.append(f"seats heard but not in the plan: {unplanned}")
    res.tables["Seats (failing first)"] = sorted(rows,
                                                 key=lambda r: (r["status"] == "ok", r["seat"]))
    res.plot = lambda: _plots(rows)
    return res


def _plots(rows) -> dict:
    from empathy.plots import pyplot

    plt = pyplot()

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 3.5))
    ids = [str(r["seat"]) for r in rows]
    colours = ["#59a14f" if r["status"] == "ok" else "#e15759" for r in rows]
    a1.bar(ids, [r.get("rate_hz", 0) for r in rows], color=colours)
    a1.set(xlabel="seat", ylabel="packets per second", title="packet rate (red: seat fails)")
    a2.bar(ids, [r.get("stamp_error_ms") or 0 for r in rows], color=colours)
    a2.set(xlabel="seat", ylabel="ms", title="arrival minus timestamp (median)")
    return {"Seats at a glance": fig}
