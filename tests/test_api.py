"""The Empathy Engine API v1 against a real `empathy host run` process: real UDP packets
in, real HTTP and a real WebSocket client (websockets) out, controls that change the show.

`HostRig` (also used by the OSC, LSL and session tests) starts the host on the sample story
with a file output and feeds it signed seat samples over UDP, as edge units would.
"""

import asyncio
import json
import logging
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import tomli_w
import websockets

from empathy import wire
from empathy.clock import now_us
from empathy.keys import Keystore

SAMPLE = Path(__file__).resolve().parents[1] / "host" / "sample" / "neon_rain.toml"
DECIDE_AT_S = 5.0
GOOD = wire.Flag.HR_OK | wire.Flag.FACE_OK | wire.Flag.CONTACT | wire.Flag.CALIBRATED


def free_port(kind=socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HostRig:
    """`empathy host run` in a subprocess plus a feeder playing `seats` edge units."""

    def __init__(self, tmp: Path, seats: int = 3, dashboard: bool = True, **sections):
        from empathy.host.sample.render import ensure

        self.tmp, self.seats, self.dashboard = tmp, seats, dashboard
        self.keys = Keystore.new(range(1, seats + 1))
        self.keys.save(tmp / "host.keys.toml")
        self.port = free_port()
        self.token = "test-token-" + os.urandom(16).hex()
        # The sample story with its decisions early in their segments: tests wait less.
        story = tomllib.loads(SAMPLE.read_text())
        for d in story["decisions"].values():
            d["window_s"] = [0.5, DECIDE_AT_S]
        if "screenplay" in story:  # relative to the sample story's own folder
            story["screenplay"] = str(SAMPLE.parent / story["screenplay"])
        (tmp / "story.toml").write_text(tomli_w.dumps(story))
        cfg = {"keystore": str(tmp / "host.keys.toml"), "story": str(tmp / "story.toml"),
               "media_root": str(ensure()), "frame_log": str(tmp / "frames.csv"),
               "show": {"listen": f"udp://127.0.0.1:{self.port}", "width": 320, "height": 180,
                        "fps": 15.0, "output": f"file:{tmp / 'screen.mp4'}"},
               "session": {"dir": str(tmp / "sessions")},
               "dashboard": {"enabled": dashboard, "listen": "127.0.0.1:0"}}
        for k, v in sections.items():
            cfg.setdefault(k, {}).update(v)
        self.config = tmp / "host.toml"
        self.config.write_text(tomli_w.dumps(cfg))
        self.sent: list[tuple[float, wire.SeatSample]] = []  # (monotonic send time, sample)
        self._stop = threading.Event()
        self.proc = self.url = None

    def start(self):
        self.err = open(self.tmp / "host.stderr", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "empathy.cli", "--log-level", "info", "host", "run",
             "--config", str(self.config)],
            stdout=subprocess.PIPE, stderr=self.err, text=True,
            env={**os.environ, "EMPATHY_OPERATOR_TOKEN": self.token,
                 "XDG_STATE_HOME": str(self.tmp / "state")})  # a learning policy's memory
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = (self.tmp / "host.stderr").read_text()
            m = re.search(r"^dashboard: (http\S+)", text, re.M)
            if m:
                self.url = m.group(1)
                break
            if "recording session" in text and not self.dashboard:
                break
            assert self.proc.poll() is None, text[-3000:]
            time.sleep(0.1)
        else:
            raise AssertionError("host did not start: " + (self.tmp / "host.stderr").read_text())
        self._feeder = threading.Thread(target=self._feed, daemon=True)
        self._feeder.start()
        return self

    def arousal(self, seat: int, t: float) -> float:
        return round(0.4 * math.sin(t / 2 + seat) + 0.1 * seat - 0.1, 3)

    def _feed(self):
        """10 Hz per seat, like an edge unit; every sample stamped on the host clock."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        seq, t0 = 0, time.monotonic()
        while not self._stop.is_set():
            t = time.monotonic() - t0
            for seat in range(1, self.seats + 1):
                s = wire.SeatSample(seat, seat, seq, now_us(), hr_bpm=70 + seat,
                                    rmssd_ms=40.0, pupil_mm=3.5, arousal=self.arousal(seat, t),
                                    valence=0.1 * seat, expression=3, expression_conf=0.8,
                                    flags=GOOD)
                packet = wire.encode(s, self.keys.units[seat])
                sock.sendto(packet, ("127.0.0.1", self.port))
                self.sent.append((time.monotonic(), wire.decode(packet, self.keys.units)))
            seq += 1
            self._stop.wait(0.1)
        sock.close()

    def get(self, path: str, token: str | None = None):
        req = urllib.request.Request(self.url.rstrip("/") + path)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())

    def post(self, path: str, body: bytes, token: str | None):
        req = urllib.request.Request(self.url.rstrip("/") + path, data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def wait_state(self, pred, timeout_s=60.0, what=""):
        deadline, last = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            _, last = self.get("/api/v1/state", self.token)
            if pred(last):
                return last
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}: {json.dumps(last)[:3000]}")

    def forceable(self) -> tuple[str, str]:
        """Wait for a decision still open for a second or more; returns it and its first
        option that is not the default (so a kill switch after it has something to undo)."""
        s = self.wait_state(lambda s: s["next_decision"] and not s["next_decision"]["decided"]
                            and s["next_decision"]["closes_in_s"] >= 1.0, 60, "an open decision")
        d = s["next_decision"]
        return d["id"], next(o for o in d["options"] if o != d["default"]), d["default"]

    def stop_feed(self):
        self._stop.set()
        self._feeder.join(5)

    def close(self):
        """Stop the host (SIGTERM, as systemd would) and keep what it printed as `stdout`:
        reading the pipe to its end also closes it."""
        self.stop_feed()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.stdout = self.proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.stdout = self.proc.communicate()[0]
        self.err.close()


@pytest.fixture
def rig(tmp_path):
    r = HostRig(tmp_path).start()
    yield r
    r.close()


def test_a_busy_port_is_a_clear_error():
    from empathy.host.dashboard.api import Api

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match=f"dashboard cannot listen on 127.0.0.1:{port}"):
            Api(None, None, f"127.0.0.1:{port}").start()


def test_malformed_http_is_one_rate_limited_line_not_a_traceback_each(caplog):
    """A request aiohttp cannot parse (no Host header, a bad Content-Length, TLS on the
    plain port, a 100 kB request line) was logged by aiohttp as an ERROR with its
    traceback, every time: anyone on the network could bury the host's log in them."""
    from empathy.host.dashboard.api import BODY_WAIT_S, REFUSALS_PER_MIN, Api

    api = Api(None, None, "127.0.0.1:0")
    port = int(api.start().rsplit(":", 1)[1].strip("/"))
    bad = [b"GET /api/v1/state HTTP/1.1\r\n\r\n",
           b"POST /api/v1/control HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}",
           b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n",
           b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"]
    try:
        with caplog.at_level(logging.INFO):
            for k in range(30):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                    c.sendall(bad[k % len(bad)])
                    assert c.recv(4096).startswith(b"HTTP/1.")  # answered 400, not hung
            # a body it says is 1 GB, or one that never comes: answered at once, or after
            # BODY_WAIT_S, not held open for as long as the client likes
            auth = f"Host: x\r\nAuthorization: Bearer {api.token}\r\n".encode()
            for length, status in ((10**9, b"413"), (40, b"408")):
                with socket.create_connection(("127.0.0.1", port), timeout=BODY_WAIT_S + 5) as c:
                    c.sendall(b"POST /api/v1/control HTTP/1.1\r\n" + auth
                              + b"Content-Length: %d\r\n\r\n{}" % length)
                    assert c.recv(4096).split(b" ")[1] == status
            # a client gone mid-body is no error either
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.sendall(b"POST /api/v1/control HTTP/1.1\r\n" + auth
                          + b"Content-Length: 40\r\n\r\n{")
            time.sleep(0.2)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as r:
                assert json.loads(r.read())["ok"]
    finally:
        api.close()
    server = [r for r in caplog.records if r.name.startswith("aiohttp")]
    assert not any(r.exc_info or r.levelno >= logging.ERROR for r in server), server[0]
    refused = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert 1 <= len(refused) <= REFUSALS_PER_MIN and "\n" not in "".join(refused), refused


def test_host_with_a_busy_dashboard_port_stops_cleanly(tmp_path):
    from empathy.host.session import store

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        rig = HostRig(tmp_path)
        rig.config.write_text(rig.config.read_text().replace('listen = "127.0.0.1:0"',
                                                             f'listen = "127.0.0.1:{port}"'))
        r = subprocess.run([sys.executable, "-m", "empathy.cli", "host", "run", "--config",
                            str(rig.config)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and f"dashboard cannot listen on 127.0.0.1:{port}" in r.stderr
    (db,) = store.sessions(tmp_path / "sessions")  # the session it had opened is closed
    assert store.info(db)["ended_utc"]


def test_health_needs_no_token_but_everything_else_does(rig):
    status, doc = rig.get("/api/v1/health")
    assert status == 200 and doc["ok"] and doc["api"] == 1
    for token in (None, "wrong-token"):
        with pytest.raises(urllib.error.HTTPError) as e:
            rig.get("/api/v1/state", token)
        e.value.close()  # the refusal holds the connection's socket
        assert e.value.code == 401
    status, doc = rig.post("/api/v1/control", b'{"action": "kill_switch"}', "wrong")
    assert status == 401
    # a refused control changed nothing
    assert rig.get("/api/v1/state", rig.token)[1]["operator"]["killed"] is False


def test_state_follows_the_seats_and_bad_controls_are_refused(rig):
    s = rig.wait_state(lambda s: len(s["seats"]) == 3 and s["audience"] and s["segment"]
                       and s["audience"]["seats_good"] == 3, what="3 good seats on screen")
    assert s["api"] == 1 and s["story"] == "Neon Rain"
    assert s["segment"]["id"] == "arrival" and s["grade"]["lut"] == "orange_haze"
    assert [u["unit"] for u in s["units"]] == [1, 2, 3]
    assert all(u["wire_version"] == 1 and u["contact"] and u["loss_pct"] == 0
               for u in s["units"])
    nd = s["next_decision"]
    assert nd["id"] == "first_turn" and set(nd["options"]) == {"chase", "hideout"}
    # seat values are ones we sent (as decoded: the wire's 1/127 step), whichever the host
    # had last (the newest sent was within 0.25 of it: 1.25 s of the feed's swing, which a
    # host or test stalled on a loaded machine can outrun)
    sent = {(smp.seat_id, round(smp.arousal, 3)) for _, smp in list(rig.sent)}
    for seat in s["seats"]:
        assert (seat["seat"], seat["arousal"]) in sent, seat
        assert seat["hr_bpm"] == pytest.approx(70 + seat["seat"], abs=0.01)
    later = rig.wait_state(lambda x: x["packets"]["accepted"] > s["packets"]["accepted"] + 30
                           and x["t_s"] > s["t_s"], what="live values to move on")
    assert later["curve"] and len(later["curve"]) >= len(s["curve"])

    for body, err in ((b"not json", "not JSON"), (b'{"action": "explode"}', "unknown action"),
                      (b'{"action": "force_branch", "option": "nowhere"}', "not an option"),
                      (b'{"action": "grade_strength", "strength": 7}', "within 0..1"),
                      (b'{"action": "freeze_learning"}', "does not learn"),
                      # "false" is a string, and bool("false") is True: it stopped the show
                      (b'{"action": "kill_switch", "on": "false"}', "true or false"),
                      (b'{"action": "kill_switch", "on": 0}', "true or false"),
                      (b'{"action": "force_branch", "option": ["chase"]}', "not an option"),
                      (b'{"action": "grade_strength", "strength": true}', "within 0..1")):
        status, doc = rig.post("/api/v1/control", body, rig.token)
        assert status == 400 and err in doc["error"], (body, doc)
    after = rig.get("/api/v1/state", rig.token)[1]["operator"]
    assert after["controls"] == [] and after["forced"] is None and after["grade_strength"] == 1
    assert after["killed"] is False


@pytest.fixture
def bandit_rig(tmp_path):
    r = HostRig(tmp_path, show={"policy": "bandit"}).start()
    yield r
    r.close()


def test_websocket_streams_state_and_controls_take_effect(bandit_rig):
    rig = bandit_rig
    decision, option, default = rig.forceable()

    async def session():
        ws_url = rig.url.replace("http", "ws").rstrip("/") + "/api/v1/live"
        async with websockets.connect(ws_url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": rig.token}))  # first message
            assert json.loads(await ws.recv()) == {"type": "auth", "ok": True}
            states, events = [], []

            async def until(pred, timeout_s, what):
                async def loop():
                    while True:
                        doc = json.loads(await ws.recv())
                        if doc["type"] == "state":
                            states.append(doc)
                        elif doc["type"] == "event":
                            events.append(doc)
                        if pred(doc):
                            return doc
                try:
                    return await asyncio.wait_for(loop(), timeout_s)
                except asyncio.TimeoutError:
                    raise AssertionError(f"no {what}; last state: "
                                         f"{json.dumps(states[-1:])[:2000]}") from None

            await until(lambda d: d["type"] == "state", 10, "state")
            await ws.send("not json")
            nack = await until(lambda d: d["type"] == "ack", 10, "refusal")
            await ws.send(json.dumps({"type": "control", "id": 9, "action": "force_branch",
                                      "option": "the moon"}))
            nack2 = await until(lambda d: d["type"] == "ack", 10, "refusal")
            assert not nack["ok"] and not nack2["ok"] and "not an option" in nack2["error"]
            await ws.send(json.dumps({"type": "control", "id": 1, "action": "force_branch",
                                      "option": option}))
            # Forced when its window closes, whatever the seats say.
            d = await until(lambda d: d["type"] == "event" and d["kind"] == "decision", 40,
                            "decision")
            assert d["data"]["decision"] == decision and d["data"]["chosen"] == option
            assert "forced" in d["data"]["reason"]
            # Kill switch after the decision: the queued branch is replaced by the default.
            await ws.send(json.dumps({"type": "control", "id": 2, "action": "kill_switch"}))
            d = await until(lambda d: d["type"] == "event" and d["kind"] == "decision", 20,
                            "kill switch decision")
            assert d["data"]["chosen"] == default and "kill switch" in d["data"]["reason"]
            # Grade strength while the next segment is already queued: it must reach that
            # segment too, not only the one on screen.
            await ws.send(json.dumps({"type": "control", "id": 3, "action": "grade_strength",
                                      "strength": 0.3}))
            ack = await until(lambda d: d["type"] == "ack" and d["id"] == 3, 10, "ack")
            assert ack["ok"], ack
            s = await until(lambda d: d["type"] == "state" and d["segment"]["id"] == default
                            and abs(d["grade"]["strength"] - 0.3) < 0.01,
                            30, "the default cut on screen, graded at 0.3")
            assert s["operator"]["killed"] is True
            await ws.send(json.dumps({"type": "control", "id": 4, "action": "freeze_learning"}))
            s = await until(lambda d: d["type"] == "state"
                            and len(d["operator"]["controls"]) == 4, 10, "freeze applied")
            # the bandit's memory file (under $XDG_STATE_HOME) now says frozen
            (memory,) = [p for p in (rig.tmp / "state").rglob("*.json")
                         if p.name not in ("intake.json", "show.json")]  # nor the host's
            assert json.loads(memory.read_text())["frozen"] is True
            assert [c["action"] for c in s["operator"]["controls"]] == [
                "force_branch", "kill_switch", "grade_strength", "learning"]
            assert all(c["by"].startswith("127.0.0.1") for c in s["operator"]["controls"])
            assert len({st["t_s"] for st in states}) > 5  # live: time moves on
            kinds = [e["kind"] for e in events]
            assert kinds.count("control") == 4 and "segment" in kinds
    asyncio.run(session())
    # every control is in the host's log with who sent it
    log = (rig.tmp / "host.stderr").read_text()
    assert log.count("operator control") == 4 and "control accepted" in log
