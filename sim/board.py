"""A simulated sensor board on a real pseudo-terminal, for demos and tests.

It runs the firmware's own streaming loop (sensors/firmware/board.py) over a simulated
MAX30102 whose PPG follows a simulated viewer's heartbeats (`sim://`) and, with `gsr`, a
GSR front end reading that viewer's skin conductance, with `acc`, a LIS3DH-shaped
accelerometer moved by the same movements that corrupt the pulse, and writes into the
master side of a pty. The slave side is published at a stable path (a symlink, like
/dev/serial/by-id/...), so `serial://PATH` finds it again after `unplug()` / `replug()`.
With `ecg` it is an ECG seat instead: an AD8232 playing a real corpus ECG, its electrodes
coming off now and then (the input floats in mains hum, LO+ goes high).

    python -m empathy.sim.board --link /tmp/board0 --seed 3
    python -m empathy.sim.board --link /tmp/board0 --ecg qtdb-sel232 --lead-off 30:40
    python -m empathy.sim.board --link /tmp/board0 --ecg mitdb-100 --flap 20:50 (or --stuck-lo)
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
import tty
from pathlib import Path
from typing import Optional

import numpy as np

from empathy.cli import number_in
from empathy.clock import now_us
from empathy.edge.lifeline import add_option, watch
from empathy.sensors.base import Beat, Pupil, Waveform
from empathy.sensors.firmware.board import Board
from empathy.sensors.firmware import protocol
from empathy.sim.seat import SimSource
from empathy.sim.viewer import ACC_HZ, EDA_HZ, PPG_HZ

PPG_DC, PPG_AC = 120_000, 1_500  # IR level with a finger on the sensor (18-bit counts), pulse
PPG_MAX = (1 << 18) - 1
ROOM_LIGHT, ROOM_NOISE = 2_000, 30.0  # IR counts with no finger on the sensor
# the simulated AD8232 (this simulator's own levels): a gain of 300 on a 3V3 16-bit ADC
# (+-5.5 mV at the electrodes) and, with an electrode off, a floating input's mains pickup
ECG_FS_HZ, ECG_GAIN = 250, 300
ECG_HUM_MV, ECG_NOISE_MV = 0.4, 0.03
# dry electrodes: their offset drives the output against a supply rail (this simulator's AD8232
# swings to within 50 mV of it), the ADC's last bits still moving (a 12-bit ADC read as 16)
ECG_RAIL_V, ECG_ADC_LSB = 3.25, 16
# a loose electrode snap or a tugged cable: contact breaks ~3 times a second, a third of the time
FLAP_HZ, FLAP_OFF = 3.0, 0.33
# the simulated board's clock follows its PPG's newest sample, at most this far behind ours
HOLD_S = 1.0


class SimPPGSensor:
    """MAX30102-shaped: `fs_hz` and `read()` -> IR samples since the last read.

    The light follows a simulated viewer's finger PPG (`sim://...&ppg=1`, `sim/ppg.py`):
    each heartbeat's pulse, breathing, and the motion artefacts of a viewer who fidgets or
    eats. Reflected IR falls as blood arrives, so the counts dip at each pulse.
    """

    def __init__(self, viewer: SimSource, off=(), flap=()):
        self.viewer = viewer
        self.fs_hz = int(PPG_HZ)
        self.off, self.flap = list(off), list(flap)  # (s from the first sample, as SimAD8232's)
        self.n = 0  # samples given so far
        self.rng = np.random.default_rng(0)
        self.rr_ms = 800.0  # the viewer's last true beat-to-beat interval (for tests)
        self.pupils: list[Pupil] = []
        self.eda_us: list[float] = []  # skin conductance samples for the GSR front end
        self.acc_mg: list[float] = []  # the hand's acceleration for the accelerometer
        self.fifo: list[int] = []
        self.sampled_us: Optional[int] = None  # when the newest PPG sample was taken
        self.turn_us: Optional[int] = None  # the board's clock in a turn of `turns`

    def clock_us(self) -> int:
        """The board's clock: when the newest sample was taken. The viewer gives its PPG in
        CHUNK_S chunks; on wall time, a loop turn late by more than the firmware's SLIP
        (50 ms at 100 Hz: a loaded host) found a chunk's newest sample that far back and
        re-anchored the stamps (frames 60-130 ms off their 250-ms steps), as a real FIFO,
        sampled to the moment it is read, never is. Never more than HOLD_S behind wall time
        (the viewer away from the seat: no samples, yet STATUS each second) but in `turns`."""
        if self.turn_us is not None:
            return self.turn_us
        wall = now_us() - int(HOLD_S * 1e6)
        return wall if self.sampled_us is None else max(self.sampled_us, wall)

    def turns(self):
        """The viewer's readings since the last pull into the FIFO, a loop turn of the board
        (the caller's, at each yield: the pupils to send after it) on each PPG chunk's time,
        then one on the clock: seconds late, the frames go in the clock's order (one turn's
        pupils went after a STATUS up to those seconds newer: to the host, a clock set back)."""
        for r in self.viewer.read(timeout_s=0):
            if self.turn_us is not None and (isinstance(r, Pupil) or isinstance(r, Waveform)
                                             and r.kind in ("ppg", "eda")):
                yield self.pupils  # (sent after the turn)
                self.turn_us, self.pupils = None, []
            if isinstance(r, Beat):
                self.rr_ms = r.rr_ms
            elif isinstance(r, Pupil):
                self.pupils.append(r)
            elif isinstance(r, Waveform) and r.kind == "ppg":
                counts = PPG_DC - PPG_AC * np.asarray(r.samples, float)
                self.fifo += self._lifted(np.clip(counts, 0, PPG_MAX)).astype(int).tolist()
                last_us = r.ts_us + int((len(r.samples) - 1) * 1e6 / self.fs_hz)
                self.turn_us = self.sampled_us = last_us
            elif isinstance(r, Waveform) and r.kind == "eda":
                self.eda_us += list(r.samples)
            elif isinstance(r, Waveform) and r.kind == "acc":
                self.acc_mg += list(r.samples)
        self.turn_us = None
        yield self.pupils
        self.pupils = []

    def read(self) -> list[int]:
        """Like the chip's FIFO: what was sampled up to the board's clock."""
        out, self.fifo = self.fifo, []
        return out

    def _lifted(self, counts: np.ndarray) -> np.ndarray:
        """In each `off` span the finger is off the sensor (the room's light); in each
        `flap` span it rests so lightly it lifts FLAP_OFF of each 1/FLAP_HZ s."""
        t = (self.n + np.arange(len(counts))) / self.fs_hz
        self.n += len(counts)
        off = SimAD8232._within(self.off, t) | (SimAD8232._within(self.flap, t)
                                                 & ((t * FLAP_HZ) % 1.0 < FLAP_OFF))
        room = ROOM_LIGHT + self.rng.normal(0.0, ROOM_NOISE, len(t))
        return np.where(off, room, counts)


class SimGsr:
    """The GSR front end's shape (`fs_hz`, `read()` -> nS since the last read) over the
    viewer's own skin conductance (`sim://...&eda=1`: it rises and responds with their
    hidden arousal, sim/physiology.py), sampled at half the viewer's rate."""

    def __init__(self, sensor: SimPPGSensor):
        self.sensor, self.fs_hz = sensor, int(EDA_HZ) // 2
        self._odd = False  # keep every second sample of the viewer's 32 Hz

    def read(self) -> list[int]:
        us, self.sensor.eda_us = self.sensor.eda_us, []
        odd, self._odd = int(self._odd), (self._odd + len(us)) % 2 == 1
        return [min(0xFFFE, max(0, int(round(x * 1000)))) for x in us[odd::2]]


