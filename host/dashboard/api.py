"""The Empathy Engine API, version 1, and the dashboard page, served by aiohttp.

    GET  /                      the operator dashboard (static page; token in #token=...)
    GET  /api/v1/health         {"ok", "api", "version"} - no token, for monitors
    GET  /api/v1/state          the live snapshot (see docs/api.md)
    GET  /api/v1/live?token=T   WebSocket: {"type": "state"} twice a second, {"type": "event"}
                                for every segment, decision and control as it happens;
                                send {"type": "control", ...} to act, answered by "ack"
    POST /api/v1/control        {"action": ..., ...} -> {"ok": true} or 400 {"error"}

Everything but the page and health needs the operator token (Authorization: Bearer T, or
?token=T where a browser cannot set headers). Every control is logged with its origin.
The server runs on its own thread and event loop; the show never waits for it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import threading
from pathlib import Path

from aiohttp import WSMsgType, web

from empathy import __version__
from empathy.host.dashboard.live import API_VERSION, Live

log = logging.getLogger("empathy.host.dashboard")

STATIC = Path(__file__).resolve().parent / "static"
PUSH_S = 0.25


class ControlError(ValueError):
    pass


def apply_control(show, doc: dict, by: str) -> None:
    """One operator control from the API (HTTP or WebSocket); raises ControlError."""
    if not isinstance(doc, dict):
        raise ControlError("a control is a JSON object with an \"action\"")
    action = doc.get("action")
    try:
        if action == "force_branch":
            show.force_branch(str(doc.get("option", "")), by=by)
        elif action == "kill_switch":
            show.kill_switch(bool(doc.get("on", True)), by=by)
        elif action == "grade_strength":
            show.set_grade_strength(doc.get("strength"), by=by)
        elif action in ("freeze_learning", "unfreeze_learning", "reset_learning"):
            show.learning(action.split("_")[0], by=by)
        elif action == "audience":  # a rehearsal's simulated audience, calmer or excited
            show.nudge_audience(doc.get("push"), by=by)
        else:
            raise ControlError(f"unknown action {action!r} (known: force_branch, kill_switch, "
                               "grade_strength, freeze_learning, unfreeze_learning, "
                               "reset_learning, audience)")
    except ValueError as e:
        raise ControlError(str(e)) from None


class Api:
    def __init__(self, show, live: Live, listen: str = "127.0.0.1:8080",
                 token: str | None = None):
        host, _, port = listen.rpartition(":")
        self.show, self.live = show, live
        self.host, self.port = host or "127.0.0.1", int(port)
        self.token = token or secrets.token_urlsafe(18)
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
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
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        runner = web.AppRunner(self.app(), access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self.port)
            loop.run_until_complete(site.start())
            port = runner.addresses[0][1]
            self.url = f"http://{self.host}:{port}/"
            log.info("dashboard at %s", self.url, extra={"url": self.url})
        except BaseException as e:  # reported by start()
            self._error = e
            loop.run_until_complete(runner.cleanup())
            loop.close()
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    # -- app ------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.add_routes([
            web.get("/", self._page),
            web.static("/static", STATIC),
            web.get("/api/v1/health", self._health),
            web.get("/api/v1/state", self._state),
            web.get("/api/v1/live", self._ws),
            web.post("/api/v1/control", self._control),
        ])
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        if request.path.startswith("/api/") and request.path != "/api/v1/health":
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() \
                or request.query.get("token", "")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                log.warning("refused %s from %s: bad or missing operator token", request.path,
                            request.remote, extra={"remote": request.remote})
                return web.json_response({"error": "operator token required"}, status=401)
        return await handler(request)

    async def _page(self, request):
        return web.FileResponse(STATIC / "index.html")

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
        try:
            doc = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"ok": False, "error": "body is not JSON"}, status=400)
        res = self._act(doc, request)
        return web.json_response(res, status=200 if res["ok"] else 400)

    async def _ws(self, request):
        ws = web.WebSocketResponse(heartbeat=10)
        await ws.prepare(request)
        pusher = asyncio.create_task(self._push(ws))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    doc = json.loads(msg.data)
                except json.JSONDecodeError:
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
        return ws

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
