"""A recorded session read back for export: per-seat series, markers, frames and the clock.

Every exporter (BIDS, EDF+, XDF, CSV/Parquet) starts from this one reading, so the formats
agree: the same seats, the same missing values, the same events and the same time zero.

Time: samples, events and frames are all stamped on the host's monotonic clock (edge units
map their own clocks onto it with clock sync). Time zero of an export is the first frame of
the film (else its first segment, else the first sample); times before it (the resting
baseline) are negative. How well each unit's clock was kept on the host's comes from the
units' heartbeats the session recorded: an NTP-style exchange bounds the offset error by half
its round trip, so `sync_uncertainty_us` is half the median round trip.
"""

from __future__ import annotations

import itertools
import json
import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from empathy import wire
from empathy.host.session import store
from empathy.host.session import reading
from empathy.host.session.faults import FaultSpan, FaultSpans
from empathy.host.session.reading import event_docs

RATE_HZ = 10.0  # the edge units' sample rate; the regular grid of BIDS and EDF+
HOLD_S = 0.15  # a grid point takes the latest sample at most this old, else it is missing
# BIDS and EDF+ put each seat on the RATE_HZ grid over the session's span: a stamp years
# off (one bent sample at the wire's 48-bit end) asked for 21 GiB. A week is 6 million
# points a seat; a longer session goes out as recorded (csv, parquet, xdf).
MAX_SPAN_S = 7 * 86400
FETCH = 8192  # sample rows read at a time
EXPRESSION_NONE = 15


@dataclass(frozen=True)
class Measure:
    field: str  # column in the session store
    name: str  # column/channel name in exports
    unit: str
    description: str
    lo: float  # the physical range (EDF+ needs one; values outside are clipped there, so a
    # measure the wire carries takes the wire's range: nothing that arrived is clipped)
    hi: float


MEASURES = (
    Measure("hr_bpm", "heart_rate", "bpm", "heart rate from the seat's strap or PPG board", 0,
            wire.RANGES["hr_bpm"].hi),
    Measure("rmssd_ms", "rmssd", "ms", "RMSSD of recent beat-to-beat intervals", 0,
            wire.RANGES["rmssd_ms"].hi),
    Measure("pupil_mm", "pupil_diameter", "mm", "pupil diameter, light reflex included", 0,
            wire.RANGES["pupil_mm"].hi),
    Measure("arousal", "arousal", "a.u.",
            "fused arousal against the seat's resting baseline, -1..1", -1, 1),
    Measure("valence", "valence", "a.u.", "fused valence, -1..1", -1, 1),
    Measure("expression", "expression", "class",
            "facial expression class: 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, "
            "5 surprise, 6 neutral", 0, 6),
    Measure("expression_conf", "expression_confidence", "a.u.",
            "confidence of the expression class, 0..1", 0, 1),
    Measure("flags", "quality_flags", "bitmask",
            "signal-quality bits of the wire format (empathy.wire.Flag)", 0, 255),
)
_ABSENT_AT_ZERO = {"hr_bpm", "rmssd_ms", "pupil_mm"}  # 0 on the wire means "no value"


@dataclass(frozen=True)
class Seat:
    seat_id: int
    unit_id: int  # the unit that sent most of its samples
    first_us: int  # its first and last sample, host clock
    last_us: int

    @property
    def label(self) -> str:
        """The seat's pseudonym as recorded (seat ids are per-session pseudonyms)."""
        return str(self.seat_id)


@dataclass
class Series:
    """One seat's samples in time order, read when an exporter reaches the seat."""
    seat: Seat
    ts_us: np.ndarray  # host clock
    values: dict[str, np.ndarray]  # Measure.field -> float array (NaN = no value)


@dataclass
class Marker:
    ts_us: int
    kind: str  # segment | decision | grade
    data: dict

    def text(self) -> str:
        d = self.data
        if self.kind == "segment":
            return f"segment {d.get('segment')}"
        if self.kind == "decision":
            return (f"decision {d.get('decision')}: {d.get('chosen')}"
                    + (" (fallback)" if d.get("fallback") else "")
                    + (f" - {d['reason']}" if d.get("reason") else ""))
        return f"grade {d.get('lut') or 'none'} x{float(d.get('strength', 0)):.2f} on {d.get('segment')}"

    def json(self) -> str:
        """One marker as the XDF export and the live LSL marker stream write it."""
        return json.dumps({"kind": self.kind, "text": self.text(), **self.data}, default=str)


