"""UDP unicast: one datagram per packet. For kiosks and small rooms.

The host's socket buffer (4 MiB) is the bounded queue in front of the host; what the
kernel drops when a flood fills it is read from /proc/net/udp (`Receiver.kernel_drops`).
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import logging
import os
import select
import socket
import struct
import threading
import time
from urllib.parse import urlsplit

from empathy.transports import TransportError

log = logging.getLogger("empathy.transports.udp")

_SYNC_HEADER = b"\x13"  # clock-sync requests: their sender's address is kept for the reply
MAX_DATAGRAM = 2048  # ours are < 64 bytes; a longer datagram is cut here and refused


DEFAULT_PORT = 47100
# The queue in front of the host: a thousand seats at 10 packets a second are ~0.6 MB/s, so
# 4 MiB rides out a several-second stall. A stock kernel grants at most net.core.rmem_max
# (208 KiB on Debian and Raspberry Pi OS) whatever is asked.
RCVBUF_BYTES = 4 << 20
SYSCTL_FIX = "sudo sysctl -w net.core.rmem_max=8388608 (and in /etc/sysctl.d/ to keep it)"


def granted_rcvbuf(sock: socket.socket, asked: int) -> int:
    """Ask the kernel for a receive buffer of `asked` bytes; what it granted (Linux reports
    twice the usable size, its bookkeeping included)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, asked)
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2


def _addr(url: str) -> tuple[str, int]:
    u = urlsplit(url)
    # An explicit port 0 is the kernel's pick (a receiver's `.port` says which); no port at
    # all is the default.
    return u.hostname or "127.0.0.1", DEFAULT_PORT if u.port is None else u.port


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


_SO_ATTACH_FILTER, _SKF_NET_OFF = 26, -0x100000  # <linux/filter.h>


