"""Each seat's viewer baseline kept over a unit's restarts.

A unit restarted mid-show (systemd after a crash or a watchdog, an operator's restart) used
to take a new 'resting' baseline inside the film. Now each seat's baseline and its last
signal go into the unit's state folder every SAVE_EVERY_S (atomically), and on start a seat
whose last signal is under `rebaseline_after_s` old takes them back: by the seat's own rule
it has the same viewer. Anything else starts fresh, as without the file.

A seat whose source names the device it reads (a strap's address, a board's id: `Device`)
decides when that device is first read, not at start: only the device the viewer wore
gives their baseline back. A cinema strap found by name has one seat key whoever wears
it, so a unit restarted while the strap was swapped (another viewer's, a dead battery's
successor) had handed the new wearer the old viewer's baseline. An entry that names no
device (a file written before devices were named, or saved before the device said which)
is not taken back by such a seat: a wrong baseline is worse than a fresh one. A played
file or a simulated viewer is never taken back (`live`).

An edge unit's state folder is an SD card, slow and wearing: the unit writes on a thread of
its own (`save_later`; a card that stalls for seconds holds that thread, never the seats'
samples) and only when an entry changed (a seat with a viewer: its last signal moves;
nobody, or no live seat: no write at all).

Privacy: the file holds each baseline's summary statistics (count, mean, sum of squared
deviations) and when the viewer's signal began and was last seen, never a beat, an interval or a waveform.
The device is kept as an HMAC of its identity keyed by this boot's id, which the file holds
only as a hash: a copy of the file (an SD card, a support bundle) can't be searched for a
strap's address (Polar's 24 free bits are 16M tries), and the key dies with the boot, as
the file's use does.

Times are the machine's monotonic clock (a wall clock may step between runs; this one
does not), which only means something within one boot: the file names its boot, and a
unit started on another (a reboot) starts fresh. The file comes from disk, so it is checked
whole as it is read: anything out of range and the whole file is passed over with one
warning (a wrong baseline is worse than a fresh one).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import threading
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from empathy import atomic
from empathy.edge.fusion import baselines
from empathy.paths import not_a_file
from empathy.sensors.base import source_file

log = logging.getLogger("empathy.edge")

FORMAT = 2  # 1: before devices were named (the boot id as it is; no device); still read
SAVE_EVERY_S = 10.0  # a crash loses at most this much of the last signal (errs fresh)
CLOSE_WAIT_S = 5.0  # a stopping unit waits this long for its last save (systemd's stop
# timeout is 90 s; a card that stalls longer loses the last 10 s of signal only)
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
# What a baseline's mean may be (beyond the body's range the file is not ours, or broken);
# its spread may be at most the range's width
MEAN_RANGE = {"hr": (20.0, 250.0), "rmssd": (0.0, 500.0), "pupil": (-10.0, 10.0),
              "eda_rate": (0.0, 120.0), "eda_tonic": (0.0, 100.0)}
MAX_BYTES = 1 << 20  # a unit's seats take a few hundred bytes each
N_MAX = 10_000_000  # samples in one baseline: 100 Hz for a day is under it
ENTRY_KEYS = {"key", "start_us", "last_signal_us", "first", "base", "device"}
TAG_LEN = 32  # hex digits of a hash kept


class Unreadable(ValueError):
    """The state file is not one this unit wrote for itself in this boot."""


class OtherBoot(Unreadable):
    """Written before a reboot: not a fault, but its times are another clock's."""


def boot_id() -> str:
    """This boot's id ("" where the system has none: then nothing is ever restored)."""
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


def boot_tag(boot: str) -> str:
    """How the file names its boot: a hash, so that the boot id keys `device_tag` unseen."""
    return hashlib.sha256(f"empathy viewer state {boot}".encode()).hexdigest()[:TAG_LEN]


