"""Shared rig for the fault-injection suite: a real cinema in miniature.

`Cinema` runs `empathy host run` (sample story, file output, dashboard, session store) and
real `empathy edge run` units on simulated seats, all as separate processes, optionally
with the UDP impairment proxy (`impair.py`) between units and host. Faults are injected
from outside (signals, deleted files, a full filesystem, a lossy link) and the checks
below look only at what a cinema would: the frame log and screen.mp4, the session store,
and the operator API (GET /api/v1/state, WebSocket /api/v1/live events).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
import tomli_w

from empathy import wire
from empathy.host.player import framelog
from empathy.host.session import store
from empathy.keys import Keystore
from empathy.sim import SAMPLE_IMPACT
from polling import wait_for  # noqa: F401 (the fault tests import it from here)

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parents[1] / "host" / "sample"
FPS = 15.0
BLACK_LUMA = 8.0  # mean luma (0..255) under this is a black frame (the sample's darkest: ~17)
HOLD_S = 1.0  # the player may hold its last frame this long when nothing can follow


def free_port(kind=socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EventTap:
    """Every event the operator's WebSocket (/api/v1/live) pushes, with its arrival time."""

    def __init__(self, url: str, token: str):
        from websockets.sync.client import connect

        ws_url = url.replace("http://", "ws://").rstrip("/") + "/api/v1/live"
        self.ws = connect(ws_url, open_timeout=20)
        self.auth = json.dumps({"type": "auth", "token": token})  # first message, never the URL
        self.events: list[tuple[float, dict]] = []
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self):
        try:
            with self.ws:
                self.ws.send(self.auth)
                for msg in self.ws:
                    doc = json.loads(msg)
                    if doc.get("type") == "event":
                        self.events.append((time.monotonic(), doc))
        except Exception:
            pass  # the host went away (a fault under test) or we closed

    def health(self, event: str, after: float = 0.0) -> list[dict]:
        return [d["data"] for t, d in list(self.events)
                if t >= after and d["kind"] == "health" and d["data"].get("event") == event]

    def close(self):
        self.ws.close()
        self._t.join(5)


