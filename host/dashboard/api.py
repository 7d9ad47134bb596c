"""The Empathy Engine API, version 1, and the dashboard page, served by aiohttp.

    GET  /                      the operator dashboard (static page; token in #token=...)
    GET  /api/v1/health         {"ok", "api", "version"} - no token, for monitors
    GET  /api/v1/state          the live snapshot (see docs/api.md)
    GET  /api/v1/live           WebSocket: first send {"type": "auth", "token": T} (answered
                                by {"type": "auth", "ok": true}); then {"type": "state"} twice
                                a second, {"type": "event"} for every segment, decision and
                                control as it happens; send {"type": "control", ...} to act,
                                answered by "ack"
    POST /api/v1/control        {"action": ..., ...} -> {"ok": true} or 400 {"error"}
    GET  /metrics               Prometheus text exposition (metrics.py); the operator token
                                or the read-only metrics token, as a Bearer header only

Everything but the page and health needs the operator token, of at least 32 characters:
`Authorization: Bearer T` on HTTP, the first message on the WebSocket (never the URL,
which ends up in logs and browser history). Every control is logged with its origin;
refusals are logged at most `REFUSALS_PER_MIN` a minute (then counted), with the request
path quoted so a crafted one cannot forge a log line. Every response carries a strict
Content-Security-Policy; the page sets every piece of text as text, never as HTML.
The server runs on its own thread and event loop; the show never waits for it.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import WSCloseCode, WSMsgType, web

from empathy import __version__
from empathy.host.dashboard import gate
from empathy.host.dashboard.control import ControlError, apply_control, parse_json
from empathy.host.dashboard.live import API_VERSION, Live
from empathy.host.dashboard.metrics import CONTENT_TYPE
from empathy.errors import UserError
from empathy.log import RateLimited

log = logging.getLogger("empathy.host.dashboard")

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
PUSH_S = 0.25
MIN_TOKEN = 32  # characters; a shorter operator token is refused at start
AUTH_WAIT_S = 5.0  # a WebSocket that has not authenticated by then is closed
MAX_BODY = gate.MAX_BODY  # controls are tiny: a bigger request or message is refused
BODY_WAIT_S = 5.0  # a control's body that has not all come by then is refused (408)
MAX_SOCKETS = 32  # authenticated WebSockets (gate.py caps those waiting for a token)
SHUTDOWN_S = 2.0  # at stop, a request in progress gets this long, then is cancelled
EXECUTOR_S = 0.2  # ...and work it left on the executor at least this long
REFUSALS_PER_MIN = 10
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self' ws://{host} wss://{host}; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")


def _same(given: str, token: str) -> bool:
    """Constant-time; `given` may hold lone surrogates (aiohttp's reading of header bytes
    that are not UTF-8, or a JSON escape), which a strict encode refuses with a traceback."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), token.encode())


def _page_files() -> dict:
    """The page's few small files, read once and answered from memory: a FileResponse is
    sent by sendfile, and a client that reset its connection mid-file (or one the gate
    closed) left aiohttp's "Unhandled exception" and its traceback in the show's log, one
    per request it had pipelined (15 connections, 10 times: 150 tracebacks)."""
    return {p.name: (p.read_bytes(), TYPES[p.suffix]) for p in STATIC.iterdir()
            if p.suffix in TYPES}


