"""Receive: packets -> verified seat samples, rejects counted by reason, units' health
(who is talking and what went quiet: host/unit_health.py).

The hot path is vectorised. `wire_batch.decode_batch` verifies and decodes a whole batch
into numpy rows; then, still on whole arrays, samples stamped more than `fresh_s` from the
host clock are refused (`stale`, `future`), each unit's 64-packet anti-replay window is
applied (host/replay.py: `replayed`) and a unit may speak only for its own seats
(host/ownership.py: `foreign_seat`, `too_many_seats`, `unlisted_seat`). Heartbeats,
clock-sync requests and seats' faults (host/seat_faults.py) are verified in bulk too
(`wire_batch.verify_control`), so a flood of forged ones costs what forged samples cost;
only authentic ones are decoded one by one, a seat's faults are taken from its owner only,
and a sync reply goes back only to where an authentic request came from. A unit numbers
all its kinds in one sequence, so the window takes a batch's samples and control packets
together in arrival order: taking control packets first refused an 8-seat unit's first
samples whenever a stalled host read more than 64 of its packets at once (a second's).

Every value taken from a packet or a transport is range-checked before it indexes
anything. A body signal outside `wire.RANGES` (a 600-bpm heart rate flagged good: a faulty
sensor or firmware; the tag proves only who sent it) arrives as "no value" with its quality
bit cleared and the rest of the sample kept; the unit's health counts it (`unit_report`'s
`impossible`) and the log says so, rate-limited. Counters are plain attributes for
dashboards and metrics: `received`, `accepted`, `rejected` (a Counter by reason). With a
state folder, replay windows and seat locks survive a restart (host/intake_state.py).
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from empathy import wire, wire_batch
from empathy.clock import now_us
from empathy.host import intake_state, ownership
from empathy.host.one_heart import OneHeart
from empathy.host.ownership import SeatOwners
from empathy.host.replay import ReplayWindows
from empathy.host.seat_faults import FaultBook
from empathy.host.seatmap import SeatMapConfig
from empathy.host.unit_health import QUIET_S, Health
from empathy.keys import KeystoreWatch
from empathy.log import RateLimited

HISTORY = 6000  # samples kept per seat for fusion and the report (10 min at 10 Hz)
FRESH_S = 5.0  # a sample stamped further than this from the host clock is refused
SAVE_S = 1.0  # how often replay windows and seat locks go to the state folder
_CONTROL = np.array(sorted(wire_batch.CONTROL_HEADERS), np.uint8)
_TS_MOD = wire.TS_MASK + 1
_DECODE = {wire.KIND_SYNC: wire.decode_sync, wire.KIND_HEALTH: wire.decode_health,
           wire.KIND_FAULTS: wire.decode_faults}
log = logging.getLogger("empathy.host.receive")


@dataclass
class SeatTrack:
    seat_id: int
    unit_id: int
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY))

    @property
    def last(self) -> wire.SeatSample:
        return self.history[-1]


class Intake:
    """Verifies packets, keeps every seat's recent samples and every unit's health.

    `reply(unit_id, packet, origin)` (the receiver's) answers clock-sync requests at once,
    so the host's t2/t3 timestamps are taken right where the exchange happens; `origin`
    is the request's index in the batch, so the receiver answers the address that sent
    that authentic request and no other. `clock` is the host clock (a simulated one in
    tests).
    """

    def __init__(self, keys: dict[int, bytes], reply: Optional[Callable] = None,
                 quiet_s: float = QUIET_S, seatmap: Optional[SeatMapConfig] = None,
                 state_dir: Optional[str | Path] = None, fresh_s: float = FRESH_S,
                 clock: Callable[[], int] = now_us):
        self.keys = dict(keys)
        self.clock = clock
        self.previous: dict[int, bytes] = {}
        self.table = wire_batch.KeyTable(self.keys)
        self.reply = reply
        self.seats: dict[int, SeatTrack] = {}
        self.windows = ReplayWindows()
        self.epochs: dict[int, int] = {}  # unit -> connection epoch of its last status
        self.owners = SeatOwners(seatmap)
        self.health = Health(quiet_s)
        self.faults = FaultBook()  # why seats' sensors are out, as their units say (kind 7)
        self.one_heart = OneHeart()  # seats that send one heart (host/one_heart.py)
        self.fresh_us = int(fresh_s * 1e6) if fresh_s else 0
        self.received = 0
        self.accepted = 0
        self.rejected: Counter = Counter()
        self._watch: Optional[KeystoreWatch] = None
        self._on_reload: Optional[Callable] = None
        self.state_dir = Path(state_dir) if state_dir else None
        self.not_before_us: Optional[int] = None
        self._saved_at = 0.0
        self._unsaved = 0  # saves failed in a row
        self._say = RateLimited(log)
        self._moved: list[dict] = []  # seat_moved events for the next check_health
        if self.state_dir:
            self._restore()

    # -- state across restarts ----------------------------------------------------------
    def _restore(self) -> None:
        got = intake_state.load(self.state_dir, self.keys, self.previous)
        if got is None:
            return
        tops, locks, self.epochs = got
        self.windows.restore(tops)
        self.owners.restore(locks)
        # A restart: every sample stamped before now was either taken before or is a copy
        # (an attacker's replay of what the old host took in its last second). Refuse all.
        self.not_before_us = self.clock() & wire.TS_MASK

    def save_state(self) -> None:
        """Write replay windows and seat locks to the state folder (no-op without one)."""
        self._saved_at = time.monotonic()
        if self.state_dir:
            self.owners.release_idle()
            intake_state.save(self.state_dir, self.windows.tops(), self.owners.locks(),
                              self.keys, self.previous, self.epochs)

    # -- keys (rotation while the show runs) -------------------------------------------
    def set_keys(self, keys: dict[int, bytes], previous: Optional[dict[int, bytes]] = None) -> None:
        """Swap in a new key set; a unit's previous key keeps working until dropped here."""
        previous = previous or {}
        for unit in set(self.keys) - set(keys):
            self.table.remove(unit)
        for unit, key in keys.items():
            if self.keys.get(unit) != key or self.previous.get(unit) != previous.get(unit):
                self.table.set(unit, key, previous.get(unit))
        self.keys, self.previous = dict(keys), {u: k for u, k in previous.items() if u in keys}

    def watch_keystore(self, path, on_reload: Optional[Callable] = None) -> None:
        """Pick up `empathy keys new/revoke/cue-key` on this file while running (see
        check_health); `on_reload(keystore)` also gets each new one (the show's cue key)."""
        self._watch, self._on_reload = KeystoreWatch(path, "host"), on_reload

    def _key_for(self, decode, packet: bytes):
        """Scalar verify with the current key, then the previous one mid-rotation."""
        try:
            return decode(packet, self.keys), self.keys.get(wire.unit_of(packet))
        except wire.WireError as e:
            unit = wire.unit_of(packet)
            if e.reason != "bad_tag" or unit not in self.previous:
                raise
            return decode(packet, self.previous), self.previous[unit]

    # -- packets -----------------------------------------------------------------------
    def feed_array(self, packets: list[bytes], rx_us: Optional[int] = None) -> np.ndarray:
        """Verify a batch; returns the accepted samples as `wire_batch.SAMPLES` rows."""
        if not packets:
            return np.empty(0, wire_batch.SAMPLES)
        rx_us = self.clock() if rx_us is None else rx_us
        self.received += len(packets)
        rows, code = wire_batch.decode_batch(packets, self.table)
        ok = code == wire_batch.OK
        ctrl = self._sort_out(packets, np.flatnonzero(~ok), code) if not ok.all() else []
        fresh = self._fresh(rows["ts_us"][ok], rx_us)
        good = rows[ok][fresh]
        units, seqs = good["unit_id"], good["seq"]
        is_ctrl = np.zeros(len(good), bool)
        if ctrl:  # one sequence per unit: its samples and control packets in batch order
            at = np.r_[np.flatnonzero(ok)[fresh], [c[0] for c in ctrl]]
            order = np.argsort(at, kind="stable")
            units = np.r_[units, [c[2].unit_id for c in ctrl]][order]
            seqs = np.r_[seqs, [c[2].seq for c in ctrl]][order]
            is_ctrl = order >= len(good)
        ext = self.windows.extend(units, seqs)
        new = self.windows.accept_batch(units, ext)
        self._count("replayed", len(new) - int(new.sum()))
        self.health.saw(units[new], ext[new], rx_us)  # the unit is alive, whatever it claims
        # samples behind their window: another counter (a link's duplicates are not)
        self.health.refused(units[self.windows.behind & ~is_ctrl])
        taken = new[is_ctrl].tolist()  # control packets, in batch order
        new = new[~is_ctrl]
        good = good[new]
        owned = self.owners.check(good["unit_id"], good["seat_id"])
        self._count_codes(owned, ownership.REASONS)
        good = good[owned == ownership.OK]
        self.accepted += len(good)
        self.health.saw_samples(good, rx_us)
        if good["lost"].any():
            self._impossible(good)
        for c, yes in zip(ctrl, taken):
            if yes:
                self._control(*c, rx_us)
        return good

    def _impossible(self, rows: np.ndarray) -> None:
        r = rows[np.flatnonzero(rows["lost"])[0]]
        names = [n for n, rng in wire.RANGES.items() if r["lost"] & rng.flag]
        self._say(logging.WARNING, "unit %d seat %d sent %s outside what a body makes (%s): "
                  "taken as no value; a faulty sensor or firmware (%d such samples in this batch)",
                  r["unit_id"], r["seat_id"], ", ".join(names),
                  ", ".join(f"{wire.RANGES[n].lo:g}..{wire.RANGES[n].hi:g} {wire.RANGES[n].unit}"
                            for n in names), int(np.count_nonzero(rows["lost"])))

    def _fresh(self, ts: np.ndarray, rx_us: int) -> np.ndarray:
        """Samples stamped within `fresh_s` of the host clock (and, after a restart, not
        before it); the others are counted as `stale` or `future`."""
        if not self.fresh_us or not len(ts):
            return np.ones(len(ts), bool)
        half = _TS_MOD // 2
        age = (rx_us - ts + half) % _TS_MOD - half  # 48-bit clock: signed distance
        stale = age > self.fresh_us
        if self.not_before_us is not None:
            stale |= (ts - self.not_before_us + half) % _TS_MOD - half < 0
        future = age < -self.fresh_us
        self._count("stale", int(stale.sum()))
        self._count("future", int((future & ~stale).sum()))
        return ~(stale | future)

    def _count(self, reason: str, n: int) -> None:
        if n:
            self.rejected[reason] += n

    def _count_codes(self, codes: np.ndarray, reasons: tuple = wire.REASONS) -> None:
        """Count reason codes (0 = ok, else 1 + index into `reasons`) in one pass."""
        for c, n in enumerate(np.bincount(codes, minlength=len(reasons) + 1).tolist()):
            if c and n:
                self.rejected[reasons[c - 1]] += n

    def _sort_out(self, packets: list[bytes], bad: np.ndarray, code: np.ndarray) -> list:
        """Packets the sample decoder refused: control packets are verified in bulk and the
        authentic ones decoded, as (batch index, key, message); the rest are counted by
        reason."""
        first = np.fromiter((packets[i][0] if packets[i] else 0 for i in bad.tolist()),
                            np.uint8, len(bad))
        is_ctrl = np.isin(first, _CONTROL)
        self._count_codes(code[bad[~is_ctrl]])
        ctrl = bad[is_ctrl].tolist()
        if not ctrl:
            return []
        batch = [packets[i] for i in ctrl]
        verdict = wire_batch.verify_control(batch, self.table)
        self._count_codes(verdict)
        out = []
        for j in np.flatnonzero(verdict == wire_batch.OK).tolist():
            try:
                msg, key = self._key_for(_DECODE[batch[j][0] & 0x0F], batch[j])
            except wire.WireError as e:
                self.rejected[e.reason] += 1
                continue
            out.append((ctrl[j], key, msg))
        return out

    def feed(self, packets: Iterable[bytes], rx_us: Optional[int] = None) -> list[wire.SeatSample]:
        """Verify a batch; returns the samples accepted (rejects are counted by reason)."""
        good = self.feed_array(list(packets), rx_us)
        samples = wire_batch.samples_of(good)
        seats = self.seats
        for s in samples:
            track = seats.get(s.seat_id)
            if track is None:
                track = seats[s.seat_id] = SeatTrack(s.seat_id, s.unit_id)
            if track.unit_id != s.unit_id:  # a released lock passed to another unit: said,
                # or the seat's record reads as one viewer's
                self._moved.append({"event": "seat_moved", "seat": s.seat_id,
                                    "unit": s.unit_id, "from_unit": track.unit_id})
                track.unit_id = s.unit_id
            track.history.append(s)
        return samples

    def _control(self, origin: int, key: bytes, msg, rx_us: int) -> None:
        """One authentic heartbeat, sync request or seat's faults the window took."""
        if isinstance(msg, wire.SeatFaults) and not self._own(msg):
            return
        self.accepted += 1
        if isinstance(msg, wire.Health):
            self.health.heartbeat(msg, rx_us)
        elif isinstance(msg, wire.SeatFaults):
            self.faults.take(msg, rx_us)
        elif self.reply is not None:
            self.reply(msg.unit_id, wire.encode_sync_reply(
                wire.SyncReply(msg.unit_id, msg.seq, msg.t1_us, rx_us, self.clock()), key),
                origin)

    def _own(self, f: wire.SeatFaults) -> bool:
        """A unit speaks of its own seats' faults only (counted as its samples are)."""
        code = self.owners.check(np.array([f.unit_id]), np.array([f.seat_id]))
        self._count_codes(code, ownership.REASONS)
        return bool(code[0] == ownership.OK)

    def _status(self, msg: bytes, now: int) -> Optional[int]:
        """One status message from the transport (`wire.Status`): the unit, if it says
        that unit's current connection ended. An "online" moves the unit's connection
        epoch forward; an "offline" counts only for that epoch or a newer one, so a will
        or goodbye captured from an earlier connection is refused (`stale_status`), and so
        is an offline from a unit whose online this host has not seen (silence still
        reports it within `quiet_s`)."""
        try:
            st, _ = self._key_for(wire.decode_status, msg)
        except wire.WireError:
            self.rejected["bad_status"] += 1  # untagged (a unit from before), forged, bent
            return None
        last = self.epochs.get(st.unit_id)
        ahead = None if last is None else wire.seq_delta(st.epoch, last)
        if (ahead is not None and ahead < 0) or (ahead is None and not st.online):
            self.rejected["stale_status"] += 1
            return None
        self.epochs[st.unit_id] = st.epoch
        if st.online and ahead != 0:  # a new connection (a repeat of its online is not)
            self.health.logged_in(st.unit_id, now)
        return None if st.online else st.unit_id

    def check_health(self, gone: Iterable[bytes] = (), now: Optional[int] = None) -> list[dict]:
        """Health events since the last call; `gone`: the transport's status messages
        (units saying they left, or came online)."""
        now = now_us() if now is None else now
        left = (self._status(bytes(m), now) for m in gone if isinstance(m, (bytes, bytearray)))
        self.health.left.update(u for u in left
                                if u is not None and self.health.unit_last[u] >= 0)
        events = (self.health.check(now) + self.faults.check(now)
                  + self.one_heart.check(self.seats, now) + self._moved)
        self._moved = []
        ks = self._watch.changed() if self._watch else None
        if ks:
            self.set_keys(ks.units, ks.previous)
            if self._on_reload:
                self._on_reload(ks)
            events.append({"event": "keys_reloaded", "units": len(ks.units),
                           "rotating": sorted(ks.previous)})
        if time.monotonic() - self._saved_at >= SAVE_S:
            try:
                self.save_state()
                if self._unsaved:
                    log.info("the intake's state saved again in %s (%d tries failed)",
                             self.state_dir, self._unsaved)
                    self._unsaved = 0
            except OSError as e:  # a full or read-only disk costs the restart guarantee only
                if not self._unsaved:  # once, not once a second while the disk is full
                    log.error("cannot save the intake's state in %s: %s (trying each second)",
                              self.state_dir, e)
                self._unsaved += 1
        return events

    def estimate_lag_s(self, unit: int, default_s: float) -> float:
        """How late `unit`'s arousal estimate answers the body, as its last heartbeat
        declared it (`wire.Health.estimate_lag_ms`, range-checked by the wire), or
        default_s where it declared none (no heartbeat yet, or a unit from before the
        field)."""
        hb = self.health.heartbeats.get(unit)
        return hb.estimate_lag_ms / 1000 if hb is not None and hb.estimate_lag_ms else default_s

    def unit_report(self, now: Optional[int] = None) -> list[dict]:
        """One line per unit seen: silence, loss, and its last heartbeat (for dashboards)."""
        return self.health.report(now_us() if now is None else now, self.windows.top)
