"""Prometheus metrics for one show, served at GET /metrics on the dashboard listener.

The counts the show already keeps (the intake's packets and rejects by reason, the
player's frames, the units' health) are read when Prometheus scrapes, by a collector; only
the decision latency is a histogram of its own, fed by the show's decision events. Every
show has its own CollectorRegistry (not prometheus_client's global one), so two shows in
one process never mix their figures and nothing else leaks into the page.

Names and meanings are listed in docs/api.md ("Metrics"); the shipped alert rules and
Grafana dashboard (deploy/monitoring/) use them.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Optional

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from empathy import __version__
from empathy.clock import now_us
from empathy.host.dashboard.room import Room

CONTENT_TYPE = CONTENT_TYPE_LATEST
# A decision is due when its window closes; it should be taken within a frame or two.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PROC_UDP = (Path("/proc/net/udp"), Path("/proc/net/udp6"))
# Scrapes within this share one render. Prometheus asks every 15 s; a token holder asking
# back to back made ~970 renders a second under the GIL the show's loop needs.
RENDER_EVERY_S = 1.0


def kernel_drops(receiver) -> Optional[int]:
    """Datagrams the kernel dropped for the host's UDP socket (its receive buffer was
    full), from the `drops` column of /proc/net/udp[6]; None when the transport is not a
    UDP socket (MQTT: a TCP stream to the broker, which counts its own drops)."""
    sock = getattr(receiver, "sock", None)
    if not isinstance(sock, socket.socket) or sock.type != socket.SOCK_DGRAM \
            or sock.fileno() < 0:
        return None
    inode = str(os.fstat(sock.fileno()).st_ino)
    for table in PROC_UDP:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) >= 13 and cols[9] == inode:
                return int(cols[12])
    return None


class ShowMetrics:
    """A Show observer (for the decision histogram) and a collector (for the rest)."""

    def __init__(self, show, room: Optional[Room] = None):
        self.show, self.room = show, room or Room()
        self.started_us = now_us()  # a configured unit never heard is silent since then
        self._rendering, self._page, self._page_at = threading.Lock(), b"", float("-inf")
        self.registry = CollectorRegistry(auto_describe=False)
        self.latency = Histogram(
            "empathy_decision_latency_seconds",
            "Time from a decision window's close to the branch being chosen (fusion and "
            "policy included)", buckets=LATENCY_BUCKETS_S, registry=self.registry)
        self.decisions = Counter(
            "empathy_decisions", "Branch decisions taken; fallback=true: the default cut "
            "because of thin signal, a policy error or a late decision",
            ["fallback"], registry=self.registry)
        self.registry.register(self)

    # -- observer (show thread) ------------------------------------------------------
    def __call__(self, kind: str, data) -> None:
        if kind != "decision":
            return
        self.decisions.labels(fallback=str(bool(data.get("fallback"))).lower()).inc()
        if data.get("latency_s") is not None:
            self.latency.observe(data["latency_s"])

    def render(self) -> bytes:
        """The page, rendered at most once per RENDER_EVERY_S (the dashboard's executor
        threads: one renders, the others wait for its page)."""
        with self._rendering:
            if time.monotonic() - self._page_at >= RENDER_EVERY_S:
                self._page = generate_latest(self.registry)
                self._page_at = time.monotonic()
            return self._page

    # -- collector (web thread, at scrape time) ----------------------------------------
    def collect(self):
        show, t = self.show, now_us()
        intake, player = show.intake, show.player
        yield _counter("empathy_packets_received", "Packets read from the transport",
                       intake.received)
        yield _counter("empathy_packets_accepted",
                       "Packets verified and accepted (samples, heartbeats, clock sync, "
                       "seat faults)",
                       intake.accepted)
        rejected = CounterMetricFamily("empathy_packets_rejected",
                                       "Packets refused, by reason", labels=["reason"])
        for reason, n in sorted(dict(intake.rejected).items()):  # any reason, as it appears
            rejected.add_metric([str(reason)], n)
        yield rejected
        drops = kernel_drops(show.receiver)
        yield _counter("empathy_kernel_drops",
                       "Datagrams the kernel dropped at the host's UDP socket (/proc/net/udp "
                       "drops); always 0 on MQTT, where the broker counts its own",
                       drops or 0)

        report = self.room.report({s: tr.last for s, tr in list(intake.seats.items())
                                   if tr.history}, t)
        yield _gauge("empathy_seats_total", "Seats in the seat map, plus any other seat heard",
                     report["seats_total"])
        yield _gauge("empathy_seats_good",
                     "Seats whose latest sample is fresh and carries a heart or face signal",
                     report["seats_good"])
        by_status = GaugeMetricFamily(
            "empathy_seats", "Seats by status: good, no_contact (empty, or the sensor off "
            "the viewer), no_signal, silent, never_heard", labels=["status"])
        for status, n in report["counts"].items():
            by_status.add_metric([status], n)
        yield by_status
        yield from _faults(intake.faults)
        yield from self._units(t)

        yield _counter("empathy_frames_rendered", "Frames put on screen", player.frames_rendered)
        yield _counter("empathy_frames_late",
                       "Frames shown more than one frame period after they were due",
                       player.frames_late)
        yield _counter("empathy_frames_dropped",
                       "Frames repeated because nothing was decoded in time",
                       player.frames_dropped)
        info = GaugeMetricFamily("empathy_show_info", "The show on this host (always 1)",
                                 labels=["story", "policy", "version"])
        info.add_metric([show.story.title, show.policy.name, __version__], 1)
        yield info
        yield _gauge("empathy_operator_killed", "1 while the kill switch holds the director's cut",
                     int(show.killed))

    def _units(self, t: int):
        last_seen = GaugeMetricFamily("empathy_unit_last_seen_seconds",
                                      "Unix time of the last packet from each edge unit",
                                      labels=["unit"])
        silent = GaugeMetricFamily("empathy_unit_silent_seconds",
                                   "Seconds since each edge unit was last heard (a unit in "
                                   "the seat map never heard: since the host started)",
                                   labels=["unit"])
        loss = GaugeMetricFamily("empathy_unit_loss_ratio",
                                 "Fraction of each unit's packets that never arrived",
                                 labels=["unit"])
        offset = GaugeMetricFamily("empathy_unit_clock_offset_seconds",
                                   "Each unit's clock offset from the host (its heartbeat)",
                                   labels=["unit"])
        # a restart's skipped numbers are not loss, but its seats went unmeasured
        restarts = CounterMetricFamily("empathy_unit_restarts", "Each unit's restarts (a jump "
                                       "in its numbers past its reserve)", labels=["unit"])
        gaps = CounterMetricFamily("empathy_unit_gap_seconds", "Seconds of silences past 2 s "
                                   "each unit came back from", labels=["unit"])
        replayed = CounterMetricFamily("empathy_unit_replayed", "Each unit's authentic packets "
                                       "refused as replays (a second process sending as it)",
                                       labels=["unit"])
        # (an alert: count(empathy_unit_release_info{vs_host!="same"}) > 0 after a night's updates)
        release = GaugeMetricFamily("empathy_unit_release_info", "The release each edge unit's "
                                    "heartbeat declares, and how it stands to the host's "
                                    "(same, older, newer); always 1", labels=["unit", "release",
                                                                              "vs_host"])
        wall = time.time()
        heard = set()
        for r in self.show.intake.unit_report(t):
            unit = str(r["unit"])
            heard.add(r["unit"])
            last_seen.add_metric([unit], wall - r["silent_s"])
            silent.add_metric([unit], r["silent_s"])
            loss.add_metric([unit], r["loss"])
            restarts.add_metric([unit], r["restarts"])
            gaps.add_metric([unit], r["gap_s"])
            replayed.add_metric([unit], r["replayed"])
            if "offset_us" in r:
                offset.add_metric([unit], r["offset_us"] / 1e6)
                release.add_metric([unit, r["firmware"], r["release"]], 1)
        for unit in sorted(set(self.room.owner.values()) - heard):
            silent.add_metric([str(unit)], (t - self.started_us) / 1e6)
        yield from (last_seen, silent, loss, offset, restarts, gaps, replayed, release)


def _faults(book):
    """Seats with each fault now, and each fault's onsets: one label per name of the wire's
    table, and "newer" for every code a newer unit sends (the labels stay bounded)."""
    now = GaugeMetricFamily("empathy_seat_faults", "Seats whose unit says this sensor fault "
                            "holds now (wire FAULTS; newer: codes this host does not know)",
                            labels=["fault"])
    began = CounterMetricFamily("empathy_seat_fault_onsets", "Times a seat's sensor fault "
                                "began, by fault", labels=["fault"])
    onsets = dict.copy(book.onsets)  # one C call: the show thread counts on
    for name, n in book.counts().items():
        now.add_metric([name], n)
        began.add_metric([name], onsets.get(name, 0))
    yield from (now, began)


def _counter(name: str, doc: str, value) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)
