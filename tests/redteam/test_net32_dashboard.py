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

import json
import socket
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
