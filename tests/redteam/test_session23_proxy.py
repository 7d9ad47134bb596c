"""Red team, session 23: the dashboard behind a reverse proxy (nginx, Caddy on the host).

Every client of a proxy reaches the dashboard from the proxy's address, so they all shared
one machine's MAX_PER_PEER (16) connections and MAX_PENDING_PER_PEER WebSockets: a 17th
viewer was reset, and one viewer's waiting sockets locked the others out. The proxy's
X-Forwarded-For names the client, but a header is anyone's to write: it is honoured only
from the addresses in `dashboard.trusted_proxies` (off by default), and then only its
rightmost address that is not a listed proxy (what the proxy itself appended).

The proxy here is a real client on 127.0.0.3 speaking HTTP/1.1 with the header a proxy
adds; viewers elsewhere are 127.0.0.2 and 127.0.0.4 (any 127/8 address is this machine)."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from contextlib import ExitStack

import pytest

from empathy.host.dashboard import gate
from empathy.host.dashboard.api import Api
from empathy.host.dashboard.live import Live
from test_baseline_wait import _show
from test_dashboard_stop_flood import _ws_upgrade

PROXY, VIEWER, OUTSIDER = "127.0.0.3", "127.0.0.2", "127.0.0.4"
TOKEN = "session-23-operator-token-" + "p" * 16


def _dashboard(tmp_path, proxies=()):
    show, _ = _show(tmp_path)
    api = Api(show, Live(show), "127.0.0.1:0", token=TOKEN, trusted_proxies=list(proxies))
    api.start()
    return show, api, int(api.url.rsplit(":", 1)[1].strip("/"))


def _ask(port: int, stack: ExitStack, src: str, head: bytes) -> bytes:
    """One connection from `src`, one request; the answer's first line ("reset" if the
    dashboard closed it unanswered). The connection stays open (a proxy's keep-alive)."""
    s = stack.enter_context(socket.socket())
    s.bind((src, 0))
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(head)
        return s.recv(4096).split(b"\r\n", 1)[0] or b"reset"
    except ConnectionError:
        return b"reset"


def _get(path: str, xff: str | None, token: str | None = None) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: booth\r\n"
            + (f"X-Forwarded-For: {xff}\r\n" if xff is not None else "")
            + (f"Authorization: Bearer {token}\r\n" if token else "") + "\r\n").encode()


