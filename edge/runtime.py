"""The edge unit's main loop: sources -> per-seat features -> packets at a fixed rate.

Only numbers leave this process: images and waveforms stay inside `SeatFeatures`.
Beside the samples the unit sends a heartbeat (versions, sensors, battery, link loss,
clock) once a second and keeps its clock on the host's with `ClockSync`; a small downlink
thread takes the host's sync replies the moment they arrive, so t4 is honest.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from pathlib import Path

from empathy import atomic, wire
from empathy.clock import now_us
from empathy.clocksync import ClockSync
from empathy.keys import Keystore, KeystoreWatch
from empathy.log import RateLimited
from empathy.paths import state_file
from empathy.sensors.base import Frame, open_source
from empathy.transports import open_sender, redacted
from empathy.edge.channel_log import ChannelLog
from empathy.edge.features import SeatFeatures
from empathy.edge.latency import ESTIMATE_LATENCY_S
from empathy.edge.lifeline import Stop, Stopped, watch
from empathy.edge.model_check import face_models
from empathy.edge.screen import ScreenState
from empathy.edge.seat_faults import UnitFaults
from empathy.edge.sequence import SeqReserve, packet_rate, seq_path
from empathy.edge.source_clock import AheadGuard
# the unit's config, read apart by `config check`; its names are also taken from here
from empathy.edge.unit_config import EdgeConfig, SeatConfig, load_profiles  # noqa: F401
from empathy.edge.unit_stats import seat_eda, unit_stats
from empathy.edge.uplink import UplinkWatch
from empathy.edge.viewer_state import SAVE_EVERY_S, ViewerKeep

log = logging.getLogger("empathy.edge")
EDA_LOG_S = 10.0  # how often the skin-conductance report goes to the log
# What the downlink reads a second at most: the host sends a unit at most 20 sync replies a
# second (sync_hz's ceiling); a flood forged as the host's passes any filter: 96 % of a core
DOWNLINK_PER_S = 200


class EdgeUnit:
    def __init__(self, cfg: EdgeConfig, stop: Stop | None = None):
        """`stop`: asked for during the start, it ends the start at its next step (raises
        `Stopped`); what was opened by then is closed, as on any error of the start."""
        self.cfg = cfg
        self.stopping = stop or Stop(f"unit {cfg.unit_id}")
        self.sources: list = []
        self.screen = self.keep = self.seqs = self.uplink = self.channel_log = None
        self.downlink: threading.Thread | None = None
        try:
            self._start(cfg)
        except BaseException as e:
            self._close_opened()
            if self.stopping.asked.is_set() and not isinstance(e, Stopped):
                # a step the stop cut short: a model's probe child, signalled with the unit
                # (systemd's cgroup, Ctrl-C's process group), said the model was corrupt
                raise Stopped(self.stopping.by) from e
            raise

    def _start(self, cfg: EdgeConfig) -> None:
        check = self.stopping.check
        self.profiles = load_profiles(cfg)  # first: a missing calibration stops us here
        keys = Keystore.load(cfg.keystore, "unit")
        if cfg.unit_id not in keys.units:
            raise ValueError(f"keystore {cfg.keystore} has no key for unit {cfg.unit_id}")
        self.key = keys.units[cfg.unit_id]
        self.keywatch = KeystoreWatch(cfg.keystore, "unit")  # a rotated key is picked up live
        # Until the first exchanges the mapping is the identity (right on the host's machine).
        self.sync = ClockSync(cfg.unit_id, self.key)
        self.screen = (ScreenState(cfg.cue_port, keys.cue_public, cfg.cue_listen,
                                   host_now=lambda: self.sync.clock.to_host(now_us()))
                       if cfg.cue_port else None)
        screen_now = self.screen.now if self.screen else None
        check()
        model = face_models(cfg)  # here: a broken model stops the start, not the show
        for s in cfg.seats:  # one by one: a later one's failure closes those opened
            check()
            self.sources.append(None if s.opt_out else
                                open_source(s.source, screen=screen_now, faces=cfg.faces,
                                            stop=self.stopping.asked))
        check()
        self.idle = all(src is None for src in self.sources)
        self.ahead = [AheadGuard(f"seat {s.seat_id}") for s in cfg.seats]
        self.face_model = Path(model.model.path).name if model is not None else None
        self.features = [SeatFeatures(cfg.baseline_s, model, profile=p,
                                      rebaseline_after_s=cfg.rebaseline_after_s,
                                      name=f"seat {s.seat_id}")
                         for s, p in zip(cfg.seats, self.profiles)]
        # Each seat's viewer baseline, kept over restarts beside the sequence (viewer_state)
        self.keep = ViewerKeep(seq_path(cfg).with_name(f"unit{cfg.unit_id}.viewers.json"),
                               cfg, self.features)
        self.keep.resume(now_us(), [getattr(src, "names_device", False)
                                    for src in self.sources])
        # How late this unit's arousal estimate answers the body, as its own filters make it
        # (declared in every heartbeat: the host's reward undoes this lag per seat)
        self.estimate_lag_s = max((f.aligner.lag_s for f in self.features),
                                  default=ESTIMATE_LATENCY_S)
        # One sequence for every packet this unit sends (one replay window), carried over
        # restarts: the host refuses sequence numbers it has already seen. MQTT connection
        # epochs are drawn from it too (the transport's thread: hence the lock).
        check()
        self.seqs = SeqReserve(seq_path(cfg), packet_rate(cfg))
        self.seq = self.seqs.start
        self._seq_lock = threading.Lock()
        # This process's run, in every heartbeat: a new one tells the host, for certain, that
        # the unit started again (its skipped numbers were never sent, so are not lost).
        self.run_id = secrets.randbits(32) or 1
        self.uplink = open_sender(cfg.uplink, cfg.unit_id, status_key=lambda: self.key,
                                  epochs=self._take_seq, host_key=keys.cue_public)
        self.channel_log = ChannelLog(cfg.channels_log) if cfg.channels_log else None
        self.link = UplinkWatch(redacted(getattr(self.uplink, "url", cfg.uplink)))
        self.perception: dict = {}  # per seat, on its first camera frame (edge.perception)
        self.readings = 0
        self.last_reading = [0] * len(cfg.seats)
        self.impossible = 0  # values outside wire.RANGES, sent as "no value"
        self.unsent = 0  # samples the wire refused (a NaN arousal: no quality bit to clear)
        self._say = RateLimited(log)
        self.device_said = [0] * len(cfg.seats)  # each seat's device's garbage, as last logged
        ids = [s.seat_id for s in cfg.seats]  # each seat's faults as codes (wire kind 7):
        self.faults = UnitFaults({i: f for i, f, s in zip(ids, self.features, cfg.seats)
                                  if not s.opt_out}, dict(zip(ids, self.sources)))
        self._running = True
        if cfg.sync_hz:  # the host's sync replies are all that comes back: none asked, none read
            self.downlink = threading.Thread(target=self._listen, name="downlink", daemon=True)
            self.downlink.start()
        check()

    @property
    def resumed(self) -> list[int]:
        """Seats that went on with the viewer of before the restart (viewer_state)."""
        return [s.seat_id for s, f in zip(self.cfg.seats, self.features) if f.resumed]

    def _listen(self) -> None:
        pin = getattr(self.uplink, "pin", None)  # UDP: heard from anyone until pinned
        budget, renew = DOWNLINK_PER_S, time.monotonic() + 1
        while self._running:
            if time.monotonic() >= renew:
                budget, renew = DOWNLINK_PER_S, time.monotonic() + 1
            if budget <= 0:  # a flood (its source forged as the host's): read no faster;
                # the kernel drops the rest, and the fitted clock carries on meanwhile
                time.sleep(max(0.0, min(renew - time.monotonic(), 0.1)))
                continue
            batch = self.uplink.recv_batch(0.1)
            budget -= len(batch)
            if budget <= 0:  # (once a second at most, and the log's own limit)
                self._say(logging.WARNING, "uplink: over %d datagrams a second come back to "
                          "the unit (a flood on its port?): the rest are left unread",
                          DOWNLINK_PER_S)
            for i, packet in enumerate(batch):
                if self.sync.on_packet(packet) and pin:
                    pin(i)  # the host's authentic reply: from now on, only its address

    def _send(self, packet: bytes) -> None:
        self.link.count(self.uplink.send(packet), self.uplink.problem, now_us())
        self._take_seq()

    def _take_seq(self) -> int:
        """The current sequence number, then move on (wraps; the host reads it serially)."""
        with self._seq_lock:
            seq, self.seq = self.seq, (self.seq + 1) & wire.SEQ_MASK
            self.seqs.use(self.seq)
            return seq

    def _heartbeat(self, t: int) -> None:
        ks = self.keywatch.changed()
        if ks and self.cfg.unit_id in ks.units:
            self.key = self.sync.key = ks.units[self.cfg.unit_id]
            log.info("unit %d: new key in use", self.cfg.unit_id)
        if ks and self.screen:  # the host's cue key was rotated (`empathy keys cue-key`)
            self.screen.use_key(ks.cue_public)
        sensors = sum(1 << i for i, last in enumerate(self.last_reading[:8]) if t - last < 2e6)
        c = self.sync.clock
        self._send(wire.encode_health(wire.Health(
            self.cfg.unit_id, self.seq, c.to_host(t) & wire.TS_MASK,
            wire.RELEASE, sensors,
            _battery(), self.sync.loss_permille, round(c.to_host(t) - t),
            round(c.drift_ppm * 1000), self.sync.rtt_us, self.link.failed,
            round(self.estimate_lag_s * 1000), self.run_id), self.key))
        if self.cfg.sync_hz:
            self.link.check_replies(self.sync.synced, self.sync.answered, t)

    def stop(self) -> None:
        self.stopping.ask()

    def run(self, duration_s: float = 0.0) -> dict:
        period_us = int(1e6 / self.cfg.rate_hz)
        next_send = next_beat = next_sync = next_eda = next_keep = now_us() + period_us
        end = now_us() + int(duration_s * 1e6) if duration_s else None
        while not self.stopping.asked.is_set() and (end is None or now_us() < end):
            for i, (src, feat) in enumerate(zip(self.sources, self.features)):
                if src is None:  # opted out: nothing to read, nothing was opened
                    continue
                for raw in src.read(timeout_s=0.005):
                    raw = self.ahead[i].admit(raw, now_us())  # a source's clock far ahead
                    if raw is None:
                        continue
                    self.faults.add(self.cfg.seats[i].seat_id, raw)
                    for r in self._perceive(i, raw):
                        feat.add(r)
                    self.readings += 1
                    self.last_reading[i] = now_us()
            if self.idle:  # every seat opted out: no source paces the loop
                time.sleep(0.005)
            t = now_us()
            if self.cfg.sync_hz and t >= next_sync:
                self._send(self.sync.request(self.seq))
                # Quick exchanges at first so timestamps are on the host clock within a second.
                next_sync = t + int(1e6 / (self.cfg.sync_hz if self.sync.synced else 10))
            if t >= next_beat:
                self._heartbeat(t)
                self._log_devices()
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
                sample, lost = wire.drop_impossible(wire.SeatSample(
                    self.cfg.unit_id, seat.seat_id, self.seq, host_t, **feat.estimate(t)))
                if lost:  # a glitching sensor: the seat's other values still go
                    self.impossible += 1
                    self.faults.impossible(seat.seat_id, t)
                    self._say(logging.WARNING, "seat %d: %s outside what a body makes, sent "
                              "as no value", seat.seat_id, ", ".join(lost))
                try:
                    packet = wire.encode(sample, self.key)
                except wire.WireError as e:  # one bad estimate never stops the unit
                    self.unsent += 1
                    self._say(logging.WARNING, "seat %d: sample not sent: %s", seat.seat_id, e)
                    continue
                self._send(packet)
                if self.channel_log:
                    self.channel_log.write(host_t, seat.seat_id, sample.flags, feat.channels())
            for seat_id, codes, held_s in self.faults.due(t):
                self._send(wire.encode_faults(wire.SeatFaults(
                    self.cfg.unit_id, self.seq, seat_id, codes, held_s), self.key))
            if t >= next_eda:
                self._log_eda()
                next_eda = t + int(EDA_LOG_S * 1e6)
            if t >= next_keep:
                self.keep.save_later(t)
                next_keep = t + int(SAVE_EVERY_S * 1e6)
        return self.close()

    def _log_devices(self) -> None:
        """A seat's heart-rate device that sent figures no heart makes since the last time
        (a broken or spoofed device), said at most once a heartbeat, rate-limited."""
        for i, (seat, f) in enumerate(zip(self.cfg.seats, self.features)):
            n, self.device_said[i] = f.device_rejected - self.device_said[i], f.device_rejected
            if n:
                self._say(logging.WARNING, "seat %d: its heart-rate device sent %d figures no "
                          "heart makes (%d in all)", seat.seat_id, n, f.device_rejected)

    def _log_eda(self) -> None:
        eda = seat_eda(self)
        if eda:
            log.info("eda", extra={"unit_id": self.cfg.unit_id, "eda": eda})

    def _perceive(self, seat: int, r):
        """Camera frames become face crops / pupil readings here; the frame is dropped.
        Each seat's eye camera measures with its own calibrated scale."""
        if not isinstance(r, Frame):
            return (r,)
        if seat not in self.perception:
            from empathy.edge.perception import EYE_PX_PER_MM, Perception
            self.perception[seat] = Perception(
                threads=self.cfg.model_threads,
                eye_px_per_mm=self.profiles[seat].eye_px_per_mm or EYE_PX_PER_MM)
        return self.perception[seat].process(r)

    def close(self) -> dict:
        self._close_opened()
        return unit_stats(self, now_us())

    def _close_opened(self) -> None:
        """Close what the start got to open (all of it, once it ended)."""
        self._running = False
        for s in self.sources:
            if s is not None:
                s.close()
        if self.screen:
            self.screen.close()
        if self.downlink:
            self.downlink.join(2)
        if self.keep:
            self.keep.close(now_us())
        if self.uplink:
            self.uplink.close()  # an MQTT goodbye may still take a sequence number
        if self.seqs:
            self.seqs.close()
        if self.channel_log:
            self.channel_log.close()


