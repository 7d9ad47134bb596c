"""Screen cues out to the edge units (`cue_targets`), through one unconnected UDP socket
that hears nothing.

An unconnected socket is bound by the kernel, at its first send, to an ephemeral port on
every address: anyone on the LAN could send to it, and what they sent stayed in its
receive buffer for the show. A socket filter now has the kernel drop every datagram to it
(counted in /proc/net/udp's drops). It was a socket connected to each target before
(session 32), which the kernel also guards, but a connected UDP socket takes ICMP errors,
forged ones too: each forged "port unreachable" failed the next send of a cue, and a flood
of them held a unit's cues back whatever the number of retries. An unconnected socket
ignores them: one send per cue and target, whatever arrives. A target's name is resolved
on a thread of its own (again after a send to it fails), never on the show's loop: a name
the DNS did not answer held the loop for the resolver's timeout at every cue, 10 a second.
A target that cannot be sent to (a broadcast address, which the kernel refuses without
SO_BROADCAST; no route) is said once, with its reason: its cues went nowhere, unsaid. So is
one that is no unit's (a multicast group, which no unit joins: the sends succeeded and no
unit heard them; 0.0.0.0, this host), and nothing is sent to it.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import threading
from typing import Optional

from empathy.transports.udp import RESOLVE_RETRY_S, hear_only

log = logging.getLogger("empathy.host.cues")


class CueSender:
    def __init__(self, targets: list[str]):
        self.addrs = [(h, int(p)) for h, p in (t.rsplit(":", 1) for t in targets)]
        self._said: set = set()  # (target, what went wrong): each said once
        self._resolved: list[Optional[tuple[str, int]]] = [None] * len(self.addrs)
        for i, (h, p) in enumerate(self.addrs):
            if _numeric(h):
                self._found(i, (h, p))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel's least
        try:
            hear_only(self.sock, None)
        except OSError as e:  # (no socket filters here: what others send waits, unread)
            log.warning("cue socket: cannot filter what it is sent (%s)", e.strerror or e)
        self._wake, self._closed = threading.Event(), threading.Event()
        if None in self._resolved:
            threading.Thread(target=self._resolver, name="cue-dns", daemon=True).start()

    def _say(self, i: int, what: str, advice: str) -> None:
        target = "%s:%d" % self.addrs[i]
        if (target, what) not in self._said:
            self._said.add((target, what))
            log.warning("cue target %s: %s: %s", target, what, advice)

    def _found(self, i: int, addr: tuple[str, int]) -> None:
        ip = ipaddress.IPv4Address(addr[0])
        if ip.is_multicast or ip.is_unspecified or ip == ipaddress.IPv4Address(0xFFFFFFFF):
            self._say(i, f"{ip} is no unit's address", "nothing is sent to it: give each "
                      "unit's own address")
        else:
            self._resolved[i] = addr

    def _resolver(self) -> None:
        """Finds each target's address not found yet (a unit's name that does not resolve
        yet, a network not up), asked again every RESOLVE_RETRY_S and after a failed send."""
        while not self._closed.is_set():
            for i, (host, port) in enumerate(self.addrs):
                if self._resolved[i] is not None:
                    continue
                try:
                    info = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
                    self._found(i, info[0][4])
                except (OSError, UnicodeError) as e:  # (UnicodeError: a name IDNA refuses)
                    self._say(i, f"no address ({getattr(e, 'strerror', None) or e})",
                              f"its cues wait; asked again every {RESOLVE_RETRY_S:g} s")
            self._wake.wait(RESOLVE_RETRY_S)
            self._wake.clear()

    def send(self, data: bytes) -> None:
        for i, addr in enumerate(self._resolved):
            if addr is None:
                continue
            try:
                self.sock.sendto(data, addr)
            except OSError as e:
                why = e.strerror or str(e)
                self._say(i, f"cannot send ({why})", "a broadcast address? name each unit"
                          if e.errno == errno.EACCES else "its cues are lost until it can")
                if not _numeric(self.addrs[i][0]):  # its name may say elsewhere now
                    self._resolved[i] = None
                    self._wake.set()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self.sock.close()


def _numeric(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        return False