class Api:
    def __init__(self, show, live: Live, listen: str = "127.0.0.1:8080",
                 token: str | None = None, metrics=None, metrics_token: str | None = None,
                 trusted_proxies=()):
        host, _, port = listen.rpartition(":")
        self.show, self.live = show, live
        # "[::]:8080" (every interface, IPv6 too) as a URL writes it; asyncio takes "::"
        self.host, self.port = host.removeprefix("[").removesuffix("]") or "127.0.0.1", int(port)
        for name, t in (("operator", token), ("metrics", metrics_token)):
            if t is not None and len(t) < MIN_TOKEN:
                raise UserError(f"the {name} token has {len(t)} characters; use at least "
                                f"{MIN_TOKEN}", "e.g. head -c 32 /dev/urandom | base64 > FILE")
        self.token = token or secrets.token_urlsafe(32)
        self.metrics, self.metrics_token = metrics, metrics_token  # metrics.ShowMetrics
        self.files = _page_files()
        self._refused = RateLimited(log, burst=REFUSALS_PER_MIN, period_s=60.0)
        self._server_log = gate.ServerLog(self._refused)
        self.gate = gate.Gate(self._refused, trusted_proxies)
        self.sockets: set[web.WebSocketResponse] = set()  # open, for the stop to close
        self.live_sockets = 0  # of those, authenticated
        self.pending: Counter = Counter()  # peer -> its WebSockets waiting for a token
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._closing = 0.0  # when close() asked the server to stop (monotonic s)
        self._thread = threading.Thread(target=self._serve, name="dashboard", daemon=True)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> str:
        self._thread.start()
        self._ready.wait(30)
        if self._error:
            raise OSError(f"dashboard cannot listen on {self.host}:{self.port}: {self._error}")
        return self.url

    def close(self) -> None:
        if self._loop and self._loop.is_running():
            self._closing = time.monotonic()
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        if self._thread.is_alive():  # (bounded by SHUTDOWN_S and the socket closes: a bug)
            log.warning("dashboard still stopping after 10 s; its thread is left to end")

    def _serve(self) -> None:
        """asyncio.run, but for its wait on the executor's threads, which is unbounded on
        3.11: work a handler still has running there (a slow /metrics render) would hold
        the stop until it ended."""
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.set_default_executor(executor := ThreadPoolExecutor(thread_name_prefix="dashboard"))
        try:
            loop.run_until_complete(self._main())
        finally:
            try:
                # whatever the server's shutdown leaves (a handler whose client left while
                # aiohttp lingered over its unread body) is cancelled and awaited: none is
                # destroyed pending later, wherever the garbage collector happens to run
                left = asyncio.all_tasks(loop)
                for task in left:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                self._let_go(executor)
                asyncio.set_event_loop(None)
                loop.close()

    def _let_go(self, executor: ThreadPoolExecutor) -> None:
        """Wait for the executor's threads until SHUTDOWN_S after close() (at least
        EXECUTOR_S); whatever still runs then is left to end by itself."""
        joiner = threading.Thread(target=executor.shutdown, name="dashboard-stop", daemon=True,
                                  kwargs={"wait": True, "cancel_futures": True})
        joiner.start()
        joiner.join(max(EXECUTOR_S, self._closing + SHUTDOWN_S - time.monotonic()))
        if joiner.is_alive():
            log.warning("dashboard stopped with work still running on its threads (a slow "
                        "/metrics render?); it is left to end")

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        # aiohttp waits this twice for a request in progress: for its handler to finish,
        # then for it to end once cancelled
        # aiohttp's keep-alive timer also ends a connection idle after its answer, or
        # half-way through its next request: its default (an hour) let served connections
        # hold the gate's places
        runner = web.AppRunner(self.app(), access_log=None, logger=self._server_log,
                               shutdown_timeout=SHUTDOWN_S / 2,
                               keepalive_timeout=gate.HEADER_WAIT_S)
        listener = None
        try:
            await runner.setup()
            listener = await self._loop.create_server(self.gate.factory(runner.server),
                                                      self.host, self.port, backlog=128)
            name = f"[{self.host}]" if ":" in self.host else self.host
            self.url = f"http://{name}:{listener.sockets[0].getsockname()[1]}/"
            log.info("dashboard at %s", self.url, extra={"url": self.url})
        except BaseException as e:  # reported by start()
            self._error = e
        else:
            self._ready.set()
            await self._stop.wait()
        finally:
            if listener is not None:
                listener.close()  # no new connections; aiohttp's cleanup ends the open ones
            await runner.cleanup()
            self._ready.set()

    async def _going_away(self, app) -> None:
        """At stop: every WebSocket is closed (1001), or its session, which never ends by
        itself, would hold the stop for aiohttp's shutdown wait."""
        closing = [ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
                   for ws in list(self.sockets)]
        try:
            await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), SHUTDOWN_S)
        except asyncio.TimeoutError:
            pass  # a client that does not read: its transport is closed regardless

    # -- app ------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._headers, self.gate.admit, self._auth],
                              client_max_size=MAX_BODY)
        app.on_shutdown.append(self._going_away)
        app.add_routes([
            web.get("/", self._page),
            web.get("/static/{name}", self._static),
            web.get("/api/v1/health", self._health),
            web.get("/api/v1/state", self._state),
            web.get("/api/v1/live", self._ws),
            web.post("/api/v1/control", self._control),
            web.get("/metrics", self._metrics),
        ])
        return app

    async def _metrics(self, request):
        """A scraper's token: the operator's or the read-only metrics token, in the header
        only (a token in a scrape URL ends up in logs and Prometheus's target list). Only
        the operator's keeps its connection's place: the metrics token (in Prometheus's
        config, and read-only) pinned every place from 8 machines, 16 scrapes each."""
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if self._token_ok(given):
            self.gate.trust(request.protocol)
        elif not (self.metrics_token and _same(given, self.metrics_token)):
            self.refuse(request, "bad or missing operator or metrics token")
            return web.Response(status=401, text="operator or metrics token required\n")
        if self.metrics is None:
            return web.Response(status=404, text="no metrics on this listener\n")
        body = await asyncio.get_running_loop().run_in_executor(None, self.metrics.render)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    @web.middleware
    async def _headers(self, request: web.Request, handler):
        self.gate.saw_request(request.protocol)
        try:
            resp = await handler(request)
        except web.HTTPException as e:
            resp = e
        finally:
            self.gate.rested(request.protocol)
        resp.headers["Content-Security-Policy"] = CSP.format(host=request.host)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Cache-Control"] = "no-store"
        if isinstance(resp, web.HTTPException):
            raise resp
        return resp

    def _token_ok(self, given) -> bool:
        return isinstance(given, str) and _same(given, self.token)

    def refuse(self, request: web.Request, why: str) -> None:
        """Log a refusal, rate-limited, with the path quoted (no forged log lines)."""
        self._refused(logging.WARNING, "refused %r from %s: %s", request.path, request.remote,
                      why, extra={"remote": request.remote, "path": request.path})

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        if request.path.startswith("/api/") and request.path not in ("/api/v1/health",
                                                                     "/api/v1/live"):
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not self._token_ok(given):
                self.refuse(request, "bad or missing operator token")
                return web.json_response({"error": "operator token required"}, status=401)
            self.gate.trust(request.protocol)
        return await handler(request)

    async def _page(self, request):
        return web.Response(body=self.files["index.html"][0], content_type="text/html")

    async def _static(self, request):
        body, kind = self.files.get(request.match_info["name"], (None, ""))
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type=kind)

    async def _health(self, request):
        return web.json_response({"ok": True, "api": API_VERSION, "version": __version__})

    async def _state(self, request):
        return web.json_response(self.live.snapshot())

    def _act(self, doc, request) -> dict:
        by = f"{request.remote} via {request.path}"
        try:
            apply_control(self.show, doc, by)
        except ControlError as e:
            log.warning("control refused: %s", e, extra={"by": by, "control": doc})
            return {"ok": False, "error": str(e)}
        log.info("control accepted: %s", doc, extra={"by": by, "control": doc})
        return {"ok": True}

    async def _control(self, request):
        if (request.content_length or 0) > MAX_BODY:  # said up front: refused before reading
            return web.json_response({"ok": False, "error": f"a control is at most {MAX_BODY} "
                                      "bytes"}, status=413)
        try:
            body = await asyncio.wait_for(request.read(), BODY_WAIT_S)
        except asyncio.TimeoutError:
            return web.json_response({"ok": False, "error": "the body did not come within "
                                      f"{BODY_WAIT_S:g} s"}, status=408)
        try:
            doc = parse_json(body)
        except ValueError as e:
            return web.json_response({"ok": False, "error": f"body is not JSON: {e}"[:200]},
                                     status=400)
        res = self._act(doc, request)
        return web.json_response(res, status=200 if res["ok"] else 400)

    async def _authenticated(self, ws, request) -> bool:
        """The first message must be {"type": "auth", "token": T}, within AUTH_WAIT_S:
        the whole wait's (`receive` answers pings itself and starts its own timeout again
        after each, so a client pinging every few seconds was held for ever)."""
        try:
            msg = await asyncio.wait_for(ws.receive(), AUTH_WAIT_S)
            if msg.type == WSMsgType.CLOSING:  # closed by the stop: no refusal to log
                return False
            doc = parse_json(msg.data) if msg.type == WSMsgType.TEXT else None
        except (asyncio.TimeoutError, ValueError):
            doc = None
        if isinstance(doc, dict) and doc.get("type") == "auth" and self._token_ok(doc.get("token")):
            await ws.send_json({"type": "auth", "ok": True})
            return True
        self.refuse(request, "WebSocket without the operator token in its first message")
        await ws.close(code=4401, message=b"operator token required")
        return False

    async def _ws(self, request):
        peer = request.remote
        if self.live_sockets >= MAX_SOCKETS or self.pending[peer] >= gate.MAX_PENDING_PER_PEER:
            self.refuse(request, f"more than {MAX_SOCKETS} WebSockets open, or "
                        f"{gate.MAX_PENDING_PER_PEER} from it waiting for a token")
            return web.json_response({"error": "too many live connections"}, status=503)
        ws = web.WebSocketResponse(heartbeat=10, max_msg_size=MAX_BODY)
        await ws.prepare(request)
        self.sockets.add(ws)
        self.pending[peer] += 1
        self.gate.rested(request.protocol)  # no token yet: a full gate may close it
        try:
            authenticated = await self._authenticated(ws, request)
        finally:
            self.pending -= Counter({peer: 1})  # (drops the peer at 0)
        try:
            if authenticated:
                self.gate.saw_request(request.protocol)
                self.gate.trust(request.protocol)
                self.live_sockets += 1
                await self._session(ws, request)
        finally:
            self.live_sockets -= authenticated
            self.sockets.discard(ws)
        return ws

    async def _session(self, ws, request) -> None:
        pusher = asyncio.create_task(self._push(ws))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    doc = parse_json(msg.data)
                except ValueError:
                    await ws.send_json({"type": "ack", "ok": False, "error": "not JSON"})
                    continue
                if isinstance(doc, dict) and doc.get("type") == "control":
                    await ws.send_json({"type": "ack", "id": doc.get("id"),
                                        **self._act(doc, request)})
                else:
                    await ws.send_json({"type": "ack", "ok": False,
                                        "error": "send {\"type\": \"control\", ...}"})
        finally:
            pusher.cancel()

    async def _push(self, ws):
        seen, tick = 0, 0
        try:
            while not ws.closed:
                for ev in self.live.events_since(seen):
                    seen = ev["n"]
                    await ws.send_json({"type": "event", "api": API_VERSION, **ev})
                if tick % 2 == 0:
                    await ws.send_json({"type": "state", **self.live.snapshot()})
                tick += 1
                await asyncio.sleep(PUSH_S)
        except (ConnectionResetError, RuntimeError):
            pass  # the client went away
