"""Receive: packets -> verified seat samples, rejects counted by reason, units' health.

The hot path is vectorised: `wire_batch.decode_batch` verifies and decodes a whole batch into
numpy rows, and `ReplayWindows` applies each unit's 64-packet sliding anti-replay window
(as in IPsec/DTLS) to all of them at once. Heartbeats and clock-sync requests are few and
take a small per-packet path beside it.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import numpy as np

from empathy import wire, wire_batch
from empathy.clock import now_us
from empathy.keys import KeystoreWatch

HISTORY = 6000  # samples kept per seat for fusion and the report (10 min at 10 Hz)
QUIET_S = 2.0  # a unit or sensor silent this long is reported (checked every pump: < 3 s)
UNITS = 1 << 16
_CONTROL = {(wire.VERSION << 4) | wire.KIND_HEALTH, (wire.VERSION << 4) | wire.KIND_SYNC}
_VECTOR_ROUNDS = 4  # a unit with more packets than this in one batch: the rest one by one


class ReplayWindows:
    """Per unit: highest sequence seen plus a 64-bit bitmap of the ones just below it."""

    SIZE = 64

    def __init__(self):
        self.top = np.full(UNITS, -1, np.int64)
        self.bits = np.zeros(UNITS, np.uint64)

    def accept(self, unit: int, seq: int) -> bool:
        top, bits = int(self.top[unit]), int(self.bits[unit])
        if seq > top:
            shift = seq - top
            full = (1 << self.SIZE) - 1
            self.bits[unit] = ((bits << shift) | 1) & full if shift < self.SIZE else 1
            self.top[unit] = seq
            return True
        back = top - seq
        if back >= self.SIZE or bits >> back & 1:
            return False
        self.bits[unit] = bits | 1 << back
        return True

    def accept_batch(self, units: np.ndarray, seqs: np.ndarray) -> np.ndarray:
        """Same verdicts as `accept` in arrival order. Rounds keep units unique per step."""
        n = len(units)
        units, seqs = units.astype(np.intp), seqs.astype(np.int64)
        ok = np.zeros(n, bool)
        if n == 0:
            return ok
        order = np.argsort(units, kind="stable")
        su = units[order]
        first = np.r_[True, su[1:] != su[:-1]]
        rank = np.empty(n, np.intp)
        rank[order] = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))
        for r in range(min(int(rank.max()) + 1, _VECTOR_ROUNDS)):
            idx = np.flatnonzero(rank == r)
            ok[idx] = self._round(units[idx], seqs[idx])
        for i in np.flatnonzero(rank >= _VECTOR_ROUNDS)[np.argsort(rank[rank >= _VECTOR_ROUNDS],
                                                                    kind="stable")].tolist():
            ok[i] = self.accept(int(units[i]), int(seqs[i]))
        return ok

    def _round(self, u: np.ndarray, s: np.ndarray) -> np.ndarray:
        top, bits = self.top[u], self.bits[u]
        ahead = s > top
        shift = np.clip(s - top, 0, self.SIZE - 1).astype(np.uint64)
        back = np.clip(top - s, 0, self.SIZE - 1).astype(np.uint64)
        one = np.uint64(1)
        fresh_behind = ~ahead & (top - s < self.SIZE) & ((bits >> back) & one == 0)
        self.bits[u] = np.where(ahead, np.where(s - top < self.SIZE, (bits << shift) | one, one),
                                np.where(fresh_behind, bits | (one << back), bits))
        self.top[u] = np.where(ahead, s, top)
        return ahead | fresh_behind


class Health:
    """Who is talking: units' last packet and heartbeat, seats' sensors, loss from seq gaps."""

    SENSORS = {"hr": wire.Flag.HR_OK, "pupil": wire.Flag.PUPIL_OK, "face": wire.Flag.FACE_OK,
               "contact": wire.Flag.CONTACT}

    def __init__(self, quiet_s: float = QUIET_S):
        self.quiet_us = int(quiet_s * 1e6)
        self.unit_last = np.full(UNITS, -1, np.int64)
        self.unit_first_seq = np.full(UNITS, -1, np.int64)
        self.unit_count = np.zeros(UNITS, np.int64)
        self.seat_last = np.full(UNITS, -1, np.int64)
        self.seat_unit = np.zeros(UNITS, np.int64)
        self.sensor_last = np.full((len(self.SENSORS), UNITS), -1, np.int64)
        self.heartbeats: dict[int, wire.Health] = {}
        self.quiet_units: set[int] = set()
        self.quiet_sensors: set[tuple[int, str]] = set()
        self.left: set[int] = set()  # the transport said goodbye for them (MQTT last will)

    def saw(self, units: np.ndarray, seqs: np.ndarray, rx_us: int) -> None:
        units = units.astype(np.intp)
        self.unit_last[units] = rx_us
        if self.left:
            self.left -= set(units.tolist())
        first = self.unit_first_seq[units] < 0
        self.unit_first_seq[units[first]] = np.iinfo(np.int64).max
        np.minimum.at(self.unit_first_seq, units[first], seqs[first].astype(np.int64))
        np.add.at(self.unit_count, units, 1)

    def saw_samples(self, rows: np.ndarray, rx_us: int) -> None:
        seats = rows["seat_id"].astype(np.intp)
        self.seat_last[seats] = rx_us
        self.seat_unit[seats] = rows["unit_id"]
        for k, flag in enumerate(self.SENSORS.values()):
            self.sensor_last[k, seats[(rows["flags"] & int(flag)) != 0]] = rx_us

    def loss(self, unit: int, top_seq: int) -> float:
        """Fraction of this unit's packets (all kinds) that never arrived."""
        span = top_seq - self.unit_first_seq[unit] + 1
        return max(0.0, 1 - self.unit_count[unit] / span) if span > 0 else 0.0

    def check(self, now: int) -> list[dict]:
        """Changes since the last check: units/sensors gone quiet or back."""
        events = []
        seen = np.flatnonzero(self.unit_last >= 0)
        quiet = set(seen[now - self.unit_last[seen] > self.quiet_us].tolist()) | self.left
        for u in sorted(quiet - self.quiet_units):
            events.append({"event": "unit_quiet", "unit": u,
                           "why": "left" if u in self.left else "silent",
                           "silent_s": round((now - int(self.unit_last[u])) / 1e6, 3)})
        for u in sorted(self.quiet_units - quiet):
            events.append({"event": "unit_back", "unit": u})
        self.quiet_units = quiet
        seats = np.flatnonzero(self.seat_last >= 0)
        live = seats[(now - self.seat_last[seats] <= self.quiet_us)
                     & ~np.isin(self.seat_unit[seats], list(quiet))]  # quiet units said enough
        sensors = set()
        for k, name in enumerate(self.SENSORS):
            last = self.sensor_last[k, live]
            gone = live[(last >= 0) & (now - last > self.quiet_us)]
            sensors.update((int(s), name) for s in gone)
        for seat, name in sorted(sensors - self.quiet_sensors):
            events.append({"event": "sensor_quiet", "seat": seat, "sensor": name,
                           "unit": int(self.seat_unit[seat])})
        for seat, name in sorted(self.quiet_sensors - sensors):
            events.append({"event": "sensor_back", "seat": seat, "sensor": name,
                           "unit": int(self.seat_unit[seat])})
        self.quiet_sensors = sensors
        return events


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

    `reply(unit_id, packet)` (the receiver's) answers clock-sync requests at once, so the
    host's t2/t3 timestamps are taken right where the exchange happens; `clock` is the host
    clock they are read from (a simulated one in tests).
    """

    def __init__(self, keys: dict[int, bytes], reply: Optional[Callable[[int, bytes], None]] = None,
                 quiet_s: float = QUIET_S, clock: Callable[[], int] = now_us):
        self.keys = dict(keys)
        self.clock = clock
        self.previous: dict[int, bytes] = {}
        self.table = wire_batch.KeyTable(self.keys)
        self.reply = reply
        self.seats: dict[int, SeatTrack] = {}
        self.windows = ReplayWindows()
        self.health = Health(quiet_s)
        self.received = 0
        self.accepted = 0
        self.rejected: Counter = Counter()
        self._watch: Optional[KeystoreWatch] = None

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

    def watch_keystore(self, path) -> None:
        """Pick up `empathy keys new/revoke` on this file while running (see check_health)."""
        self._watch = KeystoreWatch(path)

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
        bad = np.flatnonzero(code != wire_batch.OK)
        for i in bad.tolist():
            p = packets[i]
            if p and p[0] in _CONTROL:
                self._control(p, rx_us)
            else:
                self.rejected[wire.REASONS[code[i] - 1]] += 1
        ok = np.flatnonzero(code == wire_batch.OK)
        fresh = self.windows.accept_batch(rows["unit_id"][ok], rows["seq"][ok])
        replayed = len(ok) - int(fresh.sum())
        if replayed:
            self.rejected["replayed"] += replayed
        good = rows[ok[fresh]]
        self.accepted += len(good)
        self.health.saw(good["unit_id"], good["seq"], rx_us)
        self.health.saw_samples(good, rx_us)
        return good

    def feed(self, packets: Iterable[bytes], rx_us: Optional[int] = None) -> list[wire.SeatSample]:
        """Verify a batch; returns the samples accepted (rejects are counted by reason)."""
        good = self.feed_array(list(packets), rx_us)
        samples = wire_batch.samples_of(good)
        seats = self.seats
        for s in samples:
            track = seats.get(s.seat_id)
            if track is None:
                track = seats[s.seat_id] = SeatTrack(s.seat_id, s.unit_id)
            track.history.append(s)
        return samples

    def _control(self, p: bytes, rx_us: int) -> None:
        is_sync = p[0] & 0x0F == wire.KIND_SYNC
        try:
            msg, key = self._key_for(wire.decode_sync if is_sync else wire.decode_health, p)
        except wire.WireError as e:
            self.rejected[e.reason] += 1
            return
        if not self.windows.accept(msg.unit_id, msg.seq):
            self.rejected["replayed"] += 1
            return
        self.accepted += 1
        self.health.saw(np.array([msg.unit_id]), np.array([msg.seq]), rx_us)
        if not is_sync:
            self.health.heartbeats[msg.unit_id] = msg
        elif self.reply is not None:
            self.reply(msg.unit_id, wire.encode_sync_reply(
                wire.SyncReply(msg.unit_id, msg.seq, msg.t1_us, rx_us, self.clock()), key))

    def check_health(self, gone: Iterable[int] = (), now: Optional[int] = None) -> list[dict]:
        """Health events since the last call; `gone`: units the transport saw leave."""
        self.health.left.update(u for u in gone if self.health.unit_last[u] >= 0)
        events = self.health.check(now_us() if now is None else now)
        ks = self._watch.changed() if self._watch else None
        if ks:
            self.set_keys(ks.units, ks.previous)
            events.append({"event": "keys_reloaded", "units": len(ks.units),
                           "rotating": sorted(ks.previous)})
        return events

    def unit_report(self, now: Optional[int] = None) -> list[dict]:
        """One line per unit seen: silence, loss, and its last heartbeat (for dashboards)."""
        now = now_us() if now is None else now
        out = []
        for u in np.flatnonzero(self.health.unit_last >= 0).tolist():
            hb = self.health.heartbeats.get(u)
            silent_s = round((now - int(self.health.unit_last[u])) / 1e6, 3)
            out.append({"unit": u, "silent_s": silent_s,
                        "loss": round(self.health.loss(u, int(self.windows.top[u])), 4),
                        **({"firmware": ".".join(map(str, hb.firmware)), "battery": hb.battery,
                            "sensors": hb.sensors, "offset_us": hb.offset_us,
                            "drift_ppb": hb.drift_ppb, "rtt_us": hb.rtt_us,
                            "sync_loss_permille": hb.loss_permille,
                            "uplink_fail": hb.uplink_fail} if hb else {})})
        return out
