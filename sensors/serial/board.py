"""`serial:///dev/ttyACM0?baud=115200`: one of our sensor boards on a serial line.

A reader thread owns the port: it decodes protocol frames (sensors/firmware/protocol.py),
turns them into readings on this machine's monotonic clock, and survives the board being
unplugged: it reports the fault, waits for the device node to come back (hot-plug), opens
it again and resynchronises. `serial://loop://` opens pyserial's `loop://` (tests); any
pyserial URL works the same way (`serial://socket://host:port`).

Query: baud (default 115200), sensor (the Health name, default "serial:<port>"), lo_pins
(trust, the default, or ignore: an ECG front end's lead-off pins are not read, for a board
whose pins are faulty: sensors/serial/leads.py says when they look it).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from typing import Optional

import numpy as np
import serial

from empathy import wire
from empathy.clock import now_us
from empathy.sensors.base import (UNPLUGGED, Device, Health, Pupil, Reading, SourceError,
                                  Waveform, drain)
from empathy.sensors.firmware import protocol
from empathy.sensors.firmware.board import CONTACT_LEVEL
from empathy.sensors.serial.board_clock import BoardClock as BoardClock  # (the BLE strap's)
from empathy.sensors.serial.board_clock import STEP_BACK_US, BoardGate
from empathy.sensors.serial.leads import LeadWatch

log = logging.getLogger("empathy.sensors.serial")

REOPEN_MIN_S = 0.05
REOPEN_MAX_S = 2.0
NODE_POLL_S = 0.1  # a stat: cheap to repeat while a board is away
PPG_FULL_SCALE = (1 << 18) - 1  # MAX30102-class ADCs: 18-bit counts
# an ECG frame whose every sample is this close to an end of the counts' range sits on the
# front end's rail: dry electrodes' offset saturates an AD8232 with its LO pins low (its
# output swings to within ~0.1 V of the supply: 2000 counts on a 3V3 16-bit ADC), and a
# tenth of a second of a QRS or wander is never all there
ECG_RAIL_COUNTS = 32768 // 16
# this many bytes with no frame of ours among them (two of the longest frames) are another
# firmware's talk, or another baud rate: said once (the seat sat empty, its log silent)
JUNK_BYTES = 2 * (protocol.MAX_PAYLOAD + 8)
STATUS_TEXT_MAX = 64  # what the protocol's encoder sends of a STATUS text
REQUEST_WAIT_S = 0.1  # a HELLO request that can't be written by then is not sent
# A board whose firmware reads nothing (from before the request) lets the requests pile up
# in its input buffer: ~70 opens on, each write waited REQUEST_WAIT_S. A HELLO within
# REQUEST_ANSWER_S of a request answers it; after REQUEST_MISSES unanswered in a row the
# port is asked no more this run (its board says HELLO every 5 s on its own)
REQUEST_ANSWER_S = 1.0
REQUEST_MISSES = 3


def port_from_url(url: str) -> str:
    """serial:///dev/ttyACM0 -> /dev/ttyACM0; serial://loop:// -> loop:// (any pyserial URL,
    the same form as the serial transport's)."""
    port = url[len("serial://"):].partition("?")[0]
    if not port or port == "/":
        raise SourceError(f"{url}: no serial port (try serial:///dev/ttyACM0)")
    return port


