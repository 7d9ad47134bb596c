"""Red team, session 23: the dashboard's connection caps and the aiohttp they sit on.

The gate (host/dashboard/gate.py) replaced two methods of aiohttp's `web.Server` object,
`connection_made(handler, transport)` and `connection_lost(handler, exc)`, which aiohttp's
RequestHandler calls on its manager: undocumented, tested on aiohttp 3.14.5 only. An
aiohttp that registered its connections any other way would have turned every cap off
without a word. Now the gate is a protocol factory in front of aiohttp's own (`web.Server`
is documented as a factory for `loop.create_server`), so it needs only asyncio's Protocol
interface; these tests say in one line what to adapt if even that changes."""

from __future__ import annotations

import asyncio
import socket
from contextlib import ExitStack

import aiohttp
from aiohttp import web

from empathy.host.dashboard import gate
from empathy.host.dashboard.api import Api
from empathy.host.dashboard.live import Live
from redteam_rig import wait_for
from test_baseline_wait import _show

TOKEN = "session-23-gate-token-" + "g" * 20
ADAPT = (f"aiohttp {aiohttp.__version__}: host/dashboard/gate.py's _Gated passes asyncio's "
         "Protocol calls to what web.Server() makes; adapt it to this aiohttp")


def test_aiohttp_s_server_is_still_the_protocol_factory_the_gate_stands_in_front_of():
    async def made():
        return web.Server(lambda request: web.Response())()

    proto = asyncio.run(made())
    assert isinstance(proto, asyncio.Protocol), ADAPT
    assert not isinstance(proto, asyncio.BufferedProtocol), ADAPT  # would need get_buffer
    for name in ("connection_made", "connection_lost", "data_received", "eof_received",
                 "pause_writing", "resume_writing"):
        assert callable(getattr(proto, name, None)), f"{ADAPT} (no {name})"


def test_the_gate_counts_connections_without_touching_aiohttp_s_objects(tmp_path, monkeypatch):
    """Before: the running server's `connection_made` and `connection_lost` were the gate's
    wrappers (instance attributes over aiohttp's methods). Now aiohttp's objects are as
    aiohttp made them, and the gate still counts each connection once and lets it go."""
    servers, init = [], web.Server.__init__
    monkeypatch.setattr(web.Server, "__init__",
                        lambda self, *a, **kw: (servers.append(self), init(self, *a, **kw))[1])
    show, _ = _show(tmp_path)
    api = Api(show, Live(show), "127.0.0.1:0", token=TOKEN)
    api.start()
    port = int(api.url.rsplit(":", 1)[1].strip("/"))
    try:
        assert servers and not any({"connection_made", "connection_lost"} & set(vars(s))
                                   for s in servers)
        with ExitStack() as stack:
            socks = []
            for _ in range(3):
                s = stack.enter_context(socket.create_connection(("127.0.0.1", port), 5))
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
                assert s.recv(64).startswith(b"HTTP/1.1 200"), ADAPT
                socks.append(s)
            assert api.gate.per_peer["127.0.0.1"] == 3, f"{ADAPT} (the gate counts " \
                f"{dict(api.gate.per_peer)})"
        wait_for(lambda: not api.gate.open, 5, f"the gate letting the connections go ({ADAPT})")
        assert not api.gate.per_peer and not api.gate.served
    finally:
        api.close()
        show.receiver.close()


def test_a_connection_over_the_cap_never_reaches_aiohttp(tmp_path):
    show, _ = _show(tmp_path)
    api = Api(show, Live(show), "127.0.0.1:0", token=TOKEN)
    api.start()
    port = int(api.url.rsplit(":", 1)[1].strip("/"))
    try:
        with ExitStack() as stack:
            answers = []
            for _ in range(gate.MAX_PER_PEER + 3):
                s = stack.enter_context(socket.socket())
                s.settimeout(5)
                try:
                    s.connect(("127.0.0.1", port))
                    s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
                    answers.append(s.recv(64)[:12] or b"closed")
                except ConnectionError:
                    answers.append(b"reset")
            assert answers.count(b"HTTP/1.1 200") == gate.MAX_PER_PEER, answers
            assert len(api.gate.open) == gate.MAX_PER_PEER
    finally:
        api.close()
        show.receiver.close()