class SimAccel:
    """The LIS3DH's shape (`fs_hz`, `read()` -> (x, y, z) mG since the last read) over the
    viewer's hand (`sim://...&acc=1`). The simulated hand gives a magnitude only: it is
    read out along z (the edge uses the magnitude, so it sees the same)."""

    def __init__(self, sensor: SimPPGSensor):
        self.sensor, self.fs_hz = sensor, int(ACC_HZ)

    def read(self) -> list[tuple[int, int, int]]:
        mg, self.sensor.acc_mg = self.sensor.acc_mg, []
        return [(0, 0, min(32767, int(round(m)))) for m in mg]


class SimBareFinger:
    """A MAX30102 nobody's finger is on (an ECG seat's board with its PPG fitted too): the
    room's light, far under a finger's level, and the ADC's noise."""

    def __init__(self, seed: int = 0):
        self.fs_hz, self.rng = int(PPG_HZ), np.random.default_rng(seed)
        self.t0_us: Optional[int] = None
        self.n = 0

    def read(self) -> list[int]:
        now = now_us()
        self.t0_us = now if self.t0_us is None else self.t0_us
        due = int((now - self.t0_us) * self.fs_hz / 1e6)
        k, self.n = due - self.n, due
        return (ROOM_LIGHT + self.rng.normal(0.0, ROOM_NOISE, k)).astype(int).tolist()


