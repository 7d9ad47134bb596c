"""Red team, session 32: /metrics scraped back to back by whoever holds a scraper's token.

The read-only metrics token is the least trusted secret the host hands out (it sits in
Prometheus's config, and in whatever else scrapes). Each scrape rendered the whole page
anew on the dashboard's executor, under the GIL the show's loop needs: 16 connections
scraping back to back got about 970 renders a second, the show's process spent 0.85 of a
core more and its frame gaps' 99th percentile went from 43 to 63 ms at 25 fps. Prometheus
asks every 15 s: scrapes now share a render for a second. Real HTTP against the real
server; the metrics are the show's own, observed (not replaced) by counting their
collections."""

from __future__ import annotations

import threading
import time
import urllib.request

import pytest

from empathy.host.dashboard import metrics as metrics_mod
from empathy.host.dashboard.api import Api
from empathy.host.dashboard.live import Live
from empathy.host.dashboard.metrics import ShowMetrics
from test_baseline_wait import _show

pytestmark = pytest.mark.timeout(120)
SCRAPER = "session-32-metrics-token-" + "m" * 16
CONNECTIONS, SCRAPES = 16, 20


class CountedMetrics(ShowMetrics):
    def __init__(self, show):
        super().__init__(show)
        self.collections = 0

    def collect(self):
        self.collections += 1
        yield from super().collect()


def _scrapes(url: str, answers: list) -> None:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {SCRAPER}"})
    for _ in range(SCRAPES):
        with urllib.request.urlopen(req, timeout=30) as r:
            answers.append((r.status, b"empathy_packets_received_total" in r.read()))


def test_scrapes_back_to_back_share_one_render_a_second(tmp_path):
    show, _ = _show(tmp_path)
    metrics = CountedMetrics(show)
    api = Api(show, Live(show), "127.0.0.1:0", metrics=metrics, metrics_token=SCRAPER)
    api.start()
    try:
        answers: list = []
        before, t0 = metrics.collections, time.monotonic()
        threads = [threading.Thread(target=_scrapes, args=(api.url + "metrics", answers))
                   for _ in range(CONNECTIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        took = time.monotonic() - t0
        assert answers == [(200, True)] * (CONNECTIONS * SCRAPES)
        renders = metrics.collections - before
        assert renders <= took / metrics_mod.RENDER_EVERY_S + 2, \
            f"{renders} renders for {len(answers)} scrapes in {took:.1f} s"
    finally:
        api.close()
        show.receiver.close()
