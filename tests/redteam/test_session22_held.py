"""Red team, session 22: attacks on the dashboard that held (no finding), kept so they hold.
An outsider without the token, against the dashboard's real server on a real show."""

from __future__ import annotations

import json
import socket

import pytest
import websockets.sync.client as ws_client
from websockets.exceptions import ConnectionClosed

from empathy.host.dashboard.api import Api
from empathy.host.dashboard.live import Live
from test_baseline_wait import _show

TOKEN = "session-22-operator-token-" + "y" * 16


@pytest.fixture
def api(tmp_path):
    show, _ = _show(tmp_path)
    api = Api(show, Live(show), "127.0.0.1:0", token=TOKEN)
    api.start()
    api.port = int(api.url.rsplit(":", 1)[1].strip("/"))
    yield api
    api.close()
    show.receiver.close()


@pytest.mark.parametrize("path", [b"/static/../api.py", b"/static/%2e%2e/api.py",
                                  b"/static/..%2fapi.py", b"/static/%2e%2e%2f%2e%2e%2fkeys.py",
                                  b"/static//etc/passwd", b"/static/..\\api.py",
                                  b"/static/dashboard.js%00.png"])
def test_the_static_folder_serves_nothing_outside_it(api, path):
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as s:
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got = b""
        while chunk := s.recv(65536):
            got += chunk
    assert got.startswith(b"HTTP/1.1 404") and b"import" not in got and b"root:" not in got


def test_a_compressed_first_message_that_inflates_past_the_limit_is_closed(api):
    """50 MB of one letter deflates to ~50 kB, under the 64-kB message limit; inflated, it
    is refused (1009) before any token is read."""
    with ws_client.connect(api.url.replace("http://", "ws://") + "api/v1/live",
                           open_timeout=5, max_size=None) as ws:
        assert ws.protocol.extensions, "the server took no compression"
        ws.send(json.dumps({"type": "auth", "token": "a" * 50_000_000}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd.code == 1009
