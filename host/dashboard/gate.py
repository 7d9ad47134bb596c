"""What a peer on the booth's network may hold of the dashboard, before any token.

The dashboard listens on the LAN (0.0.0.0:8080 in the shipped configs) inside the show's
own process, so its connections are the show's file descriptors: an outsider holding a
thousand half-sent requests (aiohttp waits for ever for a request's headers) left the
player unable to open its next clip ("Could not open file", the screen fell back from
clip to clip). So connections are capped, per peer and in all, and one that has not sent
a whole request within HEADER_WAIT_S is closed, and so is one idle that long after its
answer (aiohttp's keep-alive timer, set in api.py). WebSockets waiting for their token are
capped per peer (api.py), so none can hold the operator's places. With every place taken,
a newcomer takes the place of the longest idle connection (no request under way) of the
machine holding the most, if that machine holds more than the newcomer would: eight
machines re-opening their 16 half-sent requests as each was closed held all 128 places,
and the operator's page was reset every try for as long as they cared. And 128 machines
holding one place each kept everyone else out (session 34): now a machine holding none
takes the place of the longest idle connection of any machine, and a connection that has
shown the operator's token is never closed for a newcomer: the operator's connections, once
in, keep their places, and a new one gets in whoever holds the rest. The metrics token
keeps no place (session 35: scraping with it from 8 machines, 16 connections each, pinned
all 128 and kept the operator out): a scraper's connection is any machine's.

Behind a reverse proxy every viewer's connection comes from the proxy. The addresses in
`dashboard.trusted_proxies` (none by default) are exempt from the per-peer connection cap
(not the total), and a request from one of them is the viewer's whom its X-Forwarded-For
names: the rightmost address that is not a listed proxy, the one the proxy itself saw
(whatever the viewer wrote is to its left). That viewer is then the peer of the
per-peer caps, at most MAX_PER_PEER requests under way, and of every log line.

aiohttp logs a request it cannot parse as an ERROR with its traceback; `ServerLog` makes
those one refusal line, rate-limited with the others.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import sys
from collections import Counter

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from empathy.log import RateLimited

MAX_CONNECTIONS = 128  # all peers together: far under the 1,024 descriptors systemd gives
MAX_PER_PEER = 16  # one machine: a browser opens 6 to a host
MAX_PENDING_PER_PEER = 4  # WebSockets of one machine not yet authenticated
HEADER_WAIT_S = 10.0  # a connection's first request must have come by then
MAX_BODY = 64 << 10  # a control's body or a WebSocket message (api.py refuses bigger)
# Bytes a connection may send with no request under way: a request's head (a browser's is
# under 8 KiB; nginx takes 32 KiB) and the body that may come with it before its handler
# starts. aiohttp reads 128 headers of 8,190 bytes each: 128 connections stalled in
# theirs held 258 MB of the show's process.
MAX_HEAD_BYTES = (32 << 10) + MAX_BODY
TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
             b"Connection: close\r\n\r\n")


def peer_of(transport) -> str:
    name = transport.get_extra_info("peername")
    return str(name[0]) if name else "?"


def _address(text: str):
    """An address from a forwarding header ("10.0.0.1", "[::1]:80", "10.0.0.1:80"), or None."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return getattr(ip, "ipv4_mapped", None) or ip


