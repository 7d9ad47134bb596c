"""A FIT file's beats and times beyond what fitdecode gives (edge.signal_apps reads the file):
the hrv messages' intervals placed on the records' clock (Part, laid_beats), a strap's
stored beats (StoredBeats: hr messages), a monitoring message's 16-bit time (stamp16)."""

from __future__ import annotations

from array import array

import numpy as np

from empathy.edge.signal_columns import SignalFileError

MIN_BEATS = 4  # three intervals, as a file of RR intervals needs
LOST_S = 5.0  # the records' clock this far ahead of the beats: beats lost (real files: 1 s)
FIT_EPOCH = 631_065_600  # 1989-12-31T00:00Z in unix s: FIT's times count from it


class Part:
    """One file of a chained FIT: its first stamp, its latest, its hrv messages' intervals
    (s), and where the records' clock says beats were lost: (interval, its start in s)."""

    def __init__(self):
        self.start = self.latest = None
        self.rr, self.jumps, self.end = array("d"), [], 0.0

    def seen(self, stamp: float | None) -> None:
        if stamp is not None:
            self.start = stamp if self.start is None else self.start
            self.latest = stamp

    def add(self, rr: list[float]) -> None:
        """An hrv message comes as its beats do, after the record stamped with their second:
        where that stamp runs LOST_S ahead of the intervals laid end to end, the watch
        heard no beats for a while (a strap out of range), so this message's last beat is
        put at the stamp, not next to the last one heard."""
        if not rr:
            return
        self.end += sum(rr)
        if self.latest is not None and self.latest - self.start - self.end > LOST_S:
            self.jumps.append((len(self.rr), self.latest - self.start - sum(rr)))
            self.end = self.latest - self.start
        self.rr.extend(rr)

    def beats(self) -> np.ndarray:
        """Beat times in s from the part's start: the intervals laid end to end from each
        place the clock put them."""
        rr, cut = np.asarray(self.rr), [(0, 0.0)] + self.jumps + [(len(self.rr), None)]
        return np.concatenate([at + np.concatenate(([0.0], np.cumsum(rr[i:j])))
                               for (i, at), (j, _) in zip(cut, cut[1:])])


def laid_beats(parts: list[Part]) -> np.ndarray | None:
    """Each chained file's beats from its own start (never before the previous file's last
    beat): the time between two files is no interval. In s, UTC where the file has a stamp."""
    t0 = next((p.start for p in parts if p.start is not None), 0.0)
    beats, end = [], t0
    for p in parts:
        if not len(p.rr):
            continue
        at = end if p.start is None or not beats else max(end, p.start)
        laid = at + p.beats()
        beats.append(laid[1:] if beats and at == end else laid)  # (its first is the last)
        end = float(laid[-1])
    return np.concatenate(beats) if beats else None


class StoredBeats:
    """The beats a strap stored while the watch could not hear it (HRM-Swim, -Tri, -Pro under
    water), sent after as hr messages (FIT message 132): a beat's time in the device's
    clock (1/1024 s), whole (event_timestamp, 32 bits) in a message the watch stamps in UTC
    (timestamp + fractional_timestamp), then each next one as its low 12 bits
    (event_timestamp_12, 'accumulate': it adds to the one before, FIT Profile). fitdecode
    starts that sum at 0, not at the whole stamp, which moves a message's beats by up to 4 s
    against the stamp before them: the sum is redone here from the 12 bits."""

    def __init__(self, path: str):
        self.path, self.ticks, self.utc, self.t = path, None, None, array("d")

    def add(self, frame, stamp: float | None) -> None:
        frac = frame.get_value("fractional_timestamp", fallback=None) \
            if frame.has_field("fractional_timestamp") else None
        for f in frame.fields:
            if f.name != "event_timestamp" or f.raw_value is None:
                continue
            if f.field_def is not None:  # the whole stamp(s): uint32 ticks
                whole = [int(v) for v in np.atleast_1d(f.raw_value)
                         if isinstance(v, (int, np.integer))]
                if whole and stamp is not None:  # (its stamp pins the device's clock to UTC)
                    self._pin(stamp + (frac if isinstance(frac, float) and 0 <= frac < 1
                                       else 0.0) - whole[0] / 1024)
                for self.ticks in whole:
                    self._beat()
            elif self.ticks is not None and isinstance(f.raw_value, (int, float)):
                low = round(f.raw_value * 1024) & 0xFFF  # (fitdecode's sum keeps the 12 bits)
                self.ticks = (self.ticks & ~0xFFF) + low + (4096 if low < self.ticks & 0xFFF
                                                            else 0)
                self._beat()

    def _pin(self, utc: float) -> None:
        """The device's clock in UTC: kept from the first stamp (a message's whole second
        would move its beats by up to 1 s), taken anew where one differs by more (a device
        restarted; real files' stamps agree within 1 ms)."""
        if self.utc is None or abs(utc - self.utc) > 1.0:
            self.utc = utc

    def _beat(self) -> None:
        if self.utc is not None:  # (before any stamp the device's clock is no time)
            self.t.append(self.utc + self.ticks / 1024)

    def beats(self) -> np.ndarray | None:
        """Beat times in s (UTC); a stamp repeated (a writer's padding of the last message)
        is one beat."""
        if len(self.t) < MIN_BEATS:
            return None
        t = np.asarray(self.t)
        if np.any(np.diff(t) < 0):
            raise SignalFileError(f"{self.path}: a FIT file whose stored beats (hr messages) "
                                  "go back in time: not a recording we can read as beats")
        return t[np.append(True, np.diff(t) > 0)]


def stamp16(frame, last: float | None) -> float | None:
    """A monitoring message's time from its timestamp_16 (the low 16 bits of the FIT time,
    s) and the last whole one: the first time after it with those bits (FIT Profile)."""
    v = frame.get_value("timestamp_16", fallback=None) if frame.has_field("timestamp_16") \
        else None
    if last is None or not isinstance(v, int):
        return None
    fit = round(last) - FIT_EPOCH
    return FIT_EPOCH + fit + ((v - fit) & 0xFFFF)
