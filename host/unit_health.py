"""Who is talking, for the intake (host/receive.py): every unit's last packet and
heartbeat, every seat's sensors, loss from sequence gaps, and what went quiet or came back.
Indexed by unit and seat id (16-bit on the wire) in flat arrays, so a batch updates it in
a few numpy calls.

A value no body makes (outside wire.RANGES) arrives as "no value" (empathy/wire_batch.py):
it is counted per unit and field, and a sensor that sends only such values goes quiet with
`"why": "impossible values"`, so the operator sees a faulty sensor, not a silent one.
"""

from __future__ import annotations

import numpy as np

from empathy import wire
from empathy.host.unit_release import Releases, against_host

QUIET_S = 2.0  # a unit or sensor silent this long is reported (checked every pump: < 3 s)
UNITS = 1 << 16
# A unit that connects this many times within LOGINS_WINDOW_S is said (once a window): the
# shipped broker holds one connection per user, so another client logging in with the
# unit's password knocks the unit off each time, and the unit logs in again.
LOGINS_SAID, LOGINS_WINDOW_US = 4, 60_000_000
# A unit's restart, told from loss: a jump in its numbers past RESTART_RATE times what its
# own rate (while heard: gaps under HEARD_US) can have used in the silence before it, plus
# RESTART_SLACK. The numbers a restart skips were never sent (edge/sequence.py starts past
# a reserve: at least half a block, or twice its rate since its last write where the card
# is read-only), so they are not lost; a link that drops a unit's packets for a while
# leaves a gap of its rate times the silence. Under RESTART_IDLE times that after a silence
# past quiet_s, the unit was not sending: a restart after minutes down (its jump, half a
# block to a block, is then far less than its rate would have used), not loss.
HEARD_US, RATE_KNOWN_US, RESTART_RATE, RESTART_SLACK = 1_000_000, 2_000_000, 1.5, 64
RESTART_IDLE = 0.5
# Between those bounds the numbers cannot tell (one seat: a restart after 25-170 s down).
# A unit that declares its run in its heartbeat (wire.Health.run, drawn at each start) tells
# it for certain: a new run within RUN_SEEN_US of the jump made that jump, never sent.
RUN_SEEN_US = 30_000_000
# Two processes sending as one unit (a stale copy, its keystore on another machine) run two
# counters: one's packets fall behind the other's window and are refused as replays, a
# stream of them (a link's duplicates fall inside the window: not counted). Said at
# TWICE_SAID within TWICE_WINDOW_US, once a LOGINS_WINDOW_US.
TWICE_SAID, TWICE_WINDOW_US = 20, 10_000_000
TWICE_WHY = {
    "unit_twice": "its packets come on two runs of sequence numbers: two processes send with "
                  "its key (a stale unit still running, its keystore on another machine) or "
                  "its packets are replayed; those behind the other's numbers are refused",
    "unit_behind": "every packet it sends is behind the numbers the host has had from it "
                   "(its sequence file lost or restored from an old copy, or a copy ahead of "
                   "it sent as it): refused until it passes them; restart it with a "
                   "sequence file past them"}


