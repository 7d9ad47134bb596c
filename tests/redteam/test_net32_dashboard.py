"""Red team, session 32: the dashboard's listener against slow and idle clients.

The gate (host/dashboard/gate.py) holds 16 connections per machine and 128 in all, and
closes one that has sent no whole request within HEADER_WAIT_S. Eight machines on the
booth's LAN (here 127.0.0.2-9), each opening its 16 again as soon as the gate closed them
(a slowloris), held all 128 places for as long as they cared: the operator's page and
live view were reset, every try. And a WebSocket that never sent its token stayed open
past AUTH_WAIT_S for as long as it sent a ping now and then (aiohttp answers pings inside
`receive`, whose timeout starts again after each). Real sockets, the real aiohttp server.
"""

from __future__ import annotations

import gc
import json
import socket
import subprocess
import sys
import threading
import time

import pytest
import websockets.sync.client as ws_client
from websockets.exceptions import ConnectionClosed

from empathy.host.dashboard import api as api_mod
from empathy.host.dashboard import gate
from redteam_rig import wait_for
from test_session23_proxy import TOKEN, _dashboard

pytestmark = pytest.mark.timeout(120)
MACHINES = [f"127.0.0.{i}" for i in range(2, 2 + gate.MAX_CONNECTIONS // gate.MAX_PER_PEER)]


def _slowloris(port: int, src: str, stop: threading.Event, lost: list) -> None:
    """One attacker socket: a request line and half a header, sent again on a new
    connection whenever the dashboard closes or refuses it; `lost` counts the connections
    it held (half a second at least) and then lost."""
    while not stop.is_set():
        with socket.socket() as s:
            s.bind((src, 0))
            s.settimeout(0.5)
            held = False
            try:
                s.connect(("127.0.0.1", port))
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: booth\r\nX-A: ")
                while not stop.is_set():
                    try:
                        if not s.recv(64):
                            break
                    except TimeoutError:
                        held = True
            except OSError:
                pass
            if held and not stop.is_set():
                lost.append(src)
            stop.wait(0.05)  # and again, as an attacker would


def _health(port: int) -> bytes:
    with socket.socket() as s:
        s.settimeout(10)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: booth\r\n\r\n")
            return s.recv(4096).split(b"\r\n", 1)[0] or b"reset"
        except OSError:
            return b"reset"


def _operator_live(port: int) -> dict:
    with ws_client.connect(f"ws://127.0.0.1:{port}/api/v1/live", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "auth", "token": TOKEN}))
        return json.loads(ws.recv(timeout=10))


def test_a_slowloris_from_eight_machines_cannot_hold_the_operator_out(tmp_path, monkeypatch):
    monkeypatch.setattr(gate, "HEADER_WAIT_S", 300.0)  # the attackers' places: held till the end
    show, api, port = _dashboard(tmp_path)
    stop, lost = threading.Event(), []
    threads = [threading.Thread(target=_slowloris, args=(port, src, stop, lost), daemon=True)
               for src in MACHINES for _ in range(gate.MAX_PER_PEER + 2)]
    try:
        for t in threads:
            t.start()
        wait_for(lambda: len(api.gate.open) == gate.MAX_CONNECTIONS, 60,
                 "the attackers holding every place")
        answers = [_health(port) for _ in range(5)]
        assert answers == [b"HTTP/1.1 200 OK"] * 5, answers
        assert _operator_live(port) == {"type": "auth", "ok": True}
        # each of the operator's 6 connections took one attacker's place; the attackers
        # took theirs back without taking one another's (no churn)
        wait_for(lambda: len(api.gate.open) == gate.MAX_CONNECTIONS, 60,
                 "the attackers holding the places again")
        time.sleep(1.0)
        assert len(lost) <= 6, lost
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        api.close()
        show.receiver.close()


def test_a_websocket_that_only_pings_is_closed_at_its_token_wait(tmp_path, monkeypatch):
    monkeypatch.setattr(api_mod, "AUTH_WAIT_S", 1.0)
    show, api, port = _dashboard(tmp_path)
    try:
        with ws_client.connect(f"ws://127.0.0.1:{port}/api/v1/live", open_timeout=10) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(40):  # 12 s of pings: 12 token waits
                    ws.ping()
                    time.sleep(0.3)
                ws.recv(timeout=0)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        assert not api.pending
    finally:
        api.close()
        show.receiver.close()


STALLED = """
import socket, sys, time
port, size = int(sys.argv[1]), int(sys.argv[2])
head = b"".join(b"X-%d: %s\\r\\n" % (i, b"a" * size) for i in range(127))
held = []
for src in sys.argv[3:]:
    for _ in range(16):
        s = socket.socket()
        s.bind((src, 0))
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET / HTTP/1.1\\r\\nHost: booth\\r\\n" + head)
            held.append(s)
        except OSError:
            pass
print(len(held), flush=True)
sys.stdin.read()
"""


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def test_stalled_header_blocks_cannot_swell_the_show_s_process(tmp_path):
    """Before: 128 connections (8 machines) each sending 127 headers of 8 KB (aiohttp reads
    128 headers of up to 8,190 bytes) and then nothing held ~2 MB each of the show's process
    until the gate closed them: 118 -> 376 MB. Now a connection with no request under way
    may send MAX_HEAD_BYTES (a 32 KiB head, as nginx takes, and a control's 64 KiB body);
    past that it is answered 431 and closed. A browser's request with a big cookie, and a
    control as big as the API takes, are still served."""
    show, api, port = _dashboard(tmp_path)
    try:
        before = _rss_mb()
        attacker = subprocess.Popen([sys.executable, "-c", STALLED, str(port), "8100", *MACHINES],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            attacker.stdout.readline()
            time.sleep(1.0)  # the loop reads what came
            grew = _rss_mb() - before
        finally:
            attacker.communicate("", timeout=30)
        assert grew < 50, f"the show's process grew {grew:.0f} MB"
        with socket.create_connection(("127.0.0.1", port), 10) as s:
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: booth\r\nCookie: c=%s\r\n%s\r\n"
                      % (b"c" * 4000, b"".join(b"X-%d: v\r\n" % i for i in range(20))))
            assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
        # and a control's body as big as the API takes, sent with its head in one write
        body = b'{"action": "kill_switch", "on": false, "pad": "%s"}' % (b"p" * 60_000)
        with socket.create_connection(("127.0.0.1", port), 10) as s:
            s.sendall(b"POST /api/v1/control HTTP/1.1\r\nHost: booth\r\nAuthorization: Bearer "
                      + TOKEN.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
    finally:
        api.close()
        show.receiver.close()


def test_connections_opened_and_dropped_leave_nothing_behind(tmp_path):
    """Before: each connection's first-request deadline (a loop timer, HEADER_WAIT_S) held
    its aiohttp handler and transport for 10 s after it closed: a machine opening and
    dropping connections as fast as it could (2,422 in 8 s here, loaded) kept ~1 KB each
    of the show's process alive, ~900 timers at once; the rate is the attacker's, the
    memory the show's. Now a connection's timer goes with it."""
    from aiohttp.web_protocol import RequestHandler

    show, api, port = _dashboard(tmp_path)
    try:
        for _ in range(300):
            with socket.socket() as s:
                s.bind((MACHINES[0], 0))
                s.connect(("127.0.0.1", port))
        wait_for(lambda: not api.gate.open, 30, "the dropped connections let go")
        gc.collect()
        alive = sum(isinstance(o, RequestHandler) for o in gc.get_objects())
        assert alive < 30, f"{alive} handlers of 300 dropped connections still alive"
    finally:
        api.close()
        show.receiver.close()
