"""Host receive path under a flood: packets/s the intake gets through when what arrives is
forged, side by side with clean traffic.

The flood is what anyone on the sensor network can send without a key: forged samples
(known units, wrong tags), forged clock-sync requests and heartbeats, and junk of any
length; "mixed" is a quarter of each. Clean is 1,000 units' genuine samples. Every figure
is `Intake.feed_array` on one core in batches of 4096, a fresh intake per run, the best of
5 rounds in which every mix takes its turn; the last in-memory row compares the bulk
control path with verifying forged sync requests one by one (`wire.decode_sync` per
packet, the path before bulk verification). Over
loopback UDP, a sender process blasts each mix at the host's socket; the host reads and
feeds its intake: packets handled per second, all verdicts.
"""

from __future__ import annotations

import os
import random
import time

from empathy import wire
from empathy.bench.bench_link import ALL_CORES, BATCH, _best_rate, _over_udp
from empathy.host.receive import Intake

UNITS = 1_000
N = 100_000
T0 = 10**12  # the packets' host-clock stamps; the intake is told this is now


def _forged(rng: random.Random, kind: str, i: int) -> bytes:
    unit = 1 + i % UNITS
    fake = rng.randbytes(32)
    if kind == "sample":
        return wire.encode(wire.SeatSample(unit, unit, 10**6 + i, T0, 70.0, flags=0x1F), fake)
    if kind == "sync":
        return wire.encode_sync(wire.SyncRequest(unit, 10**6 + i, i), fake)
    if kind == "heartbeat":
        return wire.encode_health(wire.Health(unit, 10**6 + i, T0), fake)
    return rng.randbytes(rng.randrange(1, 64))  # junk


def mixes() -> tuple[dict, dict[str, list[bytes]]]:
    rng = random.Random(7)
    keys = {u: rng.randbytes(32) for u in range(1, UNITS + 1)}
    clean = [wire.encode(wire.SeatSample(1 + i % UNITS, 1 + i % UNITS, i // UNITS, T0 + i,
                                         70.0, 40.0, 3.5, 0.2, 0.1, 3, 0.8, 0x1F),
                         keys[1 + i % UNITS]) for i in range(N)]
    out = {"clean samples": clean}
    for kind in ("sample", "sync", "heartbeat", "junk"):
        out[f"forged {kind}s" if kind != "junk" else "junk"] = [
            _forged(rng, kind, i) for i in range(N)]
    out["mixed flood"] = [out[k][i] for i in range(N // 4) for k in
                          ("forged samples", "forged syncs", "forged heartbeats", "junk")]
    return keys, out


def _rates(keys: dict, sets: dict[str, list[bytes]], rounds: int = 5) -> dict[str, float]:
    """Best rate per mix over `rounds`, the mixes taken in turn within each round: on a
    shared machine a burst of load then hits every mix alike, not one."""
    best = dict.fromkeys(sets, 0.0)
    for _ in range(rounds):
        for name, packets in sets.items():
            intake = Intake(keys)
            t = time.perf_counter()
            for i in range(0, len(packets), BATCH):
                intake.feed_array(packets[i:i + BATCH], T0)
            best[name] = max(best[name], len(packets) / (time.perf_counter() - t))
            assert intake.received == len(packets)
    return best


def _one_by_one(keys: dict, packets: list[bytes]) -> float:
    def go(_):
        for p in packets:
            try:
                wire.decode_sync(p, keys)
            except wire.WireError:
                pass
    return _best_rate(go, len(packets), 5)


def run() -> list[dict]:
    if ALL_CORES:  # the host side on one core, as in bench_link
        os.sched_setaffinity(0, {ALL_CORES[0]})
    keys, sets = mixes()
    rates = _rates(keys, sets)
    clean = rates["clean samples"]
    out = [{"name": "intake: clean samples", "value": clean, "unit": "pkt/s", "peer": None,
            "peer_value": None, "ratio": None}]
    for name, r in rates.items():
        if name != "clean samples":
            out.append({"name": f"intake: {name}", "value": r, "unit": "pkt/s",
                        "peer": "clean samples", "peer_value": clean, "ratio": r / clean})
    scalar = _one_by_one(keys, sets["forged syncs"])
    out.append({"name": "intake: forged syncs (bulk)", "value": rates["forged syncs"],
                "unit": "pkt/s", "peer": "one by one (decode_sync)", "peer_value": scalar,
                "ratio": rates["forged syncs"] / scalar})
    for name in ("clean samples", "mixed flood"):
        intake = Intake(keys)
        handled, _ = _over_udp(sets[name][:20_000],
                               lambda b: (intake.feed_array(b, T0), len(b))[1])
        rates[f"udp {name}"] = handled
    u_clean, u_flood = rates["udp clean samples"], rates["udp mixed flood"]
    out.append({"name": "UDP loopback read+intake: mixed flood", "value": u_flood,
                "unit": "pkt/s", "peer": "clean samples", "peer_value": u_clean,
                "ratio": u_flood / u_clean})
    return out
