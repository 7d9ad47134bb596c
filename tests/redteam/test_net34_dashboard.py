"""Red team, session 34: 128 machines holding one dashboard place each (here 127.1.0.1-128,
one process holding a half-sent request from each, re-opened whenever the dashboard
closes it). The gate's eviction took a place only from a machine holding more than the
newcomer would (session 32: so that attackers cannot churn each other), so 128 machines
holding one each kept everyone else out: the operator served 0 of 20. Now a machine
holding none takes the longest idle place, and a connection that showed the token keeps
its own. Real sockets, the real aiohttp server."""

from __future__ import annotations

import json
import logging
import socket
import struct
import subprocess
import sys
import textwrap

import pytest
import websockets.sync.client as ws_client
from websockets.exceptions import ConnectionClosed

from empathy.host.dashboard import gate
from redteam_rig import wait_for
from test_session23_proxy import TOKEN, _dashboard

pytestmark = pytest.mark.timeout(120)

# One half-sent request from each address, re-opened (after 0.2 s) when closed; stops at
# stdin's end and says how many times it re-opened.
HOLDERS = textwrap.dedent("""
    import selectors, socket, sys, time
    port, addrs = int(sys.argv[1]), sys.argv[2:]
    sel, again, reopened = selectors.DefaultSelector(), [], 0
    def open_from(src):
        s = socket.socket()
        s.bind((src, 0))
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /api/v1/health HTTP/1.1\\r\\nHost: booth\\r\\nX-A: ")
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, src)
        except OSError:
            s.close()
            again.append((time.monotonic() + 0.2, src))
    for src in addrs:
        open_from(src)
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    while True:
        for key, _ in sel.select(0.05):
            if key.data is None:
                print(reopened, flush=True)
                sys.exit(0)
            try:
                if key.fileobj.recv(4096):
                    continue
            except OSError:
                pass
            sel.unregister(key.fileobj)
            key.fileobj.close()
            again.append((time.monotonic() + 0.2, key.data))
        while again and again[0][0] <= time.monotonic():
            reopened += 1
            open_from(again.pop(0)[1])
""")


def _ask(s: socket.socket) -> bytes:
    """The operator's request for the show's state on `s`; the answer's first line."""
    try:
        s.sendall(f"GET /api/v1/state HTTP/1.1\r\nHost: booth\r\n"
                  f"Authorization: Bearer {TOKEN}\r\n\r\n".encode())
        return s.recv(65536).split(b"\r\n", 1)[0] or b"reset"
    except OSError:
        return b"reset"


def _fresh(port: int) -> bytes:
    with socket.socket() as s:
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        return _ask(s)


def _live(port: int):
    try:
        with ws_client.connect(f"ws://127.0.0.1:{port}/api/v1/live", open_timeout=10) as ws:
            ws.send(json.dumps({"type": "auth", "token": TOKEN}))
            return json.loads(ws.recv(timeout=10))
    except (OSError, ConnectionClosed) as e:
        return repr(e)


def test_128_machines_holding_one_place_each_cannot_hold_the_operator_out(tmp_path):
    show, api, port = _dashboard(tmp_path)
    addrs = [f"127.1.0.{i}" for i in range(1, gate.MAX_CONNECTIONS + 1)]
    holders = subprocess.Popen([sys.executable, "-c", HOLDERS, str(port), *addrs],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    kept = socket.socket()  # the operator's keep-alive connection, in before the attack
    kept.settimeout(10)
    kept.connect(("127.0.0.1", port))
    try:
        assert _ask(kept) == b"HTTP/1.1 200 OK"
        wait_for(lambda: len(api.gate.open) == gate.MAX_CONNECTIONS, 60,
                 "the 128 machines holding every place")
        answers = [_fresh(port) for _ in range(20)]
        live = _live(port)
        again = _ask(kept)  # after 21 evictions and their re-openings
        assert answers.count(b"HTTP/1.1 200 OK") == 20, answers
        assert live == {"type": "auth", "ok": True}
        assert again == b"HTTP/1.1 200 OK"
        wait_for(lambda: len(api.gate.open) == gate.MAX_CONNECTIONS, 60,
                 "the machines holding their places again")
    finally:
        holders.stdin.close()
        reopened = int(holders.stdout.readline() or -1)
        holders.wait(10)
        kept.close()
        api.close()
        show.receiver.close()
    # each eviction is a machine's place lost and taken back from the next longest idle:
    # what the operator's connections cost the attackers, not a churn of their own
    assert 0 <= reopened < 2000, reopened


def test_clients_that_reset_mid_file_leave_no_tracebacks(tmp_path, caplog):
    """15 machines each asking for the page's script 200 times on one connection, reading
    nothing, then resetting it (5 rounds): aiohttp sent the files by sendfile and logged
    "Unhandled exception" with a traceback for each request cut (150 in 10 rounds); the
    files are answered from memory now."""
    show, api, port = _dashboard(tmp_path)
    try:
        with caplog.at_level(logging.WARNING):
            for _ in range(5):
                held = []
                for i in range(1, 16):
                    s = socket.socket()
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    s.bind((f"127.2.0.{i}", 0))
                    s.connect(("127.0.0.1", port))
                    s.sendall(b"GET /static/dashboard.js HTTP/1.1\r\nHost: booth\r\n\r\n" * 200)
                    held.append(s)
                wait_for(lambda: len(api.gate.served) >= 15, 60, "the requests under way")
                for s in held:  # a reset, not a close
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
                wait_for(lambda: not api.gate.open, 60, "the connections gone")
        page = [_get_file(port, p) for p in ("/", "/static/dashboard.js", "/static/..")]
    finally:
        api.close()
        show.receiver.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, f"{len(errors)}: {errors[0].getMessage()}"
    assert page == [(200, "text/html"), (200, "text/javascript"), (404, "text/plain")], page


def _get_file(port: int, path: str) -> tuple[int, str]:
    with socket.socket() as s:
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: booth\r\nConnection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096) or b"\r\n\r\n"
    lines = head.split(b"\r\n")
    kind = next((x.split(b":", 1)[1].strip().split(b";")[0] for x in lines
                 if x.lower().startswith(b"content-type:")), b"")
    return int(lines[0].split()[1]), kind.decode()
