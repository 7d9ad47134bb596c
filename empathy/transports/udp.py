"""UDP unicast: one datagram per packet. For kiosks and small rooms."""

from __future__ import annotations

import select
import socket
from urllib.parse import urlsplit

_SYNC_HEADER = 0x13  # clock-sync requests tell the receiver where a unit's replies go


def _addr(url: str) -> tuple[str, int]:
    u = urlsplit(url)
    return u.hostname or "127.0.0.1", 47100 if u.port is None else u.port  # 0: any free port


def _drain(sock, timeout_s: float, limit: int) -> list[bytes]:
    out: list[bytes] = []
    if not select.select([sock], [], [], timeout_s)[0]:
        return out
    recv = sock.recv
    while len(out) < limit:
        try:
            out.append(recv(2048))
        except (BlockingIOError, ConnectionRefusedError):
            break
    return out


class Sender:
    def __init__(self, url: str, unit_id: int = 0):
        self.url = url
        self.addr = _addr(url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)

    def send(self, packet: bytes) -> None:
        try:
            self.sock.sendto(packet, self.addr)
        except OSError:
            pass  # host unreachable right now; samples are perishable, the next one follows

    def recv_batch(self, timeout_s: float = 0.05, limit: int = 64) -> list[bytes]:
        return _drain(self.sock, timeout_s, limit)

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
        self.peers: dict[int, tuple] = {}  # unit -> address its last sync request came from

    def recv_batch(self, timeout_s: float = 0.05, limit: int = 4096) -> list[bytes]:
        out: list[bytes] = []
        if not select.select([self.sock], [], [], timeout_s)[0]:
            return out
        recv = self.sock.recvfrom
        while len(out) < limit:
            try:
                data, addr = recv(2048)
            except BlockingIOError:
                break
            if len(data) >= 3 and data[0] == _SYNC_HEADER:
                self.peers[(data[1] << 8) | data[2]] = addr
            out.append(data)
        return out

    def reply(self, unit_id: int, packet: bytes) -> None:
        addr = self.peers.get(unit_id)
        if addr:
            try:
                self.sock.sendto(packet, addr)
            except OSError:
                pass

    def take_gone(self) -> list[int]:
        return []  # UDP has no sessions: silence (health) is how a unit is seen to leave

    def close(self) -> None:
        self.sock.close()