def hear_only(sock: socket.socket, addr: tuple[str, int] | None) -> None:
    """Have the kernel drop (and count, in /proc/net/udp's drops) every datagram to `sock`
    that does not come from `addr` (None: every datagram): a classic BPF socket filter
    (Linux; OSError elsewhere)."""
    prog = [(0x06, 0, 0, 0)]  # ret drop
    if addr is not None:
        ip = int.from_bytes(socket.inet_aton(addr[0]), "big")
        prog = [(0x20, 0, 0, (_SKF_NET_OFF + 12) & 0xFFFFFFFF),  # ld [IP header + 12]: source
                (0x15, 0, 3, ip),  # jeq: on, else drop
                (0x28, 0, 0, 0),  # ldh [0]: the UDP header's source port
                (0x15, 0, 1, addr[1]),  # jeq: keep, else drop
                (0x06, 0, 0, 0xFFFFFFFF), (0x06, 0, 0, 0)]  # ret keep, ret drop
    code = b"".join(struct.pack("HBBI", *i) for i in prog)
    buf = ctypes.create_string_buffer(code, len(code))
    sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER,
                    struct.pack("HP", len(code) // 8, ctypes.addressof(buf)))


RESOLVE_RETRY_S = 1.0  # a host name not found yet (the DNS not up at boot): asked again
RESOLVE_EVERY_S = 60.0  # found: asked again this often (a new DHCP lease for the host)


class Sender:
    """`status_key`, `epochs` (open_sender's): UDP has no sessions, so no status to tag.

    A host given by name is resolved on a thread of its own, never per packet: sendto() to
    a name asked the resolver for every packet, and with the DNS not up yet (a unit started
    at boot) each ask held the unit's loop for the resolver's timeout."""

    def __init__(self, url: str, unit_id: int = 0, status_key=None, epochs=None):
        self.url = url
        host, port = _addr(url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.problem = ""
        self.pinned: tuple[str, int] | None = None  # where the host's replies come from
        self.origins: list[tuple] = []  # the last batch's senders, until pinned
        self.told: tuple[str, int] | None = None  # a reply's other address, said once
        self._closed, self._asked = threading.Event(), threading.Event()
        try:
            self.addr: tuple[str, int] | None = (str(ipaddress.IPv4Address(host)), port)
        except ValueError:
            self.addr = None
            self.problem = f"{host}: no address yet"
            threading.Thread(target=self._resolve, args=(host, port), name="uplink-dns",
                             daemon=True).start()
            self._asked.wait(RESOLVE_RETRY_S)  # a name in /etc/hosts: found before the first packet

    def _resolve(self, host: str, port: int) -> None:
        """Find `host`'s address, said once when it cannot be found and once when it is;
        a name with several addresses: the first, and the log says which, kept for as long
        as the name still has it."""
        missing = False
        while not self._closed.is_set():
            try:
                infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
                found = list(dict.fromkeys(a[4] for a in infos))
            except (OSError, UnicodeError) as e:  # (UnicodeError: a name IDNA refuses)
                self._asked.set()
                if not missing:
                    log.warning("uplink %s: the host's name %s does not resolve (%s): asked "
                                "again every %g s", self.url, host, e.strerror or e,
                                RESOLVE_RETRY_S)
                missing = True
                self.problem = f"{host}: no address ({e.strerror or e})"
                self._closed.wait(RESOLVE_RETRY_S)
                continue
            if self.addr not in found:  # a name of several addresses, in rotating order:
                # the one in use kept while it is one of them (a switch a minute, said each time)
                log.log(logging.WARNING if missing or self.addr else logging.INFO,
                        "uplink %s: sending to %s:%d%s", self.url, *found[0],
                        f" (the first of {len(found)} addresses of {host})"
                        if len(found) > 1 else "")
                self.addr = found[0]
                if self.pinned:  # the host moved: only its new address is heard from now
                    self._hear_only(self.addr)
            self._asked.set()
            missing = False
            self._closed.wait(RESOLVE_EVERY_S)

    def send(self, packet: bytes) -> bool:
        if self.addr is None:
            return False  # (self.problem says why)
        try:
            self.sock.sendto(packet, self.addr)
            return True
        except OSError as e:  # no route right now; samples are perishable, the next follows
            self.problem = f"{self.addr[0]}:{self.addr[1]}: {e.strerror or e}"
            return False

    def recv_batch(self, timeout_s: float = 0.05, limit: int = 64) -> list[bytes]:
        """The host's replies; until `pin`, read from anyone, each one's sender noted."""
        if self.pinned:
            return _drain(self.sock, timeout_s, limit)
        out: list[bytes] = []
        self.origins = []
        if not select.select([self.sock], [], [], timeout_s)[0]:
            return out
        while len(out) < limit:
            try:
                data, addr = self.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, ConnectionRefusedError):
                break
            out.append(data)
            self.origins.append(addr)
        return out

    def pin(self, index: int) -> None:
        """The last batch's packet `index` was the host's authentic reply: if it came from
        the address we send to, the kernel drops datagrams from anyone else from now on (a
        flood from another address cost the unit 40 % of a core and crowded the host's
        replies out of its buffer). A host listening on 0.0.0.0 answers from the address
        its route picks, on a multi-homed host not always the one the unit was told: not
        pinned there (someone who relayed a genuine reply first would have the unit's
        ear), said once with the address to configure instead."""
        addr = self.origins[index] if 0 <= index < len(self.origins) else None
        if self.pinned or addr is None or addr == self.told:
            return
        if addr != self.addr:
            self.told = addr
            log.warning("uplink %s: the host answers from %s:%d, not from the address the "
                        "unit sends to: configure udp://%s:%d so that the unit hears the "
                        "host alone", self.url, *addr, *addr)
            return
        self._hear_only(addr)

    def _hear_only(self, addr: tuple[str, int]) -> None:
        """A socket filter, not connect(): a connected UDP socket takes ICMP errors, and
        one forged "port unreachable" from anyone failed the unit's next send (100 forged,
        100 samples unsent); an unconnected one ignores them."""
        try:
            hear_only(self.sock, addr)
        except OSError as e:  # (no socket filters here: the unit reads anyone, as before)
            self.told = addr
            log.warning("uplink %s: cannot filter what the unit hears (%s)", self.url,
                        e.strerror or e)
            return
        self.pinned = addr

    def close(self) -> None:
        self._closed.set()
        self.sock.close()


def _proc_drops(inode: int) -> int | None:
    """The kernel's drop counter for the UDP socket with this inode (/proc/net/udp)."""
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as f:
                next(f, None)
                for line in f:
                    cols = line.split()
                    if len(cols) > 12 and cols[9] == str(inode):
                        return int(cols[12])
        except (OSError, ValueError):
            continue
    return None


class Receiver:
    """Drains every waiting datagram per call: batch reads keep the host's hot path tight."""

    def __init__(self, url: str, rcvbuf_bytes: int = RCVBUF_BYTES):
        self.url = url
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rcvbuf_bytes = granted_rcvbuf(self.sock, rcvbuf_bytes)
        if self.rcvbuf_bytes < rcvbuf_bytes:
            log.warning("UDP receive buffer: %d KiB granted of the %d KiB asked (the kernel's "
                        "net.core.rmem_max): a large room may lose packets while the host is "
                        "busy; %s", self.rcvbuf_bytes >> 10, rcvbuf_bytes >> 10, SYSCTL_FIX)
        try:
            self.sock.bind(_addr(url))
        except OSError as e:  # say where: a host and `calibrate seats` both listen
            self.sock.close()
            why = ("another program listens there (a host, or `empathy calibrate seats`?)"
                   if e.errno == errno.EADDRINUSE else e.strerror or str(e))
            raise TransportError(f"{url}: cannot listen: {why}") from None
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.inode = os.fstat(self.sock.fileno()).st_ino
        # Batch index -> address, for the clock-sync requests of the last batch only: a
        # reply goes where the request it answers (authentic, checked by the intake) came
        # from, never where some packet merely claiming the unit's id came from.
        self.origins: dict[int, tuple] = {}
        self._drops, self._drops_at = 0, -1.0

    def recv_batch(self, timeout_s: float = 0.05, limit: int = 4096) -> list[bytes]:
        out: list[bytes] = []
        self.origins = origins = {}
        if not select.select([self.sock], [], [], timeout_s)[0]:
            return out
        recv = self.sock.recvfrom
        while len(out) < limit:
            try:
                data, addr = recv(MAX_DATAGRAM)
            except BlockingIOError:
                break
            if data[:1] == _SYNC_HEADER:
                origins[len(out)] = addr
            out.append(data)
        return out

    def reply(self, unit_id: int, packet: bytes, origin: int | None = None) -> None:
        addr = self.origins.get(origin) if origin is not None else None
        if addr:
            try:
                self.sock.sendto(packet, addr)
            except OSError:
                pass

    @property
    def kernel_drops(self) -> int:
        """Datagrams the kernel dropped because our queue was full (read twice a second)."""
        if time.monotonic() - self._drops_at >= 0.5:
            self._drops_at = time.monotonic()
            self._drops = _proc_drops(self.inode) or self._drops
        return self._drops

    def take_gone(self) -> list[bytes]:
        return []  # UDP has no sessions: silence (health) is how a unit is seen to leave

    def close(self) -> None:
        self.sock.close()
