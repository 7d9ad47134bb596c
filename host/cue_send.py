"""Screen cues out to the edge units (`cue_targets`), through one UDP socket per target
connected to it.

One unconnected socket was bound by the kernel, at its first send, to an ephemeral port on
every address, and never read: anyone on the LAN could send to it and what they sent stayed
in its receive buffer. A connected socket is bound to the address its cues leave from, and
the kernel refuses (ICMP port unreachable) datagrams from anyone but its target; its receive
buffer is kept to the kernel's least for what a target itself might send. Connecting also
resolves a target's name once, not at each of the 10 sends a second. A connected socket
takes ICMP errors, forged ones too: a send refused by one is sent again (the error is spent).
"""

from __future__ import annotations

import logging
import socket
from typing import Optional

log = logging.getLogger("empathy.host.cues")


class CueSender:
    def __init__(self, targets: list[str]):
        self.addrs = [(h, int(p)) for h, p in (t.rsplit(":", 1) for t in targets)]
        self._socks: list[Optional[socket.socket]] = [None] * len(self.addrs)

    def _connect(self, i: int) -> Optional[socket.socket]:
        """The target's socket, connected now if it was not (a unit's name that does not
        resolve yet, a network not up: tried again at the next cue)."""
        if self._socks[i] is None:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel's least
                s.connect(self.addrs[i])
            except OSError as e:
                s.close()
                log.debug("cue target %s:%d: %s", *self.addrs[i], e)
                return None
            self._socks[i] = s
        return self._socks[i]

    def send(self, data: bytes) -> None:
        for i in range(len(self.addrs)):
            s = self._connect(i)
            if s is None:
                continue
            try:
                try:
                    s.send(data)
                except ConnectionRefusedError:  # an ICMP refusal of an earlier datagram,
                    # reported at this send and spent: the unit's own (not listening yet) or
                    # one forged by anyone on the LAN to hold a unit's cues back: once more
                    s.send(data)
            except ConnectionRefusedError:
                pass  # refused again (two ICMP messages between two sends): the next cue's
            except OSError:  # its route went away: connected again at the next cue
                s.close()
                self._socks[i] = None

    def close(self) -> None:
        for s in self._socks:
            if s is not None:
                s.close()
        self._socks = [None] * len(self.addrs)
