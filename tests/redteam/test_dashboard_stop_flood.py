"""A client holding many idle connections to the dashboard when the host stops: keep-alive
HTTP connections, requests whose headers never finish, WebSockets that upgraded and never
sent a token, authenticated ones that never read. The stop still ends within its bound
(aiohttp's shutdown wait, SHUTDOWN_S, and the WebSockets' close) and leaves no task."""

import asyncio
import base64
import os
import socket
import time
from contextlib import ExitStack

from empathy.host.dashboard import gate
from empathy.host.dashboard.api import SHUTDOWN_S, Api
from empathy.host.dashboard.live import Live
from test_baseline_wait import _show


def _ws_upgrade(host: str, port: int, token: str | None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (f"GET /api/v1/live HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n{auth}\r\n").encode()


def test_a_stop_with_many_idle_and_half_open_clients_ends_in_its_bound(tmp_path, monkeypatch):
    for cap in ("MAX_PER_PEER", "MAX_PENDING_PER_PEER"):  # one peer here holds them all
        monkeypatch.setattr(gate, cap, 200)
    show, _ = _show(tmp_path)
    api = Api(show, Live(show), "127.0.0.1:0")
    api.start()
    host, port = "127.0.0.1", int(api.url.rsplit(":", 1)[1].strip("/"))
    try:
        with ExitStack() as stack:
            def sock():
                s = stack.enter_context(socket.create_connection((host, port), timeout=5))
                return s
            for _ in range(40):  # keep-alive, idle after one answer
                s = sock()
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
                assert s.recv(4096).startswith(b"HTTP/1.1 200")
            for _ in range(40):  # headers that never finish
                sock().sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-A: ")
            for _ in range(20):  # upgraded, never a token, never read again
                s = sock()
                s.sendall(_ws_upgrade(host, port, None))
                assert s.recv(4096).startswith(b"HTTP/1.1 101")
            for _ in range(5):  # upgraded and authenticated by header, never read
                s = sock()
                s.sendall(_ws_upgrade(host, port, api.token))
                assert s.recv(4096).startswith(b"HTTP/1.1 101")
            time.sleep(0.5)
            t0 = time.monotonic()
            api.close()
            took = time.monotonic() - t0
            assert not api._thread.is_alive(), f"the dashboard outlived close() ({took:.1f} s)"
            assert took < SHUTDOWN_S + 3.0, took
        assert api._loop.is_closed()
        assert not asyncio.all_tasks(api._loop), asyncio.all_tasks(api._loop)
    finally:
        api.close()
        show.receiver.close()