def _refused_from(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused ")]


def test_a_trusted_proxy_s_viewers_are_each_their_own_peer(tmp_path, caplog):
    """Before: the 17th connection through the proxy was reset (24 viewers: 16 answered),
    and a viewer's 5 waiting WebSockets took the proxy's 4 places from every other viewer."""
    caplog.set_level(logging.INFO, "empathy")
    show, api, port = _dashboard(tmp_path, [PROXY])
    try:
        with ExitStack() as stack:
            got = [_ask(port, stack, PROXY, _get("/api/v1/health", f"10.0.0.{i}"))
                   for i in range(24)]
            assert got == [b"HTTP/1.1 200 OK"] * 24, got
        with ExitStack() as stack:
            def upgrade(client):
                head = _ws_upgrade("127.0.0.1", port, None).replace(
                    b"\r\n\r\n", f"\r\nX-Forwarded-For: {client}\r\n\r\n".encode(), 1)
                return _ask(port, stack, PROXY, head)
            one = [upgrade("10.0.0.1") for _ in range(gate.MAX_PENDING_PER_PEER + 1)]
            assert one.count(b"HTTP/1.1 101 Switching Protocols") == gate.MAX_PENDING_PER_PEER
            assert upgrade("10.0.0.2") == b"HTTP/1.1 101 Switching Protocols"
        assert any("from 10.0.0.1" in m for m in _refused_from(caplog)), _refused_from(caplog)
    finally:
        api.close()
        show.receiver.close()


def test_one_viewer_behind_the_proxy_holds_its_share_not_the_proxy_s(tmp_path):
    """The proxy's connections count in the dashboard's 128 but not in one machine's 16; a
    viewer behind it may have MAX_PER_PEER requests under way at once, as it could directly."""
    show, api, port = _dashboard(tmp_path, [PROXY])
    try:
        with ExitStack() as stack:
            held = []
            for _ in range(gate.MAX_PER_PEER + 2):  # WebSockets held open: requests under way
                head = _ws_upgrade("127.0.0.1", port, None).replace(
                    b"\r\n\r\n", b"\r\nX-Forwarded-For: 10.0.0.7\r\n\r\n", 1)
                held.append(_ask(port, stack, PROXY, head))
            assert held.count(b"HTTP/1.1 101 Switching Protocols") <= gate.MAX_PER_PEER
            assert _ask(port, stack, PROXY, _get("/api/v1/health", "10.0.0.8")) \
                == b"HTTP/1.1 200 OK"
    finally:
        api.close()
        show.receiver.close()


def test_the_forwarded_header_counts_only_from_a_listed_proxy(tmp_path, caplog):
    """A header from anyone else, or written by the viewer behind the proxy (the proxy
    appends the address it saw), names nobody: the refusal names the real peer."""
    caplog.set_level(logging.INFO, "empathy")
    show, api, port = _dashboard(tmp_path, [PROXY])
    try:
        with ExitStack() as stack:
            # direct, with a header: a peer of its own, capped as one machine
            direct = [_ask(port, stack, OUTSIDER, _get("/api/v1/health", f"10.0.1.{i}"))
                      for i in range(gate.MAX_PER_PEER - 1)]
            assert direct == [b"HTTP/1.1 200 OK"] * (gate.MAX_PER_PEER - 1), direct
            assert _ask(port, stack, OUTSIDER, _get("/api/v1/state", "10.0.1.99")) \
                .startswith(b"HTTP/1.1 401")
            assert [_ask(port, stack, OUTSIDER, _get("/api/v1/health", "10.0.1.100"))
                    for _ in range(3)] == [b"reset"] * 3  # its 16 are held
            # through the proxy, the viewer's own claim first, the proxy's word last
            assert _ask(port, stack, PROXY, _get("/api/v1/state", f"10.6.6.6, {VIEWER}")) \
                == b"HTTP/1.1 401 Unauthorized"
            assert _ask(port, stack, PROXY, _get(
                "/api/v1/state", f"10.6.6.7, {VIEWER}, {PROXY}")).startswith(b"HTTP/1.1 401")
            # a proxy that names no readable address: the proxy itself
            assert _ask(port, stack, PROXY, _get("/api/v1/state", "unknown")) \
                .startswith(b"HTTP/1.1 401")
        said = "\n".join(_refused_from(caplog))
        assert f"from {OUTSIDER}" in said and "10.0.1." not in said, said
        assert f"from {VIEWER}" in said and "10.6.6." not in said, said
        assert f"'/api/v1/state' from {PROXY}" in said, said
    finally:
        api.close()
        show.receiver.close()


def test_no_proxy_is_trusted_unless_listed(tmp_path, caplog):
    caplog.set_level(logging.INFO, "empathy")
    show, api, port = _dashboard(tmp_path)
    try:
        with ExitStack() as stack:
            assert _ask(port, stack, PROXY, _get("/api/v1/state", "10.0.0.1")) \
                .startswith(b"HTTP/1.1 401")
        said = "\n".join(_refused_from(caplog))
        assert f"from {PROXY}" in said and "10.0.0.1" not in said, said
    finally:
        api.close()
        show.receiver.close()


@pytest.mark.parametrize("value, said", [
    ('["0.0.0.0/0"]', "trusts every address"),
    ('["::/0"]', "trusts every address"),
    ('["10.0.0.300"]', "not an IP address or network"),
    ('["10.20.0.5/24"]', "host bits"),
    ('"127.0.0.1"', "expected a list"),
])
def test_a_trusted_proxies_typo_is_one_line(tmp_path, value, said):
    cfg = tmp_path / "host.toml"
    cfg.write_text(f'story = "s.toml"\n[dashboard]\nenabled = true\ntrusted_proxies = {value}\n')
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "config", "check", "--schema-only",
                        str(cfg)], capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "Traceback" not in out, out
    assert "dashboard.trusted_proxies" in out and said in out, out