class SerialSource:
    """A sensor board on a serial port. See the module docstring for the URL."""

    # its HELLO (at power-on and every 5 s) names the board as a `Device`: the port's path
    # does not (a board swapped on /dev/ttyACM0 is another board)
    names_device = True

    def __init__(self, url: str, query: dict, **_):
        self.url = url
        self.port_name = port_from_url(url)
        try:
            self.baud = int(query.get("baud", 115200))
        except ValueError:
            raise SourceError(f"{url}: baud must be a number, got {query['baud']!r}") from None
        self.sensor = query.get("sensor", f"serial:{os.path.basename(self.port_name)}")
        lo_pins = query.get("lo_pins", "trust")
        if lo_pins not in ("trust", "ignore"):
            raise SourceError(f"{url}: lo_pins must be trust or ignore, got {lo_pins!r}")
        self.ignore_lo = lo_pins == "ignore"
        self.decoder = protocol.Decoder()
        self.gate = BoardGate()  # the board's clock, and which frames are on it
        self.strays_said = False  # (logged once a run)
        self.lead_off = ""  # why the ECG front end's last frame held no ECG: an electrode
        # off ("lead off") or its output on the rail; "" while it reads
        self.reconnects = 0
        self.bytes_in = 0
        self.pupil_rejected = 0  # diameters no eye has (wire.RANGES), read as no value
        self.requests = 0  # HELLO requests written
        self.unanswered = 0  # requests in a row no HELLO answered (REQUEST_MISSES)
        self.asked_us: Optional[int] = None  # when the last request went, till a HELLO
        self._q: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self.port: Optional[serial.SerialBase] = None
        self._open()  # a port missing at start is a config error, not a hot-plug
        self._thread = threading.Thread(target=self._run, name=f"serial {self.port_name}",
                                        daemon=True)
        self._thread.start()

    # -- port --------------------------------------------------------------------------
    def _open(self) -> None:
        url = "://" in self.port_name  # loop:// (tests; it echoes), socket://: not asked
        try:  # exclusive: a second reader (two calibrations on one board) split its bytes
            self.port = serial.serial_for_url(self.port_name, baudrate=self.baud, timeout=0.05,
                                              write_timeout=None if url else REQUEST_WAIT_S,
                                              exclusive=True)
        except (serial.SerialException, OSError, ValueError) as e:
            if "exclusively lock" in str(e):
                busy = SourceError(f"{self.url}: {self.port_name} is in use by another program")
                busy.hint = ("stop the other reader first: an edge unit, another calibration, "
                             "`empathy sensors read`")  # (not errors.py's "plugged in?")
                raise busy from None
            raise SourceError(f"{self.url}: cannot open {self.port_name}: {e}") from None
        self.decoder.reset()
        self.gate.reset()
        # which board is on the port is the HELLO's word, never the last one's (a board
        # swapped on a replug): opening flushed the boot HELLO, so ask for one (a board
        # from before the request says it within 5 s, HELLO_EVERY_US)
        self.board = {}
        if self.asked_us is not None:  # the last open's request: no HELLO came at all
            self.unanswered += 1
        self.asked_us = None
        if not url and self.unanswered < REQUEST_MISSES:
            try:
                self.port.write(protocol.HELLO_REQUEST)
                self.requests += 1
                self.asked_us = now_us()
            except (serial.SerialException, OSError):
                self.unanswered += 1  # a board that reads nothing, its buffer full
        self.lead_off = ""
        self.leads = LeadWatch()  # the lead-off pins, settled (a frame's bits are its own)
        self.ppg_seen = False  # the board sends PPG frames (a finger sensor besides an ECG)
        self.junk, self._frames = 0, self.decoder.ok + self.decoder.unknown  # (JUNK_BYTES)

    def _close_port(self) -> None:
        if self.port is not None:
            try:
                self.port.close()
            except (serial.SerialException, OSError):
                pass
            self.port = None

    def _reopen(self) -> None:
        """Wait for the device to come back (hot-plug), then open it and resync. Its node is
        looked for every NODE_POLL_S; only opens that fail back off (looked for on that
        backoff, a board away 3.3 s was read again 1.9-2.1 s after it came back, not
        0.1-0.4 s: its seat's HR 8.1-9.0 s after, not 5.9-6.9 s)."""
        wait = REOPEN_MIN_S
        while not self._stop.is_set():
            if "://" not in self.port_name and not os.path.exists(self.port_name):
                self._stop.wait(NODE_POLL_S)
                continue
            try:
                self._open()
                self.reconnects += 1
                log.info("board back", extra={"port": self.port_name})
                self._q.put(Health(now_us(), self.sensor, contact=True))
                return
            except SourceError:
                pass  # node exists but is not ready yet (udev still setting it up)
            self._stop.wait(wait)
            wait = min(REOPEN_MAX_S, wait * 2)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.port is None:
                self._reopen()
                continue
            try:
                data = self.port.read(max(1, self.port.in_waiting))
            except (serial.SerialException, OSError, TypeError) as e:
                log.warning("board unplugged", extra={"port": self.port_name, "error": str(e)})
                self._close_port()
                self._q.put(Health(now_us(), self.sensor, contact=False, fault=UNPLUGGED))
                continue
            if data:
                self.bytes_in += len(data)
                arrival = now_us()
                for msg in self.decoder.feed(data):
                    for frame, arrived, ts in self.gate.feed(msg, arrival):
                        for r in self._readings(frame, arrived, ts):
                            self._q.put(r)
                self._out_of_order()
                self._no_frames(len(data), arrival)

    def _out_of_order(self) -> None:
        """Say once a run that the board sends frames out of its clock's order."""
        if self.gate.out_of_order and not self.strays_said:
            self.strays_said = True
            log.warning(f"board sent a frame over {STEP_BACK_US / 1e6:g} s behind its newest "
                        f"(a retransmit, a sensor's task late): its samples go on stamped on "
                        f"the board's clock, a repeat is dropped (frames_out_of_order in the "
                        f"source's stats; its firmware should send frames in its clock's "
                        f"order: docs/sensors.md)", extra={"port": self.port_name})

    def _no_frames(self, n: int, arrival_us: int) -> None:
        """Say once (as Health) when JUNK_BYTES came with no frame of ours among them."""
        frames = self.decoder.ok + self.decoder.unknown
        self.junk = 0 if frames != self._frames else self.junk + n
        self._frames = frames
        if self.junk >= JUNK_BYTES > self.junk - n:
            # (not 'off the body': an ECG board's lead state changes only with its frames)
            self._q.put(Health(arrival_us, self.sensor, contact=not self.lead_off, fault=(
                f"{self.junk} bytes and no frame of protocol v{protocol.VERSION}: another "
                f"firmware on the board, or another baud rate?")))

    # -- frames -> readings --------------------------------------------------------------
    def _readings(self, msg: tuple, arrival_us: int, ts: int) -> list[Reading]:
        """What one frame says; an ECG frame's lead bits (as LeadWatch settles them), or its
        samples all on a rail (ECG_RAIL_COUNTS), become Health when they change."""
        if msg[0] != protocol.ECG:
            r = self._reading(msg, arrival_us, ts)
            said = [] if r is None else [r]
            if msg[0] == protocol.HELLO:  # which board: another on this port (a swap, the
                # next viewer's) is not the viewer of before a restart (edge/viewer_state.py)
                board = f"board:{msg[3]['board_id']:08x}"
                said.insert(0, Device(arrival_us, self.sensor, board))
            return said
        f = msg[3]
        counts = np.asarray(f["samples"], np.int32)
        rail = ((counts >= 32767 - ECG_RAIL_COUNTS).all()
                or (counts <= ECG_RAIL_COUNTS - 32768).all())
        # counts less the front end's reference, at its stated scale: mV at the electrodes
        mv = counts * (f["pv_per_count"] * 1e-9)
        leads = 0 if self.ignore_lo else f["leads"]
        was = self.lead_off
        self.lead_off = off = self.leads.frame(leads, mv, float(f["fs_hz"])) or (
            "ECG front end saturated" if rail else "")
        said = [] if off == was else [Health(ts, self.sensor, contact=not off, fault=off)]
        if leads:  # what the front end read with an electrode off is no ECG: a gap
            return said
        # on the rail, or a lead back and settling, too: the detector stays warm, and the
        # seat sees the line stand
        return said + [Waveform(ts, "ecg", float(f["fs_hz"]), mv)]

    def _reading(self, msg: tuple, arrival_us: int, ts: int) -> Optional[Reading]:
        kind, _, _, f = msg
        if kind == protocol.HELLO:
            if self.asked_us is not None:  # (REQUEST_MISSES)
                answered = arrival_us - self.asked_us <= REQUEST_ANSWER_S * 1e6
                self.unanswered = 0 if answered else self.unanswered + 1
                self.asked_us = None
            self.board = {"board_id": f"{f['board_id']:08x}", "fw": ".".join(map(str, f["fw"])),
                          "name": f["name"]}
            log.info("board hello", extra={"port": self.port_name, "board": self.board})
            if f["protocol"] != protocol.VERSION:  # frames may still parse; say why if not
                return Health(arrival_us, self.sensor, fault=f"board speaks protocol "
                              f"v{f['protocol']}, this host v{protocol.VERSION}")
        if kind == protocol.PPG:
            self.ppg_seen = True
            if (np.asarray(f["samples"]) <= CONTACT_LEVEL).any():
                return None  # the finger (partly) off: the room's light is no pulse, and the
                # step to and from it held the seat's PPG HR wrong, then lost, for 10 s
                # after the finger came back; a gap starts the detector afresh (as a lead off
                # does the ECG's). The board's STATUS says so within a second
            # Boards send reflected-light counts, which fall as blood arrives; a Waveform is
            # a pleth that rises with blood volume, as NeuroKit2 and pulse oximeters show it.
            pleth = PPG_FULL_SCALE - np.asarray(f["samples"], np.int32)
            return Waveform(ts, "ppg", float(f["fs_hz"]), pleth)
        if kind == protocol.EDA:
            ns = np.asarray(f["samples"], np.float64)
            if (ns == protocol.EDA_SATURATED).any():  # a gap, not a made-up value
                return Health(ts, self.sensor, fault="GSR front end saturated")
            return Waveform(ts, "eda", float(f["fs_hz"]), ns / 1000.0)  # µS
        if kind == protocol.ACC:  # the magnitude, in mG, as a Polar H10's accelerometer gives it
            xyz = np.asarray(f["samples"], np.float64).reshape(-1, 3)
            return Waveform(ts, "acc", float(f["fs_hz"]), np.linalg.norm(xyz, axis=1))
        if kind == protocol.PUPIL:
            mm = f["diameter_um"] / 1000.0
            ok = wire.RANGES["pupil_mm"]  # what the wire takes (0: the board's "lost")
            if mm and not ok.lo <= mm <= ok.hi:
                self.pupil_rejected += 1
                return Pupil(ts, 0.0, 0.0)
            return Pupil(ts, mm, f["confidence"] / 255.0 if mm else 0.0)
        if kind == protocol.STATUS:
            battery = -1.0 if f["battery"] == protocol.BATTERY_UNKNOWN else float(f["battery"])
            # the board's own words go to the unit's log and the tester's terminal: one line
            text = f["text"][:STATUS_TEXT_MAX]
            fault = (text if text.isprintable() else ascii(text)) or protocol.ERRORS.get(
                f["error"], f"error {f['error']}")
            # an ECG-only board's lead off stands till its frames say otherwise; on one
            # with a PPG too, the bit says whether either is on the body. The bit reads the
            # lead-off pins: with lo_pins=ignore the ECG's contact is this host's word
            flag = bool(f["flags"] & protocol.CONTACT)
            contact = ((flag and self.ppg_seen) or not self.lead_off) if self.ignore_lo \
                else flag and not (self.lead_off and not self.ppg_seen)
            return Health(ts, self.sensor, contact=contact, battery_pct=battery,
                          fault=fault if f["error"] else self.lead_off)
        return None

    # -- Source ----------------------------------------------------------------------------
    def read(self, timeout_s: float = 0.1) -> list[Reading]:
        return drain(self._q, timeout_s)

    @property
    def frames_out_of_order(self) -> int:  # (the unit's stats, per seat)
        return self.gate.out_of_order

    def stats(self) -> dict:
        return {"frames_ok": self.decoder.ok, "frames_lost": self.decoder.lost,
                "frames_unknown": self.decoder.unknown, "lead_off": bool(self.lead_off),
                "lead_fault": self.lead_off, "lead_verdict": self.leads.verdict(),
                "rejected": dict(self.decoder.errors), "reconnects": self.reconnects,
                "bytes": self.bytes_in, "board": self.board,
                "hello_requests": self.requests, "hello_unanswered": self.unanswered,
                "pupil_rejected": self.pupil_rejected,
                "frames_out_of_order": self.frames_out_of_order,
                "clock_restarts": self.gate.restarts}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._close_port()
