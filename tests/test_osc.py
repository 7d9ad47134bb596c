"""OSC output from a real host to a real OSC receiver (python-osc server on 127.0.0.1)."""

import json
import threading
import time

import cv2
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer

from empathy.host.osc import OscConfig
from empathy.host.session import store
from test_api import HostRig


@pytest.fixture
def receiver():
    got, lock = [], threading.Lock()

    def on_message(address, *args):
        with lock:
            got.append((address, args))

    d = Dispatcher()
    d.set_default_handler(on_message)
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), d)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield server.server_address[1], got
    server.shutdown()
    server.server_close()


def wait_for(got, pred, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        hit = [m for m in list(got) if pred(m)]
        if hit:
            return hit[0]
        time.sleep(0.1)
    raise AssertionError(f"no such OSC message; got {sorted({a for a, _ in got})}")


def test_audience_segments_grade_and_decisions_reach_an_osc_receiver(tmp_path, receiver):
    port, got = receiver
    rig = HostRig(tmp_path, osc={"targets": [f"127.0.0.1:{port}"], "prefix": "/cinema1"}
                  ).start()
    try:
        a = wait_for(got, lambda m: m[0] == "/cinema1/audience" and m[1][4] == 3)[1]
        sent = [s.arousal for _, s in rig.sent]
        assert len(a) == 7 and a[5] == 3 and min(sent) - 1e-6 <= a[0] <= max(sent) + 1e-6
        assert wait_for(got, lambda m: m[0] == "/cinema1/segment")[1] == ("arrival",)
        assert wait_for(got, lambda m: m[0] == "/cinema1/grade")[1] == ("orange_haze", 1.0)
        decision, option, _ = rig.forceable()
        body = json.dumps({"action": "force_branch", "option": option}).encode()
        assert rig.post("/api/v1/control", body, rig.token)[0] == 200
        c = wait_for(got, lambda m: m[0] == "/cinema1/control")[1]
        assert c[:2] == ("force_branch", option) and c[2].startswith("127.0.0.1")
        d = wait_for(got, lambda m: m[0] == "/cinema1/decision")[1]
        assert d[:3] == (decision, option, 0) and "forced" in d[3]
    finally:
        rig.close()
    # every audience state the host recorded went out over OSC, with the same numbers
    # SIGTERM (what systemd sends) ended the show cleanly: exit 0, session closed, MP4 whole
    assert rig.proc.returncode == 0
    (db,) = store.sessions(tmp_path / "sessions")
    assert store.info(db)["ended_utc"]
    frames = json.loads(rig.stdout)["frames_rendered"]
    video = cv2.VideoCapture(str(tmp_path / "screen.mp4"))
    assert frames > 0 and abs(int(video.get(cv2.CAP_PROP_FRAME_COUNT)) - frames) <= 1
    _, events = store.read(db, "events")
    states = [json.loads(data) for _, kind, data in events if kind == "state"]
    # per-seat messages are opt-in (`seats = true`): none went out without it
    assert not [addr for addr, _ in got if addr.startswith("/cinema1/seat/")]
    audience = [args for addr, args in got if addr == "/cinema1/audience"]
    arousal = [args[0] for addr, args in got if addr == "/cinema1/arousal"]
    assert len(states) >= 5 and len(audience) == len(states) == len(arousal)
    for s, a, ar in zip(states, audience, arousal):
        assert a[0] == pytest.approx(s["arousal"], abs=1e-6) == ar
        assert a[2] == pytest.approx(s["valence"], abs=1e-6) and a[4] == s["seats_good"]


def test_bad_osc_config_is_refused():
    from empathy.config import ConfigError, from_dict

    for bad in ({"targets": ["nohost"]}, {"targets": ["h:99999"]}, {"prefix": "empathy"}):
        with pytest.raises(ConfigError):
            from_dict(OscConfig, bad)


def test_per_seat_messages_only_when_asked_for(receiver):
    """`seats = true` sends each seat's readings; without it, none (docs/privacy.md)."""
    from empathy import wire
    from empathy.host.osc import OscOutput

    port, got = receiver
    samples = [wire.SeatSample(1, 4711, 1, 1000, 72.0, arousal=0.25, valence=-0.5, flags=3)]
    for cfg in (OscConfig(targets=[f"127.0.0.1:{port}"]),
                OscConfig(targets=[f"127.0.0.1:{port}"], prefix="/on", seats=True)):
        out = OscOutput(cfg)
        out("samples", samples)
        for c in out.clients:  # the host keeps its one for the show; the test hangs up
            c.close()
    m = wait_for(got, lambda m: m[0] == "/on/seat/4711", timeout_s=5)[1]
    assert m == pytest.approx((0.25, -0.5, 72.0, 3), abs=1e-3)
    assert [a for a, _ in got] == ["/on/seat/4711"]