class Gate:
    """Admits connections to aiohttp's server (`factory`) within the caps above, and requests
    from trusted proxies (`admit`, a middleware) within each viewer's share."""

    def __init__(self, refused: RateLimited, trusted_proxies=()):
        self.refused = refused
        self.open: dict = {}  # handler -> (peer, transport, its first request's deadline)
        self.per_peer: Counter = Counter()
        self.served: set = set()  # handlers whose first request came
        self.trusted: set = set()  # handlers that showed the operator token: never evicted
        self.strangers: Counter = Counter()  # peer -> its connections not in `trusted`
        self.idle: dict = {}  # handlers with no request under way, the longest idle first
        self.heads: Counter = Counter()  # handler -> bytes it sent since it was last idle
        self.proxies = [ipaddress.ip_network(p) for p in trusted_proxies]
        self.under_way: Counter = Counter()  # a proxy's viewer -> its requests under way

    def is_proxy(self, peer: str) -> bool:
        ip = _address(peer) if self.proxies else None
        return ip is not None and any(ip in net for net in self.proxies)

    def viewer(self, peer: str, forwarded: list[str]) -> str:
        """Whom a request from `peer` is for: the rightmost forwarded address that is not a
        listed proxy; the proxy itself where it names none that can be read."""
        for hop in reversed(",".join(forwarded).split(",")):
            ip = _address(hop)
            if ip is None or not any(ip in net for net in self.proxies):
                return peer if ip is None else str(ip)
        return peer

    @web.middleware
    async def admit(self, request, handler):
        peer = request.remote or "?"
        if not self.is_proxy(peer):
            return await handler(request)
        who = self.viewer(peer, request.headers.getall("X-Forwarded-For", []))
        if self.under_way[who] >= MAX_PER_PEER:
            self.refused(logging.WARNING, "refused %r from %s via %s: %d requests under way "
                         "from it (at most %d)", request.path, who, peer, self.under_way[who],
                         MAX_PER_PEER)
            raise web.HTTPServiceUnavailable(text="too many requests under way\n")
        self.under_way[who] += 1
        try:
            return await handler(request.clone(remote=who))
        finally:
            self.under_way -= Counter({who: 1})  # (drops the viewer at 0)

    def factory(self, server):
        """A protocol factory for `loop.create_server`: aiohttp's `server` (a `web.Server`,
        itself such a factory) behind the caps. Only public interfaces: asyncio's Protocol
        and the factory; aiohttp never sees a refused connection."""
        return lambda: _Gated(self, server)

    def _admits(self, peer: str) -> bool:
        if self.per_peer[peer] < MAX_PER_PEER or self.is_proxy(peer):
            if len(self.open) < MAX_CONNECTIONS or self._evict_for(peer):
                return True
        self.refused(logging.WARNING, "refused a connection from %s: %d open from it, %d in "
                     "all (at most %d, %d)", peer, self.per_peer[peer], len(self.open),
                     MAX_PER_PEER, MAX_CONNECTIONS)
        return False

    def _evict_for(self, peer: str) -> bool:
        """Every place taken: close the longest idle connection of the machine holding the
        most (not counting connections that showed a token, never closed), if it holds
        more than `peer` would (so the peers it evicts cannot evict one another back: no
        churn), or if `peer` holds none (128 machines holding one place each kept everyone
        else out: the longest idle goes, and an evicted machine, holding none, may take a
        place back from the next longest idle, its own cost)."""
        longest = {}  # peer -> its longest idle connection
        for handler in self.idle:  # longest idle first
            if handler not in self.trusted:
                longest.setdefault(self.open[handler][0], handler)
        victim = max(longest, key=self.strangers.__getitem__, default=None)
        if victim is None or (self.strangers[victim] <= self.strangers[peer] + 1
                              and self.strangers[peer]):
            return False
        handler = longest[victim]
        self.refused(logging.WARNING, "closed an idle connection from %s (%d open from it) for "
                     "one from %s: every place taken", victim, self.per_peer[victim], peer)
        self.open[handler][1].abort()
        self._closed(handler)  # now: asyncio says connection_lost on its next turn
        return True

    def _opened(self, handler, peer: str, transport) -> None:
        # the timer goes with the connection: left, it held the handler for HEADER_WAIT_S
        # after a close, so a peer opening and dropping connections swelled the process
        deadline = asyncio.get_running_loop().call_later(HEADER_WAIT_S, self._deadline, handler)
        self.open[handler] = (peer, transport, deadline)
        self.idle[handler] = None
        self.per_peer[peer] += 1
        self.strangers[peer] += 1

    def _closed(self, handler) -> None:
        if handler not in self.open:  # evicted: counted out then
            return
        peer, _, deadline = self.open.pop(handler)
        deadline.cancel()
        self.served.discard(handler)
        self.idle.pop(handler, None)
        self.heads.pop(handler, None)
        self.per_peer -= Counter({peer: 1})  # (drops the peer at 0)
        if handler in self.trusted:
            self.trusted.discard(handler)
        else:
            self.strangers -= Counter({peer: 1})

    def trust(self, handler) -> None:
        """A request on this connection showed the operator's token: it keeps its place."""
        if handler in self.open and handler not in self.trusted:
            self.trusted.add(handler)
            self.strangers -= Counter({self.open[handler][0]: 1})

    def saw_request(self, handler) -> None:
        """A request is under way on this connection: it cannot be evicted."""
        self.served.add(handler)
        self.idle.pop(handler, None)
        self.heads.pop(handler, None)

    def rested(self, handler) -> None:
        """Its request answered (or a WebSocket waiting for its token): evictable again,
        as the most recently idle."""
        if handler in self.open:
            self.idle.pop(handler, None)
            self.idle[handler] = None

    def _took(self, handler, n: int) -> bool:
        """Whether a connection may go on having sent `n` more bytes."""
        if handler not in self.idle:
            return True  # a request's body or a live WebSocket's messages: aiohttp's caps
        self.heads[handler] += n
        if self.heads[handler] <= MAX_HEAD_BYTES:
            return True
        self.refused(logging.WARNING, "closed a connection from %s: %d bytes and no whole "
                     "request (at most %d)", self.open[handler][0], self.heads[handler],
                     MAX_HEAD_BYTES)
        return False

    def _deadline(self, handler) -> None:
        if handler not in self.served:
            self.refused(logging.WARNING, "closed a connection from %s: no whole request in "
                         "%g s", self.open[handler][0], HEADER_WAIT_S)
            self.open[handler][1].abort()


