"""Clocks. Every stage passes timestamps in monotonic microseconds (`ts_us`).

On the edge unit, `HostClock` maps the unit's own monotonic clock onto the host's with an
offset and a drift (ppm). Units on the host machine share CLOCK_MONOTONIC, so the identity
mapping is exact there; networked units estimate offset/drift by clock sync.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


def now_us() -> int:
    """This machine's monotonic clock in microseconds."""
    return time.monotonic_ns() // 1000


@dataclass
class HostClock:
    """host_us = local_us + offset_us + drift_ppm * (local_us - ref_us) / 1e6"""

    offset_us: float = 0.0
    drift_ppm: float = 0.0
    ref_us: int = 0

    def to_host(self, local_us: int) -> int:
        return int(local_us + self.offset_us + self.drift_ppm * (local_us - self.ref_us) * 1e-6)

    def now(self) -> int:
        return self.to_host(now_us())
