"""Screen cues: signed by the host, fresh and moving forward, or refused (a replayed cue is
refused)."""

import socket
import time

from empathy import wire
from empathy.clock import now_us
from empathy.edge.screen import ScreenState

HOST = wire.CueSigner(b"s" * 32)


def _send(port, cue, signer=HOST):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(wire.encode_cue(cue, signer), ("127.0.0.1", port))
    s.close()


def _settle(screen, counted):
    end = time.monotonic() + 3
    while time.monotonic() < end and counted() == 0:
        time.sleep(0.02)


def test_fresh_cues_are_taken_replayed_and_forged_ones_refused():
    screen = ScreenState(0, HOST.public, host_now=now_us)
    try:
        _send(screen.port, wire.ScreenCue(5, now_us(), "chase", 1500, 0.6))
        _settle(screen, lambda: screen.last is not None)
        assert screen.now()[0] == "chase" and abs(screen.now()[2] - 0.6) < 1e-3

        old = wire.ScreenCue(4, now_us() - 10_000_000, "dawn", 0, 0.9)  # recorded earlier
        _send(screen.port, old)
        _settle(screen, lambda: screen.stale)
        assert screen.stale == 1 and screen.now()[0] == "chase"

        _send(screen.port, wire.ScreenCue(5, now_us(), "dawn", 0, 0.9))  # same seq again
        _settle(screen, lambda: screen.stale - 1)
        assert screen.stale == 2 and screen.now()[0] == "chase"

        _send(screen.port, wire.ScreenCue(6, now_us(), "dawn", 0, 0.9),
              signer=wire.CueSigner(b"x" * 32))
        _settle(screen, lambda: screen.rejected)
        assert screen.rejected == 1 and screen.now()[0] == "chase"

        _send(screen.port, wire.ScreenCue(6, now_us(), "dawn", 100, 0.9))
        _settle(screen, lambda: screen.last.seq == 6)
        assert screen.now()[0] == "dawn"
    finally:
        screen.close()


def test_a_flood_of_forged_cues_costs_a_bounded_number_of_signature_checks():
    """A signature check costs tens of HMACs: a unit checks at most CHECKS_PER_S a second
    (plus one second's burst) and sheds the rest unchecked, counted; the host's cues are
    taken again once the flood stops."""
    from empathy.edge.screen import CHECKS_PER_S

    screen = ScreenState(0, HOST.public, host_now=now_us)
    forger = wire.CueSigner(b"f" * 32)
    flood = [wire.encode_cue(wire.ScreenCue(100 + i, now_us(), "forged", 0, 1.0), forger)
             for i in range(3000)]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        t0 = time.monotonic()
        for p in flood:
            s.sendto(p, ("127.0.0.1", screen.port))

        def counted():
            return screen.rejected + screen.taken + screen.stale + screen.shed
        last = -1
        while counted() != last:  # until the listener has drained its socket
            last = counted()
            time.sleep(0.3)
        elapsed = time.monotonic() - t0
        assert screen.taken == 0 and screen.shed > 0
        assert screen.rejected <= CHECKS_PER_S * (elapsed + 1) + 1, (screen.rejected, elapsed)
        time.sleep(1.0)  # the budget refills
        _send(screen.port, wire.ScreenCue(7, now_us(), "chase", 0, 0.5))
        _settle(screen, lambda: screen.taken)
        assert screen.now()[0] == "chase"
    finally:
        s.close()
        screen.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_unit_hears_cues_from_another_machine_only_where_it_listens_for_them(tmp_path):
    """Found in review: the unit's cue port listened on 127.0.0.1 whatever the config said,
    so a cinema host on another machine (`cue_targets = ["10.0.0.21:47200"]`) reached no
    unit. Two real `edge run` units; cues sent to 127.0.0.2, an address that is this
    machine's but not the loopback one a default unit binds: only the unit with
    `cue_listen = "0.0.0.0"` takes them."""
    import json
    import subprocess
    import sys

    import tomli_w
    from empathy.keys import Keystore

    keys = Keystore.new([1, 2])
    signer, procs, ports = wire.CueSigner(keys.cue_signing), [], {}
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))  # the units' uplink: nobody reads it here
    for unit, listen in ((1, "0.0.0.0"), (2, None)):
        keys.for_unit(unit).save(tmp_path / f"u{unit}.keys.toml")
        ports[unit] = _free_port()
        cfg = {"unit_id": unit, "uplink": f"udp://127.0.0.1:{sink.getsockname()[1]}",
               "keystore": str(tmp_path / f"u{unit}.keys.toml"), "baseline_s": 1.0,
               "faces": False, "cue_port": ports[unit],
               "seats": [{"seat_id": 10 + unit, "source": f"sim://seat?seed={unit}"}]}
        if listen:
            cfg["cue_listen"] = listen
        (tmp_path / f"u{unit}.toml").write_text(tomli_w.dumps(cfg))
        procs.append(subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run",
                                       "--config", str(tmp_path / f"u{unit}.toml"),
                                       "--duration", "4", "--json"],
                                      stdout=subprocess.PIPE, text=True))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        seq = 0
        while any(p.poll() is None for p in procs):
            for unit in (1, 2):
                s.sendto(wire.encode_cue(wire.ScreenCue(seq, now_us(), "dawn", 0, 0.7), signer),
                         ("127.0.0.2", ports[unit]))
            seq += 1
            time.sleep(0.1)
    stats = {}
    for unit, p in zip((1, 2), procs):
        out, _ = p.communicate(timeout=10)
        assert p.returncode == 0
        stats[unit] = json.loads(out)
    sink.close()
    assert stats[1]["cues_taken"] > 10 and stats[1]["cues_rejected"] == 0, stats[1]
    assert stats[2]["cues_taken"] == 0  # the default: this machine's loopback only


def test_a_cue_listen_address_that_is_not_one_is_refused(tmp_path):
    import pytest
    from empathy.config import ConfigError, from_toml
    from empathy.edge.runtime import EdgeConfig

    (tmp_path / "edge.toml").write_text('unit_id = 1\ncue_listen = "every interface"\n')
    with pytest.raises(ConfigError, match="not an IP address"):
        from_toml(EdgeConfig, tmp_path / "edge.toml")