class Cinema:
    """Host + edge units (+ impairment proxy) as real processes in `tmp`."""

    def __init__(self, tmp: Path, units: int = 2, proxy: dict | None = None,
                 seat_sources: dict[int, str] | None = None, session_dir: Path | None = None,
                 copy_media: bool = False, link: str = "udp"):
        from empathy.host.sample.render import ensure

        self.tmp, self.units = tmp, units
        self.keys = Keystore.new(range(1, units + 1))
        self.keys.save(tmp / "host.keys.toml")
        media = Path(ensure())
        if copy_media:  # the test will damage these files: work on a copy
            shutil.copytree(media, tmp / "media_root")
            media = tmp / "media_root"
        self.media_root = media
        story = tomllib.loads((SAMPLE / "neon_rain.toml").read_text())
        for d in story["decisions"].values():  # decide early: every test sees a switch
            d["window_s"] = [0.5, 3.0]
        story["screenplay"] = str(SAMPLE / story["screenplay"])
        (tmp / "story.toml").write_text(tomli_w.dumps(story))
        self.port = free_port()
        self.token = "fault-" + os.urandom(16).hex()
        self.session_dir = Path(session_dir or tmp / "sessions")
        self.seat_sources = seat_sources or {}
        self.proxy_args = proxy
        self.proxy = self.host = None
        self.edges: dict[int, subprocess.Popen] = {}
        self.runs = 0  # host starts: each writes its own frames-N.csv and screen-N.mp4
        self.url = None
        self.tap: EventTap | None = None
        self.broker = None
        if link == "mqtt":  # units publish through a private mosquitto, the host subscribes
            from empathy.transports.mqtt import LocalBroker

            self.broker = LocalBroker(tmp / "mqtt")
            self.listen = self.broker.url("faults")
        else:
            self.listen = f"udp://127.0.0.1:{self.port}"
        self.uplink = self.listen

    # -- processes ----------------------------------------------------------------------
    def start(self):
        if self.proxy_args is not None:
            self.start_proxy()
        self.start_host()
        for u in range(1, self.units + 1):
            self.start_unit(u)
        return self

    def start_proxy(self):
        ready = self.tmp / "proxy.port"
        args = [f"--{k}={v}" for k, v in self.proxy_args.items()]
        self.proxy = subprocess.Popen(
            [sys.executable, str(HERE / "impair.py"), f"--to=127.0.0.1:{self.port}",
             f"--ready={ready}", f"--log={self.tmp / 'sent.log'}", *args])
        port = wait_for(lambda: ready.exists() and ready.read_text(), 30, "the proxy")
        self.uplink = f"udp://127.0.0.1:{port}"

    def frames(self, run: int | None = None) -> Path:
        return self.tmp / f"frames-{run or self.runs}.csv"

    def screen(self, run: int | None = None) -> Path:
        return self.tmp / f"screen-{run or self.runs}.mp4"

    def start_host(self):
        self.runs += 1
        cfg = {"keystore": str(self.tmp / "host.keys.toml"), "story": str(self.tmp / "story.toml"),
               "media_root": str(self.media_root), "frame_log": str(self.frames()),
               "show": {"listen": self.listen, "width": 320, "height": 180,
                        "fps": FPS, "output": f"file:{self.screen()}", "policy": "arc"},
               "session": {"dir": str(self.session_dir)},
               "dashboard": {"enabled": True, "listen": "127.0.0.1:0"}}
        config = self.tmp / "host.toml"
        config.write_text(tomli_w.dumps(cfg))
        err_path = self.tmp / f"host-{self.runs}.stderr"
        self.host_err = err_path
        with open(err_path, "w") as err:
            self.host = subprocess.Popen(
                [sys.executable, "-m", "empathy.cli", "--log-level", "info", "--log-json",
                 "host", "run", "--config", str(config)],
                stdout=subprocess.DEVNULL, stderr=err,
                env={**os.environ, "EMPATHY_OPERATOR_TOKEN": self.token,
                     "XDG_STATE_HOME": str(self.tmp / "state")})

        def started():
            assert self.host.poll() is None, err_path.read_text()[-3000:]
            m = re.search(r"^dashboard: (http\S+)", err_path.read_text(), re.M)
            return m and m.group(1)

        self.url = wait_for(started, 90, "the host's dashboard")
        if self.tap:
            self.tap.close()
        self.tap = EventTap(self.url, self.token)
        return self.host

    def start_unit(self, unit: int):
        src = self.seat_sources.get(unit) or (
            f"sim://seat?seed={unit}&impact={SAMPLE_IMPACT}")
        cfg = {"unit_id": unit, "uplink": self.uplink,
               "keystore": str(self.tmp / f"unit{unit}.keys.toml"), "rate_hz": 10.0,
               "baseline_s": 2.0, "faces": src.startswith("camera:"),
               "seats": [{"seat_id": 100 + unit, "source": src}]}
        self.keys.for_unit(unit).save(self.tmp / f"unit{unit}.keys.toml")
        path = self.tmp / f"unit{unit}.toml"
        path.write_text(tomli_w.dumps(cfg))
        log = open(self.tmp / f"unit{unit}.log", "a")
        self.edges[unit] = subprocess.Popen(
            [sys.executable, "-m", "empathy.cli", "--log-json", "--log-level", "info", "edge",
             "run", "--config", str(path)], stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_NUM_THREADS": "1",
                 "XDG_STATE_HOME": str(self.tmp / "state")})  # its sequence file
        log.close()
        return self.edges[unit]

    def kill(self, proc: subprocess.Popen) -> float:
        """SIGKILL: no goodbye, no flush. Returns when it happened (monotonic)."""
        proc.send_signal(signal.SIGKILL)
        at = time.monotonic()
        proc.wait(30)
        return at

    def stop_host(self) -> None:
        """SIGTERM, as systemd stops it: the show ends cleanly and screen.mp4 is final."""
        if self.tap:
            self.tap.close()  # its events stay readable
        if self.host and self.host.poll() is None:
            self.host.send_signal(signal.SIGTERM)
            try:
                self.host.wait(60)
            except subprocess.TimeoutExpired:
                self.host.kill()
                self.host.wait()
                raise AssertionError("host did not stop on SIGTERM")

    def close(self) -> None:
        for p in self.edges.values():
            if p.poll() is None:
                p.terminate()
        for p in self.edges.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        try:
            self.stop_host()
        finally:
            if self.host and self.host.poll() is None:
                self.host.kill()
                self.host.wait()
            if self.proxy and self.proxy.poll() is None:
                self.proxy.kill()
                self.proxy.wait()
            if self.broker:
                self.broker.stop()

    # -- what the operator sees ------------------------------------------------------------
    def edge_log(self, unit: int, msg: str, after_wall: float = 0.0) -> list[dict]:
        """A unit's structured log records with this message, logged after `after_wall`."""
        out = []
        for line in (self.tmp / f"unit{unit}.log").read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # GStreamer or D-Bus chatter on stderr
            if rec.get("msg") == msg and rec.get("t", 0) >= after_wall:
                out.append(rec)
        return out

    def state(self) -> dict:
        req = urllib.request.Request(self.url.rstrip("/") + "/api/v1/state",
                                     headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def unit_state(self, unit: int) -> dict | None:
        return next((u for u in self.state()["units"] if u["unit"] == unit), None)

    def hearing(self, unit: int) -> bool:
        """The API shows the unit talking (heard within the last half second) and its seat's
        samples arriving (not only its heartbeat)."""
        state = self.state()
        u = next((u for u in state["units"] if u["unit"] == unit), None)
        return bool(u and u["silent_s"] < 0.5 and any(
            s["unit"] == unit and s["age_s"] < 1.0 for s in state["seats"]))

    def wait_all_heard(self, timeout_s: float = 90.0) -> None:
        wait_for(lambda: all(self.hearing(u) for u in range(1, self.units + 1)), timeout_s,
                 "every unit heard by the host")

    def time_to_hear(self, unit: int, since: float, timeout_s: float = 30.0) -> float:
        """Seconds from `since` until the API shows `unit` talking again."""
        wait_for(lambda: self.hearing(unit), timeout_s, f"unit {unit} heard again", 0.05)
        return time.monotonic() - since

    def film_s(self, run: int | None = None) -> float:
        """Seconds of film the screen has shown so far in this host run."""
        return len(frame_rows(self.frames(run))) / FPS

    def wait_film_s(self, seconds: float, run: int | None = None) -> None:
        """Wait until the screen has shown `seconds` of film in this host run."""
        need = int(seconds * FPS)
        wait_for(lambda: len(frame_rows(self.frames(run))) >= need, seconds * 4 + 60,
                 f"{seconds} s of film")

    # -- what was sent and what was recorded ---------------------------------------------
    def sent(self) -> list[tuple[float, wire.SeatSample]]:
        """Samples the proxy delivered to the host, with when (needs the proxy)."""
        out = []
        for line in (self.tmp / "sent.log").read_text().splitlines():
            t, _, hexa = line.partition(" ")
            try:
                s = wire.decode(bytes.fromhex(hexa), self.keys.units)
            except (wire.WireError, ValueError):
                continue  # heartbeats and clock sync, or a torn last line
            out.append((float(t), s))
        return out

    def wait_sent(self, n: int, unit: int | None = None, timeout_s: float = 60) -> None:
        wait_for(lambda: sum(unit in (None, s.unit_id) for _, s in self.sent()) >= n,
                 timeout_s, f"{n} samples delivered", 0.2)

    def sessions(self) -> list[Path]:
        return store.sessions(self.session_dir)


def frame_rows(path: Path) -> list[dict]:
    try:
        return framelog.read(path)
    except (OSError, ValueError):
        return []


def assert_screen_alive(frames_csv: Path, screen_mp4: Path | None = None) -> dict:
    """The screen never froze and never went black.

    Frame log: indices contiguous (no frame missing), each frame shown within a generous
    2 s of the one before, and no picture held longer than the player's HOLD_S. Screen file
    (when given, and finalised): every frame's mean luma above BLACK_LUMA, and as many
    frames as the log."""
    rows = frame_rows(frames_csv)
    assert len(rows) > FPS, f"{frames_csv}: only {len(rows)} frames"
    s = framelog.summarise(frames_csv, FPS)
    assert s["dropped"] == 0, f"frames missing from the screen: {s}"
    wall = np.array([float(r["wall_s"]) for r in rows])
    assert np.diff(wall).max() < 2.0, f"screen stalled {np.diff(wall).max():.2f} s"
    held = longest = 0
    for a, b in zip(rows, rows[1:]):
        same = (a["clip_id"], a["clip_t_s"]) == (b["clip_id"], b["clip_t_s"])
        held = held + 1 if same else 0
        longest = max(longest, held)
    assert longest <= HOLD_S * FPS + 1, f"picture frozen for {longest} frames"
    out = {"frames": len(rows), "longest_hold_frames": longest, "clips": s["clips"]}
    if screen_mp4 is not None:
        cap = cv2.VideoCapture(str(screen_mp4))
        lumas = []
        while True:
            ok, img = cap.read()
            if not ok:
                break
            lumas.append(float(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).mean()))
        cap.release()
        assert len(lumas) >= len(rows) - 1, f"screen.mp4 has {len(lumas)} of {len(rows)} frames"
        dark = [i for i, v in enumerate(lumas) if v < BLACK_LUMA]
        assert not dark, f"black frames at {dark[:10]} (luma {min(lumas):.1f})"
        out["min_luma"] = round(min(lumas), 1)
    return out


