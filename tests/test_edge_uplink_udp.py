"""What `edge run --json` says of a UDP uplink is what the unit knows: the address it sent
to (discovery's answer for udp://auto), and whether the host was heard from (its verified
clock-sync replies); a datagram leaves whether or not anyone listens, so with no reply
`reached` is "unknown", never true. Real edge units, a real host intake, real mDNS."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time

from empathy.discovery import Announcement
from empathy.host.receive import Intake
from empathy.transports import open_receiver
from test_edge_uplink import edge_config


def run_edge_until(cfg, done, limit_s=60):
    """A unit run till `done()` holds (not for a fixed 3 s: beside 4 workers and 2 busy
    loops a 3-s run sent 13 datagrams), then ended as a show ends it (SIGTERM)."""
    p = subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                          str(cfg), "--duration", "120", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + limit_s
        while not done() and time.monotonic() < end and p.poll() is None:
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0 and "Traceback" not in err, err[-800:]
    return json.loads(out)["uplink"]


def host(keys):
    """A host's intake answering clock sync on a real UDP port, in a thread."""
    rx = open_receiver("udp://0.0.0.0:0")
    rx.replies, send = 0, rx.reply

    def reply(*args):  # counted: the unit must have had one before it is ended
        rx.replies += 1
        return send(*args)

    intake, stop = Intake(keys.units, reply=reply), threading.Event()

    def serve():
        while not stop.is_set():
            intake.feed(rx.recv_batch(0.05))

    t = threading.Thread(target=serve, daemon=True)
    t.start()

    def close():
        stop.set()
        t.join(2)
        rx.close()
    return rx, intake, close


def test_nobody_listening_on_udp_is_not_reached_but_unknown(tmp_path):
    """Till 20 datagrams came (a socket that never answers: the unit cannot tell it from
    none), not for 3 s: a 3-s run sent 13 beside 4 workers and 2 busy loops."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.setblocking(False)
        port, got = silent.getsockname()[1], [0]

        def came() -> bool:  # 21 datagrams, read as they come
            try:
                while True:
                    silent.recv(2048)
                    got[0] += 1
            except BlockingIOError:
                return got[0] > 20

        cfg, _ = edge_config(tmp_path, f"udp://127.0.0.1:{port}")
        link = run_edge_until(cfg, came)
    assert got[0] > 20, got
    assert link["sent"] > 20 and link["host_replies"] == 0
    assert link["reached"] == "unknown", link
    assert link["url"] == link["configured"] == f"udp://127.0.0.1:{port}"


def test_a_host_that_answers_is_reached_at_the_address_discovery_found(tmp_path):
    cfg, keys = edge_config(tmp_path, "udp://auto")
    rx, intake, close = host(keys)
    ann = Announcement(f"udp://0.0.0.0:{rx.port}", keys.cue_signing, screen="uplinkjson")
    try:
        link = run_edge_until(cfg, lambda: intake.accepted > 20 and rx.replies > 0)
    finally:
        ann.close()
        close()
    assert intake.accepted > 20
    assert link["configured"] == "udp://auto"
    assert link["url"].startswith("udp://") and link["url"].endswith(f":{rx.port}"), link
    assert "auto" not in link["url"] and not link["url"].startswith("udp://0.")
    assert link["host_replies"] > 0 and link["reached"] is True, link
