"""Stopping the dashboard with clients still on it (an operator's browser open when the host
stops): every connection ends with the server, nothing of it is left pending.

Two ways it did not: a client that left while aiohttp lingered over a body it had not read
(a refused 1 GB control, in tests/test_api.py) kept its handler task pending past the stop,
destroyed later wherever the garbage collector ran (once inside ast.parse, which made
CPython 3.11.7 fail a test with "AST constructor recursion depth mismatch"); an open
WebSocket held the stop for aiohttp's 60-s shutdown wait, so close() gave up after 10 s and
left the server's loop running.
"""

import asyncio
import contextlib
import gc
import json
import logging
import socket
import threading
import time
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from empathy.host.dashboard.api import SHUTDOWN_S, Api
from empathy.host.dashboard.live import Live
from empathy.host.dashboard.metrics import ShowMetrics
from test_baseline_wait import _show


@pytest.fixture
def api(tmp_path):
    show, _ = _show(tmp_path)
    api = Api(show, Live(show), "127.0.0.1:0")
    api.start()
    yield api
    api.close()
    show.receiver.close()


def test_a_stop_leaves_no_connection_pending(api, caplog):
    host, port = "127.0.0.1", int(api.url.rsplit(":", 1)[1].strip("/"))
    ws_url = f"ws://{host}:{port}/api/v1/live"
    auth = f"Host: x\r\nAuthorization: Bearer {api.token}\r\n".encode()
    with caplog.at_level(logging.WARNING, logger="asyncio"), \
            socket.create_connection((host, port), timeout=5) as idle, \
            connect(ws_url, open_timeout=5) as session, connect(ws_url, open_timeout=5):
        idle.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")  # then kept alive
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")
        with socket.create_connection((host, port), timeout=5) as gone:  # gone mid-linger
            gone.sendall(b"POST /api/v1/control HTTP/1.1\r\n" + auth
                         + b"Content-Length: 1000000000\r\n\r\n{}")
            assert gone.recv(4096).split(b" ")[1] == b"413"
        session.send(json.dumps({"type": "auth", "token": api.token}))
        assert json.loads(session.recv(5)) == {"type": "auth", "ok": True}
        time.sleep(0.3)  # the server has seen the 413's client leave
        api.close()
        assert not api._thread.is_alive(), "the dashboard's thread outlived its close()"
        # the browser is told the server is going away (1001), not left to time out
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                session.recv(5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert idle.recv(4096) == b""  # the keep-alive connection was closed too
    assert api._loop.is_closed()
    assert not asyncio.all_tasks(api._loop), asyncio.all_tasks(api._loop)
    gc.collect()  # a task destroyed pending says so now, in the asyncio log
    # and the stop is no refusal of the WebSocket still waiting for its token
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


class SlowMetrics(ShowMetrics):
    """The show's metrics, rendered slowly (a scrape on a loaded host): render() runs on the
    loop's executor and here waits until the test lets it go."""

    def __init__(self, show):
        super().__init__(show)
        self.rendering, self.release = threading.Event(), threading.Event()

    def render(self) -> bytes:
        self.rendering.set()
        self.release.wait(60)
        return super().render()


def test_a_stop_does_not_wait_for_work_still_running_on_the_executor(tmp_path, caplog):
    """A scrape whose render is still running when the dashboard stops: the stop ends within
    its shutdown time and a little, not when that work ends (asyncio.run would wait for the
    executor's threads without a limit)."""
    show, _ = _show(tmp_path)
    metrics = SlowMetrics(show)
    api = Api(show, Live(show), "127.0.0.1:0", metrics=metrics)
    api.start()
    scrape = urllib.request.Request(api.url + "metrics",
                                    headers={"Authorization": f"Bearer {api.token}"})

    def scraper():
        with contextlib.suppress(OSError):
            urllib.request.urlopen(scrape, timeout=30).read()

    client = threading.Thread(target=scraper, daemon=True)
    client.start()
    try:
        assert metrics.rendering.wait(10)
        began = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="empathy.host.dashboard"):
            api.close()
        took = time.monotonic() - began
        assert not api._thread.is_alive(), "the dashboard's thread outlived its close()"
        assert took < SHUTDOWN_S + 1.0, took
        assert api._loop.is_closed()
        # the operator's log says work was left running, and what holds it
        assert any("still running" in r.getMessage() for r in caplog.records)
    finally:
        metrics.release.set()
        client.join(10)
        show.receiver.close()
