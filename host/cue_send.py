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
once (again after a send to it fails), not at each of the 10 sends a second.
"""

from __future__ import annotations

import logging
import socket
from typing import Optional

from empathy.transports.udp import hear_only

log = logging.getLogger("empathy.host.cues")


class CueSender:
    def __init__(self, targets: list[str]):
        self.addrs = [(h, int(p)) for h, p in (t.rsplit(":", 1) for t in targets)]
        self._resolved: list[Optional[tuple[str, int]]] = [None] * len(self.addrs)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel's least
        try:
            hear_only(self.sock, None)
        except OSError as e:  # (no socket filters here: what others send waits, unread)
            log.warning("cue socket: cannot filter what it is sent (%s)", e.strerror or e)

    def _resolve(self, i: int) -> Optional[tuple[str, int]]:
        """The target's address, found now if it was not (a unit's name that does not
        resolve yet, a network not up: tried again at the next cue)."""
        if self._resolved[i] is None:
            try:
                info = socket.getaddrinfo(*self.addrs[i], socket.AF_INET, socket.SOCK_DGRAM)
                self._resolved[i] = info[0][4]
            except (OSError, UnicodeError) as e:
                log.debug("cue target %s:%d: %s", *self.addrs[i], e)
        return self._resolved[i]

    def send(self, data: bytes) -> None:
        for i in range(len(self.addrs)):
            addr = self._resolve(i)
            if addr is None:
                continue
            try:
                self.sock.sendto(data, addr)
            except OSError:  # its route went away: resolved again at the next cue
                self._resolved[i] = None

    def close(self) -> None:
        self.sock.close()