def recorded(db: Path) -> list[tuple]:
    return store.read(db, "samples")[1]


def assert_recorded(cinema: Cinema, db: Path, until: float, since: float = 0.0) -> dict:
    """Every sample delivered to the host between `since` and 1 s before `until` is in the
    session. Stored unit ids are per-session stand-ins: samples are matched by seat (each
    unit here carries its own seat) and sequence number."""
    fields = store.SAMPLE_FIELDS
    rows = {(r[fields.index("seat_id")], r[fields.index("seq")]) for r in recorded(db)}
    sent = [(t, s) for t, s in cinema.sent() if since <= t < until]
    old = [(t, s) for t, s in sent if t < until - 1.0]
    assert len(old) > 20, f"only {len(old)} samples delivered: nothing to check"
    lost = [s for t, s in old if (s.seat_id, s.seq) not in rows]
    assert not lost, f"{len(lost)} of {len(old)} samples delivered > 1 s before are not recorded"
    newest = max((t for t, s in sent if (s.seat_id, s.seq) in rows), default=0.0)
    return {"delivered": len(sent), "recorded": len(rows), "unrecorded_tail_s":
            round(until - newest, 3)}


def seat_gaps_s(db: Path, since_us: int = 0) -> dict[int, float]:
    """Per seat: the longest gap between recorded samples (host clock), after `since_us`."""
    fields = store.SAMPLE_FIELDS
    by: dict[int, list[int]] = {}
    for r in recorded(db):
        if r[fields.index("ts_us")] >= since_us:
            by.setdefault(r[fields.index("seat_id")], []).append(r[fields.index("ts_us")])
    return {seat: round(float(np.diff(sorted(ts)).max()) / 1e6, 3) if len(ts) > 1 else 1e9
            for seat, ts in by.items()}


@pytest.fixture
def cinema_factory(tmp_path):
    made = []

    def make(**kw) -> Cinema:
        c = Cinema(tmp_path, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
