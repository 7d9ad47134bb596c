"""Red team, session 35: the dashboard's gate against whoever holds the read-only metrics
token (it sits in Prometheus's config): a connection that showed it was never evicted, so
8 machines scraping on 16 connections each pinned every place and kept the operator out.
And the page's files from memory against path tricks, HEAD, Range and huge headers. Real
sockets, the real aiohttp server."""

from __future__ import annotations

import socket
from contextlib import ExitStack

import pytest

from empathy.host.dashboard import gate
from empathy.host.dashboard.api import Api
from empathy.host.dashboard.live import Live
from test_session23_proxy import TOKEN, _show

pytestmark = pytest.mark.timeout(120)
METRICS = "session-35-metrics-token-" + "m" * 16


def _answer(s: socket.socket, request: bytes) -> bytes:
    """The answer's head to `request` on `s` ("reset" where the dashboard closed it)."""
    try:
        s.sendall(request)
        got = b""
        while b"\r\n\r\n" not in got:
            part = s.recv(65536)
            if not part:
                break
            got += part
        return got.split(b"\r\n\r\n", 1)[0] or b"reset"
    except OSError:
        return b"reset"


def _get(path: str, token: str, more: str = "") -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: booth\r\nAuthorization: Bearer {token}\r\n"
            f"{more}\r\n").encode()


def _status(head: bytes) -> bytes:
    return head.split(b"\r\n", 1)[0]


@pytest.fixture
def dashboard(tmp_path):
    show, _ = _show(tmp_path)
    api = Api(show, Live(show), "127.0.0.1:0", token=TOKEN, metrics_token=METRICS)
    api.start()
    yield api, int(api.url.rsplit(":", 1)[1].strip("/"))
    api.close()
    show.receiver.close()


def test_the_metrics_token_cannot_pin_every_place(dashboard):
    api, port = dashboard
    per = gate.MAX_CONNECTIONS // gate.MAX_PER_PEER
    with ExitStack() as stack:
        scrapers = []
        for m in range(per):
            for _ in range(gate.MAX_PER_PEER):
                s = stack.enter_context(socket.socket())
                s.bind((f"127.3.0.{m + 1}", 0))
                s.settimeout(10)
                s.connect(("127.0.0.1", port))
                scrapers.append(s)
        served = []
        for _ in range(5):
            # every scraper scrapes again (aiohttp's keep-alive timer starts again)
            kept = [_status(_answer(s, _get("/metrics", METRICS))) for s in scrapers]
            assert kept.count(b"HTTP/1.1 404 Not Found") >= gate.MAX_CONNECTIONS - 5, kept
            with socket.socket() as op:
                op.settimeout(10)
                try:
                    op.connect(("127.0.0.1", port))
                    served.append(_status(_answer(op, _get("/api/v1/state", TOKEN))))
                except OSError:
                    served.append(b"reset")
    assert served == [b"HTTP/1.1 200 OK"] * 5, served


def test_the_pages_files_resist_path_tricks_head_range_and_huge_headers(dashboard):
    api, port = dashboard

    def ask(request: bytes) -> bytes:
        with socket.socket() as s:
            s.settimeout(10)
            s.connect(("127.0.0.1", port))
            return _answer(s, request)

    def get(path, more=""):
        return f"GET {path} HTTP/1.1\r\nHost: booth\r\n{more}\r\n".encode()

    tricks = ["/static/..%2f..%2fapi.py", "/static/%2e%2e/api.py", "/static/../api.py",
              "/static/dashboard.js%00.html", "/static/./dashboard.js/", "//etc/passwd",
              "/static/DASHBOARD.JS", "/static/__init__.py"]
    for path in tricks:
        assert _status(ask(get(path))) in (b"HTTP/1.1 404 Not Found",
                                           b"HTTP/1.1 400 Bad Request"), path
    head = ask(b"HEAD /static/dashboard.js HTTP/1.1\r\nHost: booth\r\n\r\n")
    assert _status(head) == b"HTTP/1.1 200 OK"
    ranged = ask(get("/static/dashboard.js", "Range: bytes=-1,0-0,1-99999999999\r\n"))
    assert _status(ranged) == b"HTTP/1.1 200 OK"  # the whole file, no partial answer
    huge = ask(get("/", "X-A: " + "a" * (200 << 10) + "\r\n"))
    assert _status(huge) in (b"HTTP/1.1 431 Request Header Fields Too Large",
                             b"HTTP/1.1 400 Bad Request", b"reset"), huge[:80]
    assert _status(ask(get("/static/dashboard.js"))) == b"HTTP/1.1 200 OK"