def _battery() -> int:
    """Percent from the first battery the kernel knows; mains-powered units say so."""
    for cap in sorted(Path("/sys/class/power_supply").glob("BAT*/capacity")):
        try:
            return int(cap.read_text())
        except (OSError, ValueError):
            continue
    return wire.BATTERY_MAINS


def run_unit(cfg: EdgeConfig, duration_s: float = 0.0, stats_path: str | None = None,
             lifeline: int | None = None, stop: Stop | None = None) -> dict:
    """`stop`: caught already by the caller (edge/cli.py, before its imports), else here.
    `lifeline`: a pipe from the process that started this unit (`empathy demo`): once
    that has gone, the unit stops as on SIGTERM (edge/lifeline.py)."""
    if stats_path:  # refused now, not after the show
        state_file(stats_path, "--stats")
    caught = stop is None
    if caught:
        stop = Stop()
        stop.catch()
    stop.what = f"unit {cfg.unit_id}"
    if lifeline is not None:
        watch(lifeline, stop.ask, stop.what)
    try:
        stats = EdgeUnit(cfg, stop).run(duration_s)
    except Stopped:  # before the show: what was opened is closed (EdgeUnit)
        stats = {"unit_id": cfg.unit_id, "started": False, "packets_sent": 0}
    finally:
        if caught:
            stop.release()
    stats.setdefault("started", True)
    stats["stopped_by"] = stop.by  # the signal's name; "" when its --duration ended
    if stats_path:
        atomic.write_text(stats_path, json.dumps(stats))  # (a kill mid-write: old or new)
    return stats
