"""A UDP impairment proxy, run as its own process between edge units and the host.

    python impair.py --to 127.0.0.1:PORT --ready FILE [--loss 0.3] [--dup 0.1]
                     [--reorder 0.2] [--log FILE] [--seed N]

It binds an ephemeral port (written to --ready once listening), and forwards each
datagram from a unit to the host through a socket of its own per unit address, so the
host's clock-sync replies find their way back. Upstream packets are dropped with
probability `loss`, sent twice with `dup`, and held back 20-60 ms (so later ones overtake
them) with `reorder`. Every datagram that reaches the host is logged as
`<monotonic s> <hex>` lines in --log: the test's record of what was sent.
"""

from __future__ import annotations

import argparse
import heapq
import random
import selectors
import socket
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--to", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--dup", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--log")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    host, port = a.to.rsplit(":", 1)
    target = (host, int(port))
    rng = random.Random(a.seed)
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", 0))
    sel = selectors.DefaultSelector()
    sel.register(front, selectors.EVENT_READ, None)
    uplinks: dict[tuple, socket.socket] = {}  # unit address -> its socket towards the host
    due: list[tuple[float, int, socket.socket, bytes]] = []  # (when, n, sock, packet)
    n = 0
    log = open(a.log, "w", buffering=1) if a.log else None
    Path(a.ready).write_text(str(front.getsockname()[1]))
    while True:
        wait = max(0.0, due[0][0] - time.monotonic()) if due else 0.5
        for key, _ in sel.select(min(wait, 0.5)):
            sock, peer = key.fileobj, key.data
            try:
                data, addr = sock.recvfrom(4096)
            except OSError:
                continue  # the host is down (ICMP refused): the unit retries by itself
            if peer is not None:  # host -> unit (sync replies): passed back untouched
                front.sendto(data, peer)
                continue
            up = uplinks.get(addr)
            if up is None:
                up = uplinks[addr] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                up.connect(target)
                sel.register(up, selectors.EVENT_READ, addr)
            if rng.random() < a.loss:
                continue
            now = time.monotonic()
            for _ in range(2 if rng.random() < a.dup else 1):
                delay = rng.uniform(0.02, 0.06) if rng.random() < a.reorder else 0.0
                n += 1
                heapq.heappush(due, (now + delay, n, up, data))
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, up, data = heapq.heappop(due)
            try:
                up.send(data)
            except OSError:
                continue
            if log:
                log.write(f"{time.monotonic():.6f} {data.hex()}\n")


if __name__ == "__main__":
    main()
