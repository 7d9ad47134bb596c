"""What `edge run --json` says of a UDP uplink is what the unit knows: the address it sent
to (discovery's answer for udp://auto), and whether the host was heard from (its verified
clock-sync replies); a datagram leaves whether or not anyone listens, so with no reply
`reached` is "unknown", never true. Real edge units, a real host intake, real mDNS."""

import json
import subprocess
import sys
import threading

from empathy.discovery import Announcement
from empathy.host.receive import Intake
from empathy.transports import open_receiver
from opshelp import free_port
from test_edge_uplink import edge_config


def run_edge(cfg, duration_s=3):
    p = subprocess.run([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                        str(cfg), "--duration", str(duration_s), "--json"],
                       capture_output=True, text=True, timeout=90)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    return json.loads(p.stdout)["uplink"]


def host(keys):
    """A host's intake answering clock sync on a real UDP port, in a thread."""
    rx = open_receiver("udp://0.0.0.0:0")
    intake, stop = Intake(keys.units, reply=rx.reply), threading.Event()

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
    port = free_port()
    cfg, _ = edge_config(tmp_path, f"udp://127.0.0.1:{port}")
    link = run_edge(cfg)
    assert link["sent"] > 20 and link["host_replies"] == 0
    assert link["reached"] == "unknown", link
    assert link["url"] == link["configured"] == f"udp://127.0.0.1:{port}"


def test_a_host_that_answers_is_reached_at_the_address_discovery_found(tmp_path):
    cfg, keys = edge_config(tmp_path, "udp://auto")
    rx, intake, close = host(keys)
    ann = Announcement(f"udp://0.0.0.0:{rx.port}", screen="uplinkjson")
    try:
        link = run_edge(cfg)
    finally:
        ann.close()
        close()
    assert intake.accepted > 20
    assert link["configured"] == "udp://auto"
    assert link["url"].startswith("udp://") and link["url"].endswith(f":{rx.port}"), link
    assert "auto" not in link["url"] and not link["url"].startswith("udp://0.")
    assert link["host_replies"] > 0 and link["reached"] is True, link
