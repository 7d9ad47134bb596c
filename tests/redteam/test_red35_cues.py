"""Red team, session 35: the host's screen cues (host/cue_send.py) when a target's name meets
a DNS that does not answer, and when a target is a broadcast address."""

from __future__ import annotations

import logging
import socket
import threading

from empathy.host.cue_send import CueSender


def _receiver() -> socket.socket:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(30)
    return rx


def test_a_name_the_dns_does_not_answer_never_holds_the_shows_loop(monkeypatch):
    """The cue was resolved on the show's loop, at every cue while unresolved: a name whose
    DNS does not answer held the loop (and the other units' cues) for the resolver's
    timeout each time. The resolver here is a DNS server that answers when told to."""
    answer, asked = threading.Event(), threading.Event()
    real = socket.getaddrinfo

    def dns(host, *a, **kw):
        if host == "unit1.cinema.lan":
            asked.set()
            answer.wait(120)
            host = "127.0.0.1"
        return real(host, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", dns)
    named, numeric = _receiver(), _receiver()
    cues = CueSender([f"unit1.cinema.lan:{named.getsockname()[1]}",
                      f"127.0.0.1:{numeric.getsockname()[1]}"])
    try:
        sent = threading.Thread(target=lambda: [cues.send(b"cue%d" % i) for i in range(10)],
                                daemon=True)
        sent.start()
        sent.join(60)
        held = sent.is_alive()
        assert asked.wait(60)
        answer.set()
        assert not held, "a cue's send waited for the DNS"
        assert [numeric.recv(64) for _ in range(10)] == [b"cue%d" % i for i in range(10)]
        got = b""
        for i in range(10, 3000):  # once its name is found, its cues come
            cues.send(b"cue%d" % i)
            named.settimeout(0.01)
            try:
                got = named.recv(64)
                break
            except TimeoutError:
                continue
        assert got.startswith(b"cue")
    finally:
        answer.set()
        cues.close()
        named.close()
        numeric.close()


def test_a_target_cues_cannot_reach_is_said_once(caplog):
    """A subnet's broadcast address (the kernel refuses it without SO_BROADCAST): every cue
    to it failed, and nothing was said. A multicast group (no unit joins one): every send
    succeeded and no unit heard it. 0.0.0.0 and 255.255.255.255 are no unit's either."""
    targets = ["127.255.255.255:9", "239.1.2.3:9", "0.0.0.0:9", "255.255.255.255:9"]
    cues = CueSender(targets)
    try:
        with caplog.at_level(logging.WARNING, "empathy.host.cues"):
            for _ in range(20):
                cues.send(b"cue")
    finally:
        cues.close()
    said = {t: [r.getMessage() for r in caplog.records if t in r.getMessage()] for t in targets}
    assert all(len(s) == 1 for s in said.values()), said
    assert "broadcast" in said["127.255.255.255:9"][0]
    assert all("no unit's address" in said[t][0] for t in targets[1:]), said
