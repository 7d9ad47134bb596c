"""The edge unit's main loop: sources -> per-seat features -> packets at a fixed rate.

Only numbers leave this process: images and waveforms stay inside `SeatFeatures`.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from empathy import wire
from empathy.clock import HostClock, now_us
from empathy.keys import Keystore
from empathy.sensors.base import Frame, open_source
from empathy.transports import open_sender
from empathy.edge.features import SeatFeatures
from empathy.edge.screen import ScreenState

log = logging.getLogger("empathy.edge")


@dataclass
class SeatConfig:
    seat_id: int
    source: str = "sim://seat"

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
    model_threads: int = 1
    faces: bool = True
    seats: list[SeatConfig] = field(default_factory=lambda: [SeatConfig(1)])

    def validate(self):
        if not 0 <= self.unit_id <= 0xFFFF:
            raise ValueError(f"unit_id {self.unit_id} out of range 0..65535")
        if not 0.1 <= self.rate_hz <= 100:
            raise ValueError(f"rate_hz {self.rate_hz} must be within 0.1..100")
        if not self.seats:
            raise ValueError("an edge unit needs at least one seat")


class EdgeUnit:
    def __init__(self, cfg: EdgeConfig):
        self.cfg = cfg
        keys = Keystore.load(cfg.keystore)
        if cfg.unit_id not in keys.units:
            raise ValueError(f"keystore {cfg.keystore} has no key for unit {cfg.unit_id}")
        self.key = keys.units[cfg.unit_id]
        self.clock = HostClock()  # same machine as the host: identity; networks: clock sync
        self.screen = ScreenState(cfg.cue_port, keys.show) if cfg.cue_port else None
        screen_now = self.screen.now if self.screen else None
        model = None
        if cfg.faces:
            from empathy.edge.expression import ExpressionModel
            model = ExpressionModel(threads=cfg.model_threads)
        self.sources = [open_source(s.source, screen=screen_now, faces=cfg.faces)
                        for s in cfg.seats]
        self.features = [SeatFeatures(cfg.baseline_s, model) for _ in cfg.seats]
        self.uplink = open_sender(cfg.uplink)
        self.perception = None  # built on the first camera frame (edge.perception)
        self.seq = 0
        self.sent = 0
        self.readings = 0
        self._running = True

    def stop(self, *_):
        self._running = False

    def run(self, duration_s: float = 0.0) -> dict:
        period_us = int(1e6 / self.cfg.rate_hz)
        next_send = now_us() + period_us
        end = now_us() + int(duration_s * 1e6) if duration_s else None
        while self._running and (end is None or now_us() < end):
            for src, feat in zip(self.sources, self.features):
                for raw in src.read(timeout_s=0.005):
                    for r in self._perceive(raw):
                        feat.add(r)
                    self.readings += 1
            t = now_us()
            if t < next_send:
                continue
            next_send += period_us
            if next_send < t:  # we fell behind (e.g. suspended): don't burst to catch up
                next_send = t + period_us
            lum = self.screen.now()[2] if self.screen else 0.3
            for seat, feat in zip(self.cfg.seats, self.features):
                feat.luminance = lum
                sample = wire.SeatSample(self.cfg.unit_id, seat.seat_id, self.seq,
                                         self.clock.to_host(t) & wire.TS_MASK, **feat.estimate(t))
                self.uplink.send(wire.encode(sample, self.key))
                self.seq += 1
                self.sent += 1
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
        for s in self.sources:
            s.close()
        if self.screen:
            self.screen.close()
        self.uplink.close()
        return {"unit_id": self.cfg.unit_id, "packets_sent": self.sent, "readings": self.readings,
                "cues_rejected": self.screen.rejected if self.screen else 0}


def run_unit(cfg: EdgeConfig, duration_s: float = 0.0, stats_path: str | None = None) -> dict:
    unit = EdgeUnit(cfg)
    signal.signal(signal.SIGTERM, unit.stop)
    signal.signal(signal.SIGINT, unit.stop)
    stats = unit.run(duration_s)
    if stats_path:
        Path(stats_path).write_text(json.dumps(stats))
    return stats
