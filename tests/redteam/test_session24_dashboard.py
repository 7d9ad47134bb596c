"""Red team, session 24: the dashboard's connections after their first request.

The gate (host/dashboard/gate.py) closes a connection that has sent no whole request within
HEADER_WAIT_S, and caps connections per peer (16) and in all (128). Its clock stopped at
the first request: aiohttp keeps an idle keep-alive connection for its keepalive_timeout
(3,630 s in aiohttp 3.14) and waits for ever for the next request's headers. Eight
machines on the booth's LAN (here 127.0.0.2-9), 16 connections each, one request on each
and then nothing (or half a second request), held all 128 places: the operator's page was
reset for the hour. Real sockets against the real aiohttp server."""

from __future__ import annotations

import socket
from contextlib import ExitStack

import pytest

from empathy.host.dashboard import gate
from redteam_rig import wait_for
from test_session23_proxy import _dashboard, _get

pytestmark = pytest.mark.timeout(120)


def _operator(port: int) -> bytes:
    with socket.socket() as s:
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(_get("/api/v1/health", None))
            return s.recv(4096).split(b"\r\n", 1)[0] or b"reset"
        except OSError:
            return b"reset"


@pytest.mark.parametrize("then", [b"", b"GET /api/v1/health HTTP/1.1\r\nHost: booth\r\nX-A: "],
                         ids=["idle keep-alive", "half a second request"])
def test_connections_served_once_cannot_hold_the_operator_out(tmp_path, then):
    """Before: the operator's connection was reset 20 s after the 128 were served (and on
    until aiohttp's hour); now each is closed HEADER_WAIT_S after its last answer."""
    show, api, port = _dashboard(tmp_path)
    try:
        with ExitStack() as stack:
            for peer in range(2, 2 + gate.MAX_CONNECTIONS // gate.MAX_PER_PEER):
                for _ in range(gate.MAX_PER_PEER):
                    s = stack.enter_context(socket.socket())
                    s.bind((f"127.0.0.{peer}", 0))
                    s.settimeout(5)
                    s.connect(("127.0.0.1", port))
                    s.sendall(_get("/api/v1/health", None))
                    assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
                    s.sendall(then)
            # every place taken: the operator takes an idle one's (session 32, gate.py)
            assert _operator(port) == b"HTTP/1.1 200 OK"
            # and the connections served once are closed by HEADER_WAIT_S (waited for, not
            # slept out), the operator served after
            wait_for(lambda: not api.gate.open, gate.HEADER_WAIT_S + 30,
                     "the idle connections closed")
            assert _operator(port) == b"HTTP/1.1 200 OK"
    finally:
        api.close()
        show.receiver.close()


def test_an_ipv6_listen_address_serves_and_its_proxy_s_viewers_are_their_own(tmp_path):
    """`dashboard.listen = "[::1]:8080"` passes `config check`, and `trusted_proxies` takes
    IPv6 networks, but the dashboard kept the brackets and the show could not start:
    "dashboard cannot listen on [::1]:0: Name or service not known". Now it listens (IPv6
    only, as asyncio binds "::"), its URL is bracketed, and an IPv6 proxy's 20 viewers are
    each their own peer (over MAX_PER_PEER through one proxy)."""
    from empathy.host.dashboard.api import Api
    from empathy.host.dashboard.live import Live
    from test_baseline_wait import _show
    from test_session23_proxy import TOKEN

    show, _ = _show(tmp_path)
    api = Api(show, Live(show), "[::1]:0", token=TOKEN, trusted_proxies=["::1"])
    try:
        api.start()
        assert api.url.startswith("http://[::1]:"), api.url
        port = int(api.url.rsplit(":", 1)[1].strip("/"))
        with ExitStack() as stack:
            got = []
            for i in range(gate.MAX_PER_PEER + 4):
                s = stack.enter_context(socket.socket(socket.AF_INET6))
                s.settimeout(5)
                s.connect(("::1", port))
                s.sendall(_get("/api/v1/health", f"2001:db8::{i + 1}"))
                got.append(s.recv(4096).split(b"\r\n", 1)[0])
        assert got == [b"HTTP/1.1 200 OK"] * len(got), got
    finally:
        api.close()
        show.receiver.close()