class Health:
    """Who is talking: units' last packet and heartbeat, seats' sensors, loss from seq gaps."""

    SENSORS = {"hr": wire.Flag.HR_OK, "pupil": wire.Flag.PUPIL_OK, "face": wire.Flag.FACE_OK,
               "contact": wire.Flag.CONTACT}
    RANGED = tuple(wire.RANGES)  # rows of `impossible`

    def __init__(self, quiet_s: float = QUIET_S):
        self.quiet_us = int(quiet_s * 1e6)
        self.unit_last = np.full(UNITS, -1, np.int64)
        self.unit_first_seq = np.full(UNITS, -1, np.int64)
        self.unit_count = np.zeros(UNITS, np.int64)
        self.unit_top = np.full(UNITS, -1, np.int64)  # the highest number heard
        self.heard_us = np.zeros(UNITS, np.int64)  # time heard (gaps under HEARD_US)
        self.heard_n = np.zeros(UNITS, np.int64)  # numbers the unit used in it: its rate
        self.skipped = np.zeros(UNITS, np.int64)  # numbers skipped by restarts: never sent
        self.restarts = np.zeros(UNITS, np.int64)  # number jumps read as restarts
        self.gaps = np.zeros(UNITS, np.int64)  # silences past quiet_s the unit came back from
        self.gap_us = np.zeros(UNITS, np.int64)  # ...and their length: seats not measured
        self.replayed = np.zeros(UNITS, np.int64)  # its packets refused, behind its window
        self._replayed_mark, self._mark_us = self.replayed.copy(), None  # a window's start
        self.twice_said: dict[tuple, int] = {}  # (unit, event) -> when last said
        self.seat_last = np.full(UNITS, -1, np.int64)
        self.seat_unit = np.zeros(UNITS, np.int64)
        self.sensor_last = np.full((len(self.SENSORS), UNITS), -1, np.int64)
        # a sensor's values outside wire.RANGES: the last, and the first (for one never good)
        self.sensor_bad = np.full((2, len(self.SENSORS), UNITS), -1, np.int64)
        self.impossible = np.zeros((len(self.RANGED), UNITS), np.int64)  # per field and unit
        self.heartbeats: dict[int, wire.Health] = {}
        self.releases = Releases()  # units on another release than the host's, said
        self.jumped: dict[int, tuple[int, int, bool]] = {}  # unit -> last jump: gap, when, restart?
        self.quiet_units: set[int] = set()
        self.quiet_sensors: set[tuple[int, str]] = set()
        self.left: set[int] = set()  # the transport said goodbye for them (MQTT last will)
        self.logins: dict[int, list[int]] = {}  # unit -> its last connections' times (MQTT)
        self.logins_said: dict[int, int] = {}  # unit -> when its logins were last said

    def logged_in(self, unit: int, now: int) -> None:
        """The unit said it is online on a new connection (an authentic MQTT status)."""
        times = self.logins.get(unit, [])
        self.logins[unit] = [t for t in times if now - t < LOGINS_WINDOW_US][1 - LOGINS_SAID:] \
            + [now]

    def saw(self, units: np.ndarray, seqs: np.ndarray, rx_us: int) -> None:
        units = units.astype(np.intp)
        self._restarts(units, seqs.astype(np.int64), rx_us)
        last = self.unit_last[units]
        back = np.unique(units[(last >= 0) & (rx_us - last > self.quiet_us)])
        self.gaps[back] += 1
        self.gap_us[back] += rx_us - self.unit_last[back]
        self.unit_last[units] = rx_us
        if self.left:
            self.left -= set(units.tolist())
        first = self.unit_first_seq[units] < 0
        self.unit_first_seq[units[first]] = np.iinfo(np.int64).max
        np.minimum.at(self.unit_first_seq, units[first], seqs[first].astype(np.int64))
        np.add.at(self.unit_count, units, 1)

    def _restarts(self, units: np.ndarray, seqs: np.ndarray, rx_us: int) -> None:
        """Count a restart's jump as skipped, and each unit's rate while heard. A unit's
        packets in a batch share its silence and its top before the batch, so
        `a[units] += v` adds its v once."""
        top = self.unit_top[units]
        known = top >= 0
        far = known & (seqs - top - 1 > RESTART_SLACK)  # rare: a restart, or a loss
        restarted = self._jumps(units, seqs, top, far, rx_us) if far.any() else far
        np.maximum.at(self.unit_top, units, seqs)
        silent = rx_us - self.unit_last[units]
        live = known & (silent < HEARD_US) & ~restarted
        self.heard_us[units[live]] += silent[live]
        self.heard_n[units[live]] += (self.unit_top[units] - top)[live]

    def _jumps(self, units, seqs, top, far, rx_us) -> np.ndarray:
        """The packets of units whose first number past their top jumped past what their
        rate can have used in their silence (counted as skipped, not lost)."""
        restarted = np.zeros(len(units), bool)
        for u in np.unique(units[far]).tolist():
            mine = units == u
            t, heard_us = int(top[mine][0]), int(self.heard_us[u])
            gap = int(seqs[mine][seqs[mine] > t].min()) - t - 1  # a unit's packets reorder
            silent = rx_us - int(self.unit_last[u])
            used = int(self.heard_n[u]) * silent / max(heard_us, 1)  # at its rate, in silence
            restart = heard_us >= RATE_KNOWN_US and (
                gap > RESTART_RATE * used + RESTART_SLACK
                or (silent > self.quiet_us and gap < RESTART_IDLE * used))
            self.jumped[u] = (gap, rx_us, restart)
            if restart:
                self.skipped[u] += gap
                self.restarts[u] += 1
                restarted |= mine
        return restarted

    def heartbeat(self, hb: wire.Health, rx_us: int) -> None:
        """An authentic heartbeat. A run other than the unit's last is a restart, told for
        certain: the jump its numbers made as it came back, if read as loss, was never sent."""
        u, last = hb.unit_id, self.heartbeats.get(hb.unit_id)
        self.heartbeats[u] = hb
        self.releases.heard(hb)
        if not hb.run or last is None or not last.run or last.run == hb.run:
            return  # its first heard, the same run, or a unit from before runs
        gap, at, counted = self.jumped.pop(u, (0, 0, False))
        recent = rx_us - at <= RUN_SEEN_US
        if counted and recent:
            return  # its numbers told it already
        if recent:
            self.skipped[u] += gap
        self.restarts[u] += 1

    def refused(self, units: np.ndarray) -> None:
        """Authentic packets of these units refused as replays, behind their window."""
        np.add.at(self.replayed, units.astype(np.intp), 1)

    def saw_samples(self, rows: np.ndarray, rx_us: int) -> None:
        seats = rows["seat_id"].astype(np.intp)
        self.seat_last[seats] = rx_us
        self.seat_unit[seats] = rows["unit_id"]
        for k, flag in enumerate(self.SENSORS.values()):
            self.sensor_last[k, seats[(rows["flags"] & int(flag)) != 0]] = rx_us
        lost = rows["lost"]
        if not lost.any():
            return
        last_bad, first_bad = self.sensor_bad
        for k, flag in enumerate(self.SENSORS.values()):
            hit = seats[(lost & int(flag)) != 0]
            last_bad[k, hit] = rx_us
            first_bad[k, hit[first_bad[k, hit] < 0]] = rx_us
        units = rows["unit_id"].astype(np.intp)
        for k, name in enumerate(self.RANGED):
            np.add.at(self.impossible[k], units[(lost & int(wire.RANGES[name].flag)) != 0], 1)

    def impossible_of(self, unit: int) -> dict:
        """Values this unit sent that no body makes, by field (dropped on arrival)."""
        return {name: int(self.impossible[k, unit]) for k, name in enumerate(self.RANGED)}

    def loss(self, unit: int, top_seq: int) -> float:
        """Fraction of this unit's packets (all kinds) that never arrived (numbers a restart
        skipped were never sent)."""
        span = top_seq - self.unit_first_seq[unit] + 1 - self.skipped[unit]
        return max(0.0, 1 - self.unit_count[unit] / span) if span > 0 else 0.0

    def report(self, now: int, top: np.ndarray) -> list[dict]:
        """One line per unit seen: silence, loss (`top`: each unit's highest sequence number
        taken, the replay windows'), and its last heartbeat (Intake.unit_report)."""
        out = []
        for u in np.flatnonzero(self.unit_last >= 0).tolist():
            hb = self.heartbeats.get(u)
            out.append({"unit": u, "silent_s": round((now - int(self.unit_last[u])) / 1e6, 3),
                        "loss": round(self.loss(u, int(top[u])), 4),
                        # a restart's skipped numbers are not lost, but its seats' silence is
                        "restarts": int(self.restarts[u]),
                        "gaps": int(self.gaps[u]),
                        "gap_s": round(int(self.gap_us[u]) / 1e6, 1),
                        "replayed": int(self.replayed[u]),
                        "impossible": self.impossible_of(u),
                        **({"firmware": ".".join(map(str, hb.firmware)),
                            "release": against_host(hb.firmware), "battery": hb.battery,
                            "sensors": hb.sensors, "offset_us": hb.offset_us,
                            "drift_ppb": hb.drift_ppb, "rtt_us": hb.rtt_us,
                            "sync_loss_permille": hb.loss_permille,
                            "uplink_fail": hb.uplink_fail,
                            # 0: a unit from before the field (the host assumes the default)
                            "estimate_lag_ms": hb.estimate_lag_ms} if hb else {})})
        return out

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
        sensors, faulty = set(), set()
        for k, name in enumerate(self.SENSORS):
            last, bad = self.sensor_last[k, live], self.sensor_bad[0, k, live]
            # one sending only impossible values goes quiet too (never good: since its first)
            since = np.where(last >= 0, last, self.sensor_bad[1, k, live])
            gone = (since >= 0) & (now - since > self.quiet_us)
            sensors.update((int(s), name) for s in live[gone])
            faulty.update((int(s), name) for s in live[gone & (bad > last)])
        for seat, name in sorted(sensors - self.quiet_sensors):
            events.append({"event": "sensor_quiet", "seat": seat, "sensor": name,
                           "unit": int(self.seat_unit[seat]),
                           **({"why": "impossible values"} if (seat, name) in faulty else {})})
        for seat, name in sorted(self.quiet_sensors - sensors):
            events.append({"event": "sensor_back", "seat": seat, "sensor": name,
                           "unit": int(self.seat_unit[seat])})
        self.quiet_sensors = sensors
        return (events + self._logins_events(now) + self._twice_events(now)
                + self.releases.events())

    def _twice_events(self, now: int) -> list[dict]:
        """A unit's packets refused as replays, a stream of them in the last window: with
        others of its packets taken (`unit_twice`: two counters), or with none
        (`unit_behind`: it sends below the numbers the host has had from it)."""
        if self._mark_us is None:
            self._mark_us = now
        if now - self._mark_us < TWICE_WINDOW_US:
            return []
        events = []
        for u in np.flatnonzero(self.replayed - self._replayed_mark >= TWICE_SAID).tolist():
            kind = "unit_twice" if self.unit_last[u] >= self._mark_us else "unit_behind"
            if now - self.twice_said.get((u, kind), now - LOGINS_WINDOW_US) < LOGINS_WINDOW_US:
                continue
            self.twice_said[(u, kind)] = now
            events.append({"event": kind, "unit": u,
                           "refused": int(self.replayed[u] - self._replayed_mark[u]),
                           "within_s": round((now - self._mark_us) / 1e6, 1),
                           "why": TWICE_WHY[kind]})
        self._replayed_mark[:], self._mark_us = self.replayed, now
        return events

    def _logins_events(self, now: int) -> list[dict]:
        events = []
        for u, times in self.logins.items():
            if (len(times) >= LOGINS_SAID and now - times[0] < LOGINS_WINDOW_US
                    and now - self.logins_said.get(u, now - LOGINS_WINDOW_US) >= LOGINS_WINDOW_US):
                self.logins_said[u] = now
                events.append({"event": "unit_logins", "unit": u, "logins": len(times),
                               "within_s": round((now - times[0]) / 1e6, 1),
                               "why": "another client logs in with its broker password "
                                      "(each login knocks the other off), or its link "
                                      "keeps dropping"})
        return events
