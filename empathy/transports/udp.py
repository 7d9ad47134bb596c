"""UDP unicast: one datagram per packet. For kiosks and small rooms."""

from __future__ import annotations

import select
import socket
from urllib.parse import urlsplit


def _addr(url: str) -> tuple[str, int]:
    u = urlsplit(url)
    return u.hostname or "127.0.0.1", u.port or 47100


class Sender:
    def __init__(self, url: str):
        self.url = url
        self.addr = _addr(url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, packet: bytes) -> None:
        try:
            self.sock.sendto(packet, self.addr)
        except OSError:
            pass  # host unreachable right now; samples are perishable, the next one follows

    def close(self) -> None:
        self.sock.close()


class Receiver:
    """Drains every waiting datagram per call: batch reads keep the host's hot path tight."""

    def __init__(self, url: str):
        self.url = url
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(_addr(url))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def recv_batch(self, timeout_s: float = 0.05, limit: int = 4096) -> list[bytes]:
        out: list[bytes] = []
        if not select.select([self.sock], [], [], timeout_s)[0]:
            return out
        recv = self.sock.recv
        while len(out) < limit:
            try:
                out.append(recv(2048))
            except BlockingIOError:
                break
        return out

    def close(self) -> None:
        self.sock.close()