def corpus_ecg(name: str, fs_hz: int = ECG_FS_HZ) -> np.ndarray:
    """A heart-corpus record's ECG (mV) at fs_hz (edge/heart_corpus.py)."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    from empathy.edge.heart_corpus import record, record_data

    rec = record(name)
    if rec.kind != "ecg":
        raise ValueError(f"{name} is no ECG record")
    x, fs = record_data(rec)
    r = Fraction(fs_hz / fs).limit_denominator(1000)
    return np.asarray(resample_poly(x, r.numerator, r.denominator) if r != 1 else x, float)


def recorded_motion(fs_hz: int = ECG_FS_HZ) -> np.ndarray:
    """Real electrode-motion noise (mV) at fs_hz, 120 s: the MIT-BIH Noise Stress Test's
    recorded `em` (electrodes on an active subject, placed so no ECG shows), as the NSTDB
    excerpts 118e00 less 118e24 (edge/heart_reference: the same ECG, the noise at 0 and 24
    dB: the heart cancels, 0.94 of e00's noise is left), its segment's median removed."""
    from scipy.signal import resample_poly

    from empathy.edge.heart_corpus import REFERENCE_DIR

    e00, e24 = (np.load(REFERENCE_DIR / f"nstdb-118e{db}.npz") for db in ("00", "24"))
    a, b = (int(s * e00["fs_hz"]) for s in e00["noise_s"])
    mv = (e00["adc"][a:b].astype(float) - e24["adc"][a:b]) / float(e00["gain"])
    mv = resample_poly(mv, fs_hz, int(e00["fs_hz"]))
    return mv - np.median(mv)


class SimAD8232:
    """The AD8232 driver's shape (`fs_hz`, `pv_per_count`, `leads`, `read()` -> (count less
    REFOUT, lead bits) of the samples due since the last read) playing a recorded ECG (mV,
    looped) from its first read on. In each `off` span (s from then) the electrodes are
    off: the floating input picks up mains hum and noise, and LO+ is high unless
    `reports` is False (a front end whose LO pins are not wired: no lead-off reading). In
    each `rail` span the electrodes are on but dry: the output sits at the top rail and the
    LO pins stay low (the inputs are still connected). In each `flap` span +IN's electrode
    hangs on a loose snap: it breaks contact FLAP_OFF of each 1/FLAP_HZ s (floating, LO+
    high as in `off`). `stuck_lo`: LO+ reads high all the time (a dead pin, a wiring fault)
    while the electrodes are on and the ECG is good. `motion_mv` (looped) adds to the
    floating input: a real lead's cable moves (`recorded_motion`)."""

    def __init__(self, ecg_mv: np.ndarray, fs_hz: int = ECG_FS_HZ, off=(),
                 hum_hz: float = 50.0, reports: bool = True, seed: int = 0, rail=(),
                 flap=(), stuck_lo: bool = False, motion_mv=()):
        self.x, self.fs_hz, self.off = np.asarray(ecg_mv, float), fs_hz, list(off)
        self.rail, self.flap, self.stuck_lo = list(rail), list(flap), stuck_lo
        self.hum_hz, self.reports = hum_hz, reports
        self.motion = np.asarray(motion_mv, float)
        self.pv_per_count = round(3.3 / 65536 / ECG_GAIN * 1e12)
        self.rng = np.random.default_rng(seed)
        self.t0_us: Optional[int] = None
        self.n = 0  # samples read so far
        self.leads = 0

    @staticmethod
    def _within(spans, t_s: np.ndarray) -> np.ndarray:
        out = np.zeros(len(t_s), bool)
        for a, b in spans:
            out |= (t_s >= a) & (t_s < b)
        return out

    def read(self) -> list[tuple[int, int]]:
        now = now_us()
        if self.t0_us is None:
            self.t0_us = now
        due = int((now - self.t0_us) * self.fs_hz / 1e6)
        i = np.arange(self.n, due)
        self.n = due
        if not len(i):
            return []
        t = i / self.fs_hz
        off = self._within(self.off, t) | (self._within(self.flap, t)
                                           & ((t * FLAP_HZ) % 1.0 < FLAP_OFF))
        mv = self.x[i % len(self.x)]
        float_mv = ECG_HUM_MV * np.sin(2 * np.pi * self.hum_hz * t) \
            + self.rng.normal(0.0, ECG_NOISE_MV, len(t))
        if len(self.motion):
            float_mv = float_mv + self.motion[i % len(self.motion)]
        mv = np.where(off, float_mv, mv)
        counts = np.clip(np.round(mv * 1e9 / self.pv_per_count), -32768, 32767).astype(int)
        dry = self._within(self.rail, t)
        if dry.any():
            top = round((ECG_RAIL_V / 3.3 - 0.5) * 65536)
            top = top + ECG_ADC_LSB * self.rng.integers(-2, 3, len(t))
            counts = np.where(dry, np.minimum(top, 32767), counts)
        leads = np.where((off | self.stuck_lo) & self.reports, protocol.LEAD_P, 0)
        self.leads = int(leads[-1])
        return list(zip(counts.tolist(), leads.tolist()))