@dataclass(frozen=True)
class Frames:
    """The picture's frame log: how many frames and the first's and last's stamps, the rows
    read when a writer asks (a 3-h show's 259,200 frames were ~80 MB held as Python rows)."""
    path: Path
    count: int = 0
    first_us: int = 0
    last_us: int = 0

    def batches(self, size: int):
        """Rows (ts_us, frame, clip_t_s, luminance) as floats, `size` at a time."""
        with store.rows(self.path, "frames") as (_, rows):
            while got := list(itertools.islice(rows, size)):
                yield np.array([(r[0], r[1], r[3], r[4]) for r in got], float).reshape(-1, 4)


@dataclass
class Recording:
    path: Path
    session: str
    meta: dict
    seats: list[Seat]
    markers: list[Marker]
    frames: Frames
    t0_us: int
    clock: dict = field(default_factory=dict)  # unit -> sync quality
    faults: list[FaultSpan] = field(default_factory=list)  # each seat's sensor faults

    @property
    def label(self) -> str:
        """The session id as a BIDS/EDF-safe label (letters and digits only)."""
        return re.sub(r"[^0-9A-Za-z]", "", self.session)

    @property
    def title(self) -> str:
        return str(self.meta.get("story") or "film")

    def span_us(self) -> tuple[int, int]:
        return (min([s.first_us for s in self.seats] + [self.t0_us]),
                max([s.last_us for s in self.seats] + [self.t0_us]))

    def series(self):
        """Each seat's Series in seat order, one at a time: a seat's three hours are ~10 MB,
        a 1,000-seat show's 10 GB. SQLite sorts the samples on disk (no index to use)."""
        fields, seats = [m.field for m in MEASURES], iter(self.seats)
        with store.reading(self.path) as db:
            cur = db.execute(f"SELECT seat_id, ts_us, {', '.join(fields)} FROM samples "
                             "ORDER BY seat_id, ts_us, rowid")
            parts, current = [], None
            while got := cur.fetchmany(FETCH):
                block = np.array(got, dtype=float)
                for piece in np.split(block, np.flatnonzero(np.diff(block[:, 0])) + 1):
                    if current is not None and piece[0, 0] != current:
                        yield _series(next(seats), np.concatenate(parts), fields)
                        parts = []
                    current = piece[0, 0]
                    parts.append(piece)
            if parts:
                yield _series(next(seats), np.concatenate(parts), fields)

    def clock_note(self) -> dict:
        """What every export says about its clock."""
        return {"clock": "host monotonic clock, microseconds; edge units mapped onto it by "
                         "NTP-style clock sync", "time_zero": "first frame of the film",
                "t0_host_us": self.t0_us, "units": self.clock}


def grid(seat: Series, t_us: np.ndarray) -> dict[str, np.ndarray]:
    """Each measure on the grid `t_us`: the latest sample at most HOLD_S old, else NaN."""
    i = np.searchsorted(seat.ts_us, t_us, side="right") - 1
    ok = (i >= 0) & (t_us - seat.ts_us[np.clip(i, 0, None)] <= HOLD_S * 1e6)
    out = {}
    for m in MEASURES:
        v = seat.values[m.field][np.clip(i, 0, None)]
        out[m.field] = np.where(ok, v, np.nan)
    return out


def _series(seat: Seat, rows: np.ndarray, fields: list[str]) -> Series:
    values = {}
    for i, f in enumerate(fields):
        v = rows[:, 2 + i].copy()
        if f in _ABSENT_AT_ZERO:
            v[v == 0] = np.nan
        values[f] = v
    none = values["expression"] == EXPRESSION_NONE
    values["expression"][none] = np.nan
    values["expression_conf"][none] = np.nan
    return Series(seat, rows[:, 1].astype(np.int64), values)


def _seats(path: Path) -> list[Seat]:
    """Every seat with its unit and span, from SQLite's counts (the samples stay on disk)."""
    with store.reading(path) as db:
        reading.check(db, path, "samples", list(store.SAMPLE_FIELDS))
        found = db.execute("SELECT seat_id, unit_id, count(*), min(ts_us), max(ts_us) "
                           "FROM samples GROUP BY seat_id, unit_id ORDER BY seat_id, unit_id")
        by_seat: dict[int, list] = {}
        for seat, unit, n, lo, hi in found:
            by_seat.setdefault(seat, []).append((n, unit, lo, hi))
    # the unit that sent most, the lowest-numbered of a tie
    return [Seat(seat, max(us, key=lambda u: (u[0], -u[1]))[1], min(u[2] for u in us),
                 max(u[3] for u in us)) for seat, us in sorted(by_seat.items())]


