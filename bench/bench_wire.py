"""Wire format: encode + decode + verify per second, against JSON with the same fields."""

from __future__ import annotations

import dataclasses
import json
import time

from empathy import wire

KEY = bytes(range(32))
N = 50_000


def _samples(n):
    return [wire.SeatSample(7, i % 300, i, 10**12 + i * 100_000, 72.31, 41.5, 4.321, 0.25,
                            -0.1, 3, 0.8, 0x5F) for i in range(n)]


def _rate(fn, items) -> float:
    t = time.perf_counter()
    fn(items)
    return len(items) / (time.perf_counter() - t)


def run() -> list[dict]:
    items = _samples(N)
    keys = {7: KEY}

    def ours(xs):
        for s in xs:
            wire.decode(wire.encode(s, KEY), keys)

    def peer(xs):  # JSON carries no tag: the peer does less work than we do
        for s in xs:
            json.loads(json.dumps(dataclasses.asdict(s)))

    ours(items[:2000]), peer(items[:2000])  # warm up
    r_ours = max(_rate(ours, items) for _ in range(3))
    r_json = max(_rate(peer, items) for _ in range(3))
    size_json = len(json.dumps(dataclasses.asdict(items[0])).encode())
    return [
        {"name": "wire encode+decode+verify", "value": r_ours, "unit": "pkt/s",
         "peer": "json dumps+loads (no auth)", "peer_value": r_json, "ratio": r_ours / r_json},
        {"name": "wire bytes per sample", "value": float(wire.PACKET_SIZE), "unit": "bytes",
         "peer": "json (no auth)", "peer_value": float(size_json),
         "ratio": wire.PACKET_SIZE / size_json},
    ]
