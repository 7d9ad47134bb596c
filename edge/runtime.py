"""The edge unit's main loop: sources -> per-seat features -> packets at a fixed rate.

Only numbers leave this process: images and waveforms stay inside `SeatFeatures`.
Beside the samples the unit sends a heartbeat (versions, sensors, battery, link loss,
clock) once a second and keeps its clock on the host's with `ClockSync`; a small downlink
thread takes the host's sync replies the moment they arrive, so t4 is honest.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

from empathy import __version__, wire
from empathy.clock import now_us
from empathy.clocksync import ClockSync
from empathy.keys import Keystore, KeystoreWatch
from empathy.sensors.base import Frame, open_source
from empathy.transports import open_sender
from empathy.edge.features import SeatFeatures
from empathy.edge.screen import ScreenState

log = logging.getLogger("empathy.edge")


@dataclass
class SeatConfig:
    seat_id: int
    source: str = "sim://seat"
    # The viewer said no: the seat's readings are dropped before any processing, no sample
    # leaves for it; the unit still sends its own health and clock sync (no biometrics).
    opt_out: bool = False

    def validate(self):
        if not 0 <= self.seat_id <= 0xFFFF:
            raise ValueError(f"seat_id {self.seat_id} out of range 0..65535")


@dataclass
class EdgeConfig:
    unit_id: int = 1
    uplink: str = "udp://127.0.0.1:47100"
    keystore: str = "keys.toml"
    rate_hz: float = 10.0
    cue_port: int = 0  # where screen cues arrive; 0 = no screen cues
    baseline_s: float = 60.0
    #: a seat without signal this long, s, then with signal again has a new viewer: a fresh
    #: baseline (a kiosk's next visitor); 0 = one baseline per start, never again.
    #: Example: 10.0
    rebaseline_after_s: float = 30.0
    model_threads: int = 1
    faces: bool = True
    # "auto": the model trained on rendered faces when every seat is simulated (their faces
    # are drawings the FER model was never trained on), else the FER model; or a .tflite path.
    expression_model: str = "auto"
    heartbeat_hz: float = 1.0
    sync_hz: float = 2.0  # clock-sync exchanges per second once settled; 0 = no clock sync
    seq_file: str = ""  # where the packet sequence survives restarts; "" = the state folder
    seats: list[SeatConfig] = field(default_factory=lambda: [SeatConfig(1)])

    def validate(self):
        if not 0 <= self.unit_id <= 0xFFFF:
            raise ValueError(f"unit_id {self.unit_id} out of range 0..65535")
        if not 0.1 <= self.rate_hz <= 100:
            raise ValueError(f"rate_hz {self.rate_hz} must be within 0.1..100")
        if not self.seats:
            raise ValueError("an edge unit needs at least one seat")
        if not 0 < self.baseline_s <= 600:
            raise ValueError(f"baseline_s {self.baseline_s} must be within 0..600 s")
        if not (self.rebaseline_after_s == 0 or 1 <= self.rebaseline_after_s <= 3600):
            raise ValueError(f"rebaseline_after_s {self.rebaseline_after_s} must be 0 (never) "
                             "or within 1..3600 s")
        if not 0.2 <= self.heartbeat_hz <= 10:
            raise ValueError(f"heartbeat_hz {self.heartbeat_hz} must be within 0.2..10 "
                             "(the host calls a unit quiet after 2 s)")
        if not (self.sync_hz == 0 or 0.05 <= self.sync_hz <= 20):
            raise ValueError(f"sync_hz {self.sync_hz} must be 0 (off) or within 0.05..20")


class EdgeUnit:
    def __init__(self, cfg: EdgeConfig):
        self.cfg = cfg
        keys = Keystore.load(cfg.keystore)
        if cfg.unit_id not in keys.units:
            raise ValueError(f"keystore {cfg.keystore} has no key for unit {cfg.unit_id}")
        self.key = keys.units[cfg.unit_id]
        self.keywatch = KeystoreWatch(cfg.keystore)  # a rotated key is picked up live
        # Until the first exchanges the mapping is the identity (right on the host's machine).
        self.sync = ClockSync(cfg.unit_id, self.key)
        self.screen = (ScreenState(cfg.cue_port, keys.show,
                                   host_now=lambda: self.sync.clock.to_host(now_us()))
                       if cfg.cue_port else None)
        screen_now = self.screen.now if self.screen else None
        model = None
        if cfg.faces:
            from empathy.edge.expression import SIM_MODEL, ExpressionModel
            path = cfg.expression_model
            if path == "auto":
                simulated = all(s.source.startswith("sim://") for s in cfg.seats)
                path = SIM_MODEL if simulated else None
            model = ExpressionModel(path, threads=cfg.model_threads)
        self.sources = [open_source(s.source, screen=screen_now, faces=cfg.faces)
                        for s in cfg.seats]
        self.features = [SeatFeatures(cfg.baseline_s, model,
                                      rebaseline_after_s=cfg.rebaseline_after_s,
                                      name=f"seat {s.seat_id}") for s in cfg.seats]
        self.uplink = open_sender(cfg.uplink, cfg.unit_id)
        self.perception = None  # built on the first camera frame (edge.perception)
        # One sequence for every packet this unit sends (one replay window), carried over
        # restarts: the host refuses sequence numbers it has already seen.
        self.seqs = SeqReserve(cfg.seq_file or _state_dir() / f"unit{cfg.unit_id}.seq")
        self.seq = self.seqs.start
        self.sent = 0
        self.readings = 0
        self.last_reading = [0] * len(cfg.seats)
        self._running = True
        self.downlink = threading.Thread(target=self._listen, name="downlink", daemon=True)
        self.downlink.start()

    def _listen(self) -> None:
        while self._running:
            for packet in self.uplink.recv_batch(0.1):
                self.sync.on_packet(packet)

    def _send(self, packet: bytes) -> None:
        self.uplink.send(packet)
        self.seq += 1
        self.seqs.use(self.seq)
        self.sent += 1

    def _heartbeat(self, t: int) -> None:
        ks = self.keywatch.changed()
        if ks and self.cfg.unit_id in ks.units:
            self.key = self.sync.key = ks.units[self.cfg.unit_id]
            log.info("unit %d: new key in use", self.cfg.unit_id)
        sensors = sum(1 << i for i, last in enumerate(self.last_reading[:8]) if t - last < 2e6)
        c = self.sync.clock
        self._send(wire.encode_health(wire.Health(
            self.cfg.unit_id, self.seq, c.to_host(t) & wire.TS_MASK,
            tuple(int(x) for x in __version__.split(".")[:3] if x.isdigit()), sensors,
            _battery(), self.sync.loss_permille, round(c.to_host(t) - t),
            round(c.drift_ppm * 1000), self.sync.rtt_us), self.key))

    def stop(self, *_):
        self._running = False

    def run(self, duration_s: float = 0.0) -> dict:
        period_us = int(1e6 / self.cfg.rate_hz)
        next_send = next_beat = next_sync = now_us() + period_us
        end = now_us() + int(duration_s * 1e6) if duration_s else None
        while self._running and (end is None or now_us() < end):
            for i, (seat, src, feat) in enumerate(zip(self.cfg.seats, self.sources,
                                                      self.features)):
                for raw in src.read(timeout_s=0.005):
                    for r in () if seat.opt_out else self._perceive(raw):
                        feat.add(r)
                    self.readings += 1
                    self.last_reading[i] = now_us()
            t = now_us()
            if self.cfg.sync_hz and t >= next_sync:
                self._send(self.sync.request(self.seq))
                # Quick exchanges at first so timestamps are on the host clock within a second.
                next_sync = t + int(1e6 / (self.cfg.sync_hz if self.sync.synced else 10))
            if t >= next_beat:
                self._heartbeat(t)
                next_beat = t + int(1e6 / self.cfg.heartbeat_hz)
            if t < next_send:
                continue
            next_send += period_us
            if next_send < t:  # we fell behind (e.g. suspended): don't burst to catch up
                next_send = t + period_us
            lum = self.screen.now()[2] if self.screen else 0.3
            host_t = self.sync.clock.to_host(t) & wire.TS_MASK
            for seat, feat in zip(self.cfg.seats, self.features):
                if seat.opt_out:
                    continue
                feat.luminance = lum
                sample = wire.SeatSample(self.cfg.unit_id, seat.seat_id, self.seq, host_t,
                                         **feat.estimate(t))
                self._send(wire.encode(sample, self.key))
        return self.close()

    def _perceive(self, r):
        """Camera frames become face crops / pupil readings here; the frame is dropped."""
        if not isinstance(r, Frame):
            return (r,)
        if self.perception is None:
            from empathy.edge.perception import Perception
            self.perception = Perception(threads=self.cfg.model_threads)
        return self.perception.process(r)

    def close(self) -> dict:
        self._running = False
        for s in self.sources:
            s.close()
        if self.screen:
            self.screen.close()
        self.downlink.join(2)
        self.uplink.close()
        c, t = self.sync.clock, now_us()
        return {"unit_id": self.cfg.unit_id, "packets_sent": self.sent, "readings": self.readings,
                "cues_rejected": self.screen.rejected if self.screen else 0,
                "cues_stale": self.screen.stale if self.screen else 0,
                "baselines": {str(s.seat_id): f.baselines_taken
                              for s, f in zip(self.cfg.seats, self.features)},
                "clock": {"synced": self.sync.synced, "offset_us": round(c.to_host(t) - t),
                          "drift_ppm": round(c.drift_ppm, 3), "rtt_us": self.sync.rtt_us,
                          "residual_us": (round(self.sync.residual_us(), 1)
                                          if self.sync.synced else None),
                          "sync_loss_permille": self.sync.loss_permille,
                          "sync_replies_rejected": self.sync.rejected}}


class SeqReserve:
    """Sequence numbers reserved on disk a block at a time, so a unit started again (even
    after SIGKILL or a power cut) goes on past every number it sent before; from 0 the host
    would refuse it as a replay until it caught up. A restart skips at most one block."""

    BLOCK = 1024  # about 80 s of one seat's packets: one small write per block

    def __init__(self, path):
        self.path = Path(path)
        try:
            self.start = int(self.path.read_text()) & 0xFFFFFFFF
        except FileNotFoundError:
            self.start = 0
        except (OSError, ValueError) as e:
            log.warning("sequence file %s unreadable (%s): starting from 0", self.path, e)
            self.start = 0
        self.limit = self.start
        self.use(self.start)

    def use(self, seq: int) -> None:
        if seq < self.limit:
            return
        self.limit = seq + self.BLOCK
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(str(self.limit & 0xFFFFFFFF))
            os.replace(tmp, self.path)
        except OSError as e:  # a read-only state folder costs the restart guarantee only
            log.warning("cannot reserve sequence numbers in %s: %s", self.path, e)


def _state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "empathy" / "edge"


def _battery() -> int:
    """Percent from the first battery the kernel knows; mains-powered units say so."""
    for cap in sorted(Path("/sys/class/power_supply").glob("BAT*/capacity")):
        try:
            return int(cap.read_text())
        except (OSError, ValueError):
            continue
    return wire.BATTERY_MAINS


def run_unit(cfg: EdgeConfig, duration_s: float = 0.0, stats_path: str | None = None) -> dict:
    unit = EdgeUnit(cfg)
    signal.signal(signal.SIGTERM, unit.stop)
    signal.signal(signal.SIGINT, unit.stop)
    stats = unit.run(duration_s)
    if stats_path:
        Path(stats_path).write_text(json.dumps(stats))
    return stats