class ServerLog:
    """aiohttp's server logger, for the dashboard. aiohttp logs a request it cannot parse
    (no Host header, a bad Content-Length, a 100 kB request line) as an ERROR with its
    traceback, every time: from anyone on the network, a way to bury the host's log. Those
    become one refusal line, rate-limited with the others; a client that leaves mid-request
    a debug line; any other error is aiohttp's."""

    def __init__(self, refused: RateLimited):
        self.refused, self.server = refused, logging.getLogger("aiohttp.server")

    def exception(self, msg, *args, exc_info=True, **kw) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if isinstance(exc, ConnectionError):  # the client went away mid-request
            self.server.debug("%s went away mid-request: %s", args[0] if args else "?", exc)
        elif isinstance(exc, HttpProcessingError):
            what = (exc.message or type(exc).__name__).strip().splitlines() or [""]
            self.refused(logging.WARNING, "refused a malformed request from %s: %r",
                         args[0] if args else "?", what[0][:120])
        else:
            self.server.error(msg, *args, exc_info=exc_info, **kw)

    def __getattr__(self, name):  # debug, warning, ...: as aiohttp logs them
        return getattr(self.server, name)


class _Gated(asyncio.Protocol):
    """One connection: admitted, it gets aiohttp's protocol, to which everything asyncio
    says is passed on; refused, it is closed before aiohttp is made for it."""

    def __init__(self, gate: Gate, make):
        self.gate, self.make, self.inner, self.transport = gate, make, None, None

    def connection_made(self, transport) -> None:
        self.transport = transport
        peer = peer_of(transport)
        if not self.gate._admits(peer):
            transport.abort()
            return
        self.inner = self.make()
        self.gate._opened(self.inner, peer, transport)
        self.inner.connection_made(transport)

    def connection_lost(self, exc) -> None:
        if self.inner is not None:
            self.gate._closed(self.inner)
            self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.gate._took(self.inner, len(data)):
            self.inner.data_received(data)
        elif not self.transport.is_closing():
            self.transport.write(TOO_LARGE)
            self.transport.close()

    def eof_received(self):
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()