class SimBoard:
    """A board plugged into a pty whose slave is reachable at `link`: a simulated viewer's
    finger PPG (with `gsr`, `acc`), or with `ecg` an ECG seat (with `bare_ppg`, its PPG
    fitted too and nobody's finger on it). `finger_off`, `finger_flap`: SimPPGSensor's."""

    def __init__(self, link: str | Path, seed: int = 0, board_id: int = 0xEE01,
                 gsr: bool = False, acc: bool = False, ecg: Optional[SimAD8232] = None,
                 bare_ppg: bool = False, finger_off=(), finger_flap=()):
        self.link = Path(link)
        self.viewer = self.sensor = self.gsr = self.acc = None
        if ecg is None:
            eda, hand = ("1" if gsr else "0"), ("1" if acc else "0")
            self.viewer = SimSource(f"sim://board?seed={seed}&ppg=1&eda={eda}&acc={hand}",
                                    {"seed": seed, "faces": "0", "ppg": "1", "eda": eda,
                                     "acc": hand}, faces=False)
            self.sensor = SimPPGSensor(self.viewer, finger_off, finger_flap)
            self.gsr = SimGsr(self.sensor) if gsr else None
            self.acc = SimAccel(self.sensor) if acc else None
        self.ecg = ecg
        ppg = SimBareFinger(seed) if ecg is not None and bare_ppg else self.sensor
        ticks = now_us if self.sensor is None else self.sensor.clock_us
        self.board = Board(ppg, self._write, lambda: ticks() & 0xFFFFFFFF, board_id,
                           name="sim-ecg" if ecg else "sim-board", gsr=self.gsr, acc=self.acc,
                           ecg=ecg)
        self.master: Optional[int] = None
        self.sent = self.dropped = 0  # frames written while plugged in, and dropped
        self.replug()

    def _write(self, data: bytes) -> None:
        if self.master is None:
            return
        try:
            os.write(self.master, data)
            self.sent += 1
        except BlockingIOError:  # nobody reading: a USB CDC port drops, it does not stall
            self.dropped += 1

    def replug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        os.close(slave)  # the driver opens it by path, like a real /dev/ttyACM0
        os.set_blocking(master, False)
        self.master = master
        tmp = self.link.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(name)
        tmp.replace(self.link)
        self.board.boot()  # a board that gets power again starts over

    def unplug(self) -> None:
        self.link.unlink(missing_ok=True)
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def step(self) -> None:
        """The firmware's loop turns since the last step (`SimPPGSensor.turns`): PPG frames,
        STATUS, pupil samples; then the host's request (answered on the newest clock)."""
        for pupils in self.sensor.turns() if self.sensor is not None else [[]]:
            self.board.step()
            for p in pupils:
                self.board.pupil(p.ts_us & 0xFFFFFFFF, int(p.diameter_mm * 1000),
                                 int(p.confidence * 255))
        try:  # (the firmware polls its USB serial)
            self.board.heard(os.read(self.master, 64) if self.master is not None else b"")
        except OSError:  # nothing written (BlockingIOError), or not open on the host (EIO)
            pass

    def close(self) -> None:
        self.unplug()
        if self.viewer is not None:
            self.viewer.close()