def device_tag(boot: str, ident: str) -> str:
    """A device's identity as the file keeps it: an HMAC keyed by the boot id (unlike a
    plain or salted hash beside it, not reversible from the file alone)."""
    return hmac.new(boot.encode(), ident.encode(), hashlib.sha256).hexdigest()[:TAG_LEN]


def seat_key(unit_id: int, seat) -> str:
    """What makes a seat's viewer the same one: the unit, the seat, its sensor and its
    calibration names. Another sensor URL is another seat's viewer."""
    ident = [unit_id, seat.seat_id, seat.source, seat.viewer, seat.eye_camera,
             seat.heart_sensor]
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:32]


def live(source: str) -> bool:
    """A source that reads a body: a played file starts again from its beginning and a
    simulated viewer is born with each open, so neither is the viewer of before."""
    return source_file(source) is None and urlsplit(source).scheme != "sim"


def _int(v, lo: int, hi: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise Unreadable(f"{what} = {v!r} is not an integer within {lo}..{hi}")
    return v


def _real(v, lo: float, hi: float, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or not lo <= v <= hi:
        raise Unreadable(f"{what} = {v!r} is not a number within {lo:g}..{hi:g}")
    return float(v)


def _base(doc, where: str) -> dict[str, tuple[int, float, float]]:
    if not isinstance(doc, dict) or set(doc) != set(baselines()):
        raise Unreadable(f"{where}: base must give exactly {sorted(baselines())}")
    out = {}
    for name, v in doc.items():
        if not isinstance(v, list) or len(v) != 3:
            raise Unreadable(f"{where} {name}: not [n, mean, m2]")
        lo, hi = MEAN_RANGE[name]
        n = _int(v[0], 0, N_MAX, f"{where} {name} n")
        if not n:  # nothing taken yet: the running statistics are still zero
            lo = hi = 0.0
        mean = _real(v[1], lo, hi, f"{where} {name} mean")
        wide = MEAN_RANGE[name][1] - MEAN_RANGE[name][0]
        m2 = _real(v[2], 0.0, wide ** 2 * max(n - 1, 0), f"{where} {name} m2")
        out[name] = (n, mean, m2)
    return out


def parse(text: str, unit_id: int, boot: str, now_us: int) -> dict[int, dict]:
    """Seat id -> checked entry, from a state file's text; Unreadable says why not."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as e:  # truncated, not JSON, nested past the stack
        raise Unreadable(f"not JSON ({type(e).__name__})") from None
    form = doc.get("format") if isinstance(doc, dict) else None
    if form not in (1, FORMAT):
        raise Unreadable(f"not format 1 or {FORMAT}")
    if _int(doc.get("unit_id"), 0, 0xFFFF, "unit_id") != unit_id:
        raise Unreadable(f"written by unit {doc['unit_id']}")
    if not boot or doc.get("boot") != (boot if form == 1 else boot_tag(boot)):
        raise OtherBoot("written in another boot")
    saved = _int(doc.get("saved_us"), 0, now_us, "saved_us")  # not from the future
    seats = doc.get("seats")
    if not isinstance(seats, dict):
        raise Unreadable("no seats")
    out = {}
    for sid, e in seats.items():
        where = f"seat {sid}"
        ok = sid.isascii() and sid.isdigit() and len(sid) <= 5  # int() of 5000 digits raises
        seat = _int(int(sid) if ok else -1, 0, 0xFFFF, "seat id")
        keys = ENTRY_KEYS if form == FORMAT else ENTRY_KEYS - {"device"}
        if not isinstance(e, dict) or set(e) != keys:
            raise Unreadable(f"{where}: not {sorted(keys)}")
        device = e.get("device")
        if device is not None and not (isinstance(device, str) and len(device) == TAG_LEN
                                       and all(c in "0123456789abcdef" for c in device)):
            raise Unreadable(f"{where}: device is not a hash")
        last = _int(e["last_signal_us"], 0, saved, f"{where} last_signal_us")
        start = _int(e["start_us"], 0, last, f"{where} start_us")
        if not isinstance(e["key"], str) or not isinstance(e["first"], bool):
            raise Unreadable(f"{where}: key or first of the wrong type")
        out[seat] = {"key": e["key"], "start_us": start, "last_signal_us": last,
                     "first": e["first"], "base": _base(e["base"], where), "device": device}
    return out


class ViewerKeep:
    """A unit's file (`path`) of its seats' viewer baselines, for `cfg`'s seats and their
    `features` (SeatFeatures, in the seats' order)."""

    def __init__(self, path: Path, cfg, features: list):
        self.path, self.unit_id, self.boot = Path(path), cfg.unit_id, boot_id()
        self.seats, self.features = cfg.seats, features
        self.keys = [seat_key(cfg.unit_id, s) if live(s.source) and not s.opt_out else None
                     for s in cfg.seats]
        self._said = False  # one warning a run for a file that cannot be written
        self._written: Optional[dict] = None  # the seats last saved (None: none yet)
        self._writer: Optional[LatestWriter] = None  # started by the first save_later

    def resume(self, now_us: int, named=()) -> list[int]:
        """Seats whose viewer is the one of before the restart by their own rule (last
        signal under rebaseline_after_s ago) take that viewer's baseline back; their ids.
        A seat whose source names its device (`named`, in the seats' order) is only given
        the entry to hold (`Held`): it decides on the first device it reads."""
        kept, out = self._load(now_us), []
        named = list(named) + [False] * (len(self.seats) - len(named))
        for seat, feat, key, names in zip(self.seats, self.features, self.keys, named):
            entry = kept.get(seat.seat_id)
            why = resumable(entry, key, now_us, feat.rebase_us) if key else "not a live sensor"
            if why:
                if entry is not None:
                    log.info("seat %d: viewer baseline not taken back: %s", seat.seat_id, why)
                continue
            if names:
                feat.held = Held(entry, self.boot)
                continue
            feat.resume(entry)
            out.append(seat.seat_id)
            log.info("seat %d: the same viewer (last signal %.1f s ago): baseline taken back",
                     seat.seat_id, (now_us - entry["last_signal_us"]) / 1e6)
        return out

    def _load(self, now_us: int) -> dict[int, dict]:
        """The file's checked entries; {} (and one warning) where it is not usable."""
        if (what := not_a_file(self.path)):  # (a FIFO: open() waits for a writer)
            log.warning("viewer baselines %s: %s, not a file: every seat starts a fresh "
                        "baseline, and none is kept over a restart", self.path, what)
            self._said = True  # (the writer's own warning, said here)
            return {}
        try:
            with open(self.path, "rb") as f:
                data = f.read(MAX_BYTES + 1)
            text, why = (None, "too large") if len(data) > MAX_BYTES else (data.decode(), "")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as e:
            text, why = None, str(e)
        try:
            if text is None:
                raise Unreadable(why)
            return parse(text, self.unit_id, self.boot, now_us)
        except OtherBoot as e:
            log.info("%s: %s; every seat starts a fresh baseline", self.path, e)
            return {}
        except Unreadable as e:
            log.warning("viewer baselines %s ignored (%s): every seat starts a fresh "
                        "baseline", self.path, e)
            return {}

    def _text(self, now_us: int) -> Optional[str]:
        """The file's text as of now: each live seat's viewer that a restart now could take
        back (none with no signal yet, none gone rebaseline_after_s or more: a viewer's
        figures are kept no longer than they may be used). None where the seats are as last
        written: an SD card's wear is in its writes."""
        seats = {}
        for seat, f, key in zip(self.seats, self.features, self.keys):
            st = f.viewer_state() if key else None
            if st is None and key and f.held is not None:  # undecided: kept for a restart
                st = f.held.entry  # before the device is read (a crash loop)
            elif st is not None:  # (the entry held is hashed already)
                st = {**st, "device": st["device"] and device_tag(self.boot, st["device"])}
            if st is None:
                continue
            # a sensor's stamps corrected for its lag (calibrate hr) may run a little ahead
            last = min(st["last_signal_us"], now_us)
            if now_us - last < f.rebase_us:
                seats[str(seat.seat_id)] = {**st, "key": key, "last_signal_us": last,
                                            "start_us": min(st["start_us"], last)}
        if seats == self._written:
            return None
        self._written = seats
        return json.dumps({"format": FORMAT, "unit_id": self.unit_id,
                           "boot": boot_tag(self.boot),
                           "saved_us": now_us, "seats": seats})

    def save(self, now_us: int) -> None:
        """Write the file now, where the seats changed since the last save."""
        text = self._text(now_us)
        if text is not None:
            self._write(text)

    def save_later(self, now_us: int) -> None:
        """`save` on the writer's thread: a stalled card holds that thread, never the
        caller's loop. Only the newest text waits for it (never a backlog)."""
        text = self._text(now_us)
        if text is None:
            return
        if self._writer is None:
            self._writer = LatestWriter(self._write, f"viewer state {self.path.name}")
        self._writer.put(text)

    def close(self, now_us: int, timeout_s: float = CLOSE_WAIT_S) -> None:
        """The last save (a unit stopping): written before this returns, unless the card
        does not answer within `timeout_s` (then one warning; the unit stops anyway)."""
        self.save_later(now_us)
        if self._writer is not None and not self._writer.close(timeout_s):
            log.warning("viewer baselines not written to %s: the disk did not answer in "
                        "%.0f s", self.path, timeout_s)

    def _write(self, text: str) -> None:
        try:
            if (what := not_a_file(self.path)):  # (a rename would replace a FIFO or device)
                raise OSError(f"{what}, not a file")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_text(self.path, text, mode=0o600)  # a viewer's figures
        except OSError as e:  # a read-only state folder costs the restart guarantee only
            if not self._said:
                log.warning("cannot keep viewer baselines in %s: %s", self.path, e)
                self._said = True


class LatestWriter:
    """A thread that hands `write` the newest text `put` gave it. It holds one text at a
    time: a text put while the last is still being written replaces any older one waiting,
    so a card stalled for minutes costs memory for one file, and writes the newest after."""

    def __init__(self, write, name: str):
        self._write, self._cv = write, threading.Condition()
        self._text: Optional[str] = None
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, text: str) -> None:
        with self._cv:
            self._text = text
            self._cv.notify()

    def close(self, timeout_s: float) -> bool:
        """Write what waits, then end; False where that took longer than `timeout_s`."""
        with self._cv:
            self._closing = True
            self._cv.notify()
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._text is not None or self._closing)
                text, self._text = self._text, None
            if text is None:
                return
            self._write(text)


class Held:
    """A restarted seat's last viewer, for a seat whose source names its device: taken
    back on the first device read only if it is the one they wore (`why_not`)."""

    def __init__(self, entry: dict, boot: str):
        self.entry, self.boot = entry, boot

    def another(self, ident: str) -> bool:
        """Device `ident` is known not to be the one this viewer wore."""
        kept = self.entry["device"]
        return kept is not None and not hmac.compare_digest(device_tag(self.boot, ident),
                                                            kept)

    def why_not(self, ident: str, now_us: int, rebase_us: int) -> str:
        """"" if the seat reading device `ident` at now_us goes on with this viewer."""
        if self.entry["device"] is None:  # a file from before, or saved before it was read
            return "kept without the device it read: a new viewer"
        if self.another(ident):
            return "another device than before the restart: another viewer"
        return resumable(self.entry, self.entry["key"], now_us, rebase_us)


def resumable(entry: Optional[dict], key: str, now_us: int, rebase_us: int) -> str:
    """"" if a seat may take `entry` back, else why not (for the log)."""
    if entry is None:
        return "nothing kept"
    if entry["key"] != key:
        return "its sensor or calibration changed"
    age_us = now_us - entry["last_signal_us"]
    if not rebase_us or age_us >= rebase_us:
        return f"last signal {age_us / 1e6:.0f} s ago: a new viewer"
    return ""