def load(path: Path) -> Recording:
    seats = _seats(path)
    markers, clock, faults = _events(path)
    frames = _frames(path)
    t0 = (frames.first_us if frames.count else
          next((m.ts_us for m in markers if m.kind == "segment"),
               min((s.first_us for s in seats), default=0)))
    meta = {}
    info = store.info(path)
    for k in ("story", "started_utc", "ended_utc", "demo", "config"):
        if k in info:
            meta[k] = info[k]
    return Recording(path, store.session_id(path), meta, seats, markers, frames, t0, clock,
                     faults)


def _events(path: Path) -> tuple[list[Marker], dict, list[FaultSpan]]:
    """The markers, in time order, each unit's clock sync and the seats' fault spans, from
    the events read one at a time (a show's state twice a second and its units' reports
    grow with its length)."""
    markers, rtts, last = [], {}, {}  # unit -> its round trips; its last (offset, drift)
    faults = FaultSpans(path)
    with store.rows(path, "events") as (_, rows):
        for ts, kind, d in event_docs(rows):
            faults.add(ts, kind, d)
            if kind in ("segment", "decision", "grade") and isinstance(d, dict):
                # a segment's own start stamp is when its first frame showed
                start = d.get("start_us", ts)
                if type(start) is not int or not 0 <= start <= reading.LONG_US:
                    raise store.SessionError(f"{path}: a {kind} event's start_us is "
                                             f"{start!r:.40}, not a host clock's stamp: not a "
                                             "session this host wrote")
                markers.append(Marker(start, kind, d))
            elif kind == "units" and isinstance(d, list):
                for u in d:
                    if isinstance(u, dict) and u.get("rtt_us"):
                        unit, *sync = _unit_sync(path, u)
                        rtts.setdefault(unit, array("d")).append(sync[0])
                        last[unit] = sync[1:]
    markers.sort(key=lambda m: m.ts_us)
    clock = {}
    for unit, rtt in sorted(rtts.items()):
        median = float(np.median(np.frombuffer(rtt)))
        clock[str(unit)] = {"exchanges_reported": len(rtt), "median_rtt_us": median,
                            "sync_uncertainty_us": median / 2,
                            "last_offset_us": last[unit][0],
                            "drift_ppm": round(last[unit][1] / 1000, 3)}
    return markers, clock, faults.spans()


def _unit_sync(path: Path, u: dict) -> tuple[int, float, float, float]:
    """A unit report's (unit, rtt_us, offset_us, drift_ppb), each checked: a unit of null
    was an unexpected TypeError (exit 70), a text or NaN round trip a median of NaN."""
    unit = u.get("unit", -1)
    sync = (u["rtt_us"], u.get("offset_us", 0), u.get("drift_ppb", 0))
    if type(unit) is not int or not all(type(v) in (int, float) and np.isfinite(v)
                                        for v in sync):
        raise store.SessionError(f"{path}: a units report reads {json.dumps(u)[:80]}: a unit "
                                 "that is no number, or a clock sync that is no finite "
                                 "number: not a session this host wrote")
    return (unit, *map(float, sync))


def _frames(path: Path) -> Frames:
    """The frame log's size and span; every row's values checked (`store.rows`), none held."""
    with store.rows(path, "frames") as (_, rows):
        first = next(rows, None)
    if first is None:
        return Frames(path)
    with store.reading(path) as db:
        count, last = db.execute("SELECT count(*), (SELECT ts_us FROM frames ORDER BY rowid "
                                 "DESC LIMIT 1) FROM frames").fetchone()
    return Frames(path, count, first[0], last)


def griddable(rec: Recording, path: Path) -> Recording:
    """`rec`, where its span fits the grid of BIDS and EDF+ (MAX_SPAN_S)."""
    lo, hi = rec.span_us()
    if hi - lo > MAX_SPAN_S * 1e6:
        raise store.SessionError(f"{path}: its samples and film span {(hi - lo) / 86.4e9:.0f} "
                                 f"days, over the {MAX_SPAN_S // 86400} the 10 Hz grid of BIDS "
                                 "and EDF+ is made for: export csv, parquet or xdf (samples as "
                                 "recorded)")
    return rec
