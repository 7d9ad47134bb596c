"""The red team's target and its honest audience: a real `empathy host run` process (sample
story, file output, dashboard, session store, state folder) and in-process edge units that
sign real packets at 10 Hz, over UDP or through a real mosquitto. The attackers live in
the tests themselves: raw sockets, MQTT clients, HTTP and WebSocket clients.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import tomli_w

from empathy import wire
from empathy.clock import now_us
from polling import wait_for  # noqa: F401 (tests import it from here)

SAMPLE = Path(__file__).resolve().parents[2] / "host" / "sample" / "neon_rain.toml"
GOOD = wire.Flag.HR_OK | wire.Flag.FACE_OK | wire.Flag.CONTACT | wire.Flag.CALIBRATED
TOKEN = "red-team-operator-token-" + os.urandom(12).hex()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_story(tmp: Path) -> Path:
    story = tomllib.loads(SAMPLE.read_text())
    story["screenplay"] = str(SAMPLE.parent / story["screenplay"])
    path = tmp / "story.toml"
    path.write_text(tomli_w.dumps(story))
    return path


class Host:
    """`empathy host run` as systemd would run it (text logs on stderr, which tests read)."""

    def __init__(self, tmp: Path, listen: str, keys, seatmap: dict | None = None,
                 token: str = TOKEN, story: Path | None = None):
        from empathy.host.sample.render import ensure

        self.tmp, self.listen, self.keys, self.token = tmp, listen, keys, token
        keys.save(tmp / "host.keys.toml")
        self.sessions = tmp / "sessions"
        self.state_dir = tmp / "state"
        self.runs = 0
        self.cfg = {"keystore": str(tmp / "host.keys.toml"),
                    "story": str(story or sample_story(tmp)), "media_root": str(ensure()),
                    "frame_log": str(tmp / "frames.csv"), "state_dir": str(self.state_dir),
                    "show": {"listen": listen, "width": 160, "height": 96, "fps": 10.0,
                             "output": f"file:{tmp / 'screen.mp4'}"},
                    "session": {"dir": str(self.sessions)},
                    "dashboard": {"enabled": True, "listen": "127.0.0.1:0"}}
        if seatmap:
            self.cfg["seatmap"] = seatmap
        self.proc = self.url = None

    def start(self, wait: bool = True, args: tuple = ()) -> "Host":
        self.runs += 1
        config = self.tmp / "host.toml"
        config.write_text(tomli_w.dumps(self.cfg))
        self.err_path = self.tmp / f"host-{self.runs}.stderr"
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "empathy.cli", "--log-level", "info", "host", "run",
             "--config", str(config), *args], stdout=subprocess.PIPE, stderr=self.err, text=True,
            env={**os.environ, "EMPATHY_OPERATOR_TOKEN": self.token,
                 "XDG_STATE_HOME": str(self.tmp / "xdg")})
        if wait:
            self.url = wait_for(self._started, 90, "the host's dashboard")
        return self

    def _started(self):
        text = self.log()
        assert self.proc.poll() is None, text[-3000:]
        m = re.search(r"^dashboard: (http\S+)", text, re.M)
        return m and m.group(1)

    def log(self) -> str:
        return self.err_path.read_text()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def request(self, path: str, token: str | None = TOKEN, data: bytes | None = None,
                method: str = "GET"):
        """(status, headers, body) of one HTTP request to the dashboard listener."""
        req = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def state(self) -> dict:
        status, _, body = self.request("/api/v1/state", self.token)
        assert status == 200, body
        return json.loads(body)

    def wait_state(self, pred, timeout_s: float = 30.0, what: str = "") -> dict:
        last = {}

        def check():
            nonlocal last
            last = self.state()
            return last if pred(last) else None
        try:
            return wait_for(check, timeout_s, what, 0.2)
        except AssertionError:
            raise AssertionError(f"{what}: last state {json.dumps(last)[:2500]}") from None

    def stop(self, sig=signal.SIGTERM) -> dict | None:
        """Stop it (SIGTERM: cleanly, as systemd does; SIGKILL: a crash); the summary if
        it printed one."""
        if not self.alive():
            return None
        self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        self.err.close()
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return None


class Unit:
    """An honest edge unit: its seats at a steady arousal, 10 Hz, on the host's clock.
    `send(packet)` is its uplink (a UDP socket or an MQTT sender)."""

    def __init__(self, unit: int, seats, key: bytes, send, arousal: float = -0.5,
                 seq0: int = 0):
        self.unit, self.seats, self.key, self.send = unit, list(seats), key, send
        self.arousal, self.seq = arousal, seq0
        self.sent: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def packets(self) -> list[bytes]:
        out = []
        for seat in self.seats:
            out.append(wire.encode(wire.SeatSample(
                self.unit, seat, self.seq, now_us(), 70.0, 40.0, 3.5, self.arousal, 0.1, 3, 0.8,
                GOOD), self.key))
            self.seq += 1
        return out

    def _run(self):
        while not self._stop.is_set():
            for p in self.packets():
                self.send(p)
                self.sent.append(p)
            self._stop.wait(0.1)

    def start(self) -> "Unit":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def udp_send(port: int):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return lambda p: sock.sendto(p, ("127.0.0.1", port))


def run_capped(*argv, timeout: float = 30, memory: int = 1 << 30) -> subprocess.CompletedProcess:
    """`empathy ARGV` in its own process under a memory cap (a file read whole from
    /dev/zero ends there, not in the machine's swap); still running at `timeout` fails the
    test in one line."""
    import pytest

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        return subprocess.run([sys.executable, "-m", "empathy.cli", *map(str, argv)],
                              capture_output=True, text=True, timeout=timeout,
                              preexec_fn=cap)
    except subprocess.TimeoutExpired:
        pytest.fail(f"empathy {' '.join(map(str, argv))}: still running after {timeout} s")