def _span(text: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: FROM:TO in seconds") from None
    if not 0 <= a < b:
        raise argparse.ArgumentTypeError(f"{text!r}: 0 <= FROM < TO")
    return a, b


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--link", required=True, help="path where the board's tty appears")
    ap.add_argument("--seed", type=number_in(int, 0, 2**32 - 1), default=0, help="the simulated viewer's seed")
    ap.add_argument("--gsr", action="store_true", help="with a GSR front end (skin conductance)")
    ap.add_argument("--acc", action="store_true", help="with an accelerometer (the hand's motion)")
    ap.add_argument("--ecg", metavar="RECORD", help="an ECG seat instead, playing this "
                    "heart-corpus ECG record (edge/heart_records.py) through an AD8232")
    ap.add_argument("--lead-off", metavar="FROM:TO", action="append", default=[],
                    type=_span, help="the electrodes off from FROM to TO s (repeatable)")
    ap.add_argument("--no-lead-off-pins", action="store_true",
                    help="the AD8232's LO+/LO- not wired: no lead-off reading")
    ap.add_argument("--flap", metavar="FROM:TO", action="append", default=[], type=_span,
                    help="+IN's electrode on a loose snap from FROM to TO s (repeatable)")
    ap.add_argument("--stuck-lo", action="store_true",
                    help="LO+ reads high all the time (a wiring fault), the ECG good")
    add_option(ap)
    args = ap.parse_args(argv)
    ecg = None
    if args.ecg:
        try:
            ecg = SimAD8232(corpus_ecg(args.ecg), off=args.lead_off, seed=args.seed,
                            reports=not args.no_lead_off_pins, flap=args.flap,
                            stuck_lo=args.stuck_lo)
        except (KeyError, ValueError, RuntimeError, OSError) as e:
            ap.exit(2, f"empathy.sim.board: --ecg {args.ecg}: {e}\n")
    board = SimBoard(args.link, args.seed, gsr=args.gsr, acc=args.acc, ecg=ecg)
    stop = threading.Event()  # SIGTERM, Ctrl-C, or the end of `empathy demo`'s lifeline
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.lifeline is not None:
        watch(args.lifeline, stop.set, "simulated board")
    try:
        while not stop.is_set():
            board.step()
            time.sleep(0.02)
    finally:
        board.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
