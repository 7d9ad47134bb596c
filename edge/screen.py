"""What is on screen, as the host's screen cues tell this unit.

The light reflex needs the picture's luminance; simulated viewers need to know what they
are watching. A listener thread keeps the latest cue; `now()` extrapolates the position.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Optional

from empathy import wire


FRESH_US = 2_000_000  # a cue older (or newer) than this on the host clock is refused
# Signature checks a second, at most: five times the host's 10 Hz. A signature check costs
# 25-50x an HMAC (`empathy bench cue`), so a flood of forged cues could otherwise take the
# unit's CPU from its sensing; beyond this it is dropped unchecked and counted (`shed`).
CHECKS_PER_S = 50


class ScreenState:
    """`cue_public`: the host's public cue key (the unit keystore's `cue_public_key`), which
    checks the cues' signatures. `host_now`: this unit's estimate of the host clock (µs).
    Cues carry the host's time; only fresh ones that move forward are taken, so a recorded
    cue replayed later is refused (the signature alone would let it through)."""

    def __init__(self, port: int, cue_public: bytes, host: str = "127.0.0.1",
                 host_now: Optional[Callable[[], int]] = None):
        self.verifier = wire.CueVerifier(cue_public)
        self.host_now = host_now
        self.last: Optional[wire.ScreenCue] = None
        self.stale = 0
        self.clip, self.clip_t, self.lum, self.at = "", 0.0, 0.3, time.monotonic()
        self.rejected = self.taken = self.shed = 0
        self._budget, self._refilled = float(CHECKS_PER_S), time.monotonic()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._listen, name="screen-cues", daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(256)
            except (socket.timeout, OSError):
                continue
            if not self._spend():
                self.shed += 1
                continue
            try:
                cue = wire.decode_cue(data, self.verifier)
            except wire.WireError:
                self.rejected += 1
                continue
            if not self._fresh(cue):
                self.stale += 1
                continue
            self.last = cue
            self.taken += 1
            self.clip, self.clip_t, self.lum = cue.clip_id, cue.clip_ms / 1000, cue.luminance
            self.at = time.monotonic()

    def _spend(self) -> bool:
        """A token bucket of CHECKS_PER_S a second, holding one second's worth."""
        t = time.monotonic()
        self._budget = min(CHECKS_PER_S, self._budget + (t - self._refilled) * CHECKS_PER_S)
        self._refilled = t
        if self._budget < 1:
            return False
        self._budget -= 1
        return True

    def use_key(self, cue_public: bytes) -> None:
        """The host's cue key was rotated: check cues with the new one from now on."""
        self.verifier = wire.CueVerifier(cue_public)

    def _fresh(self, cue: wire.ScreenCue) -> bool:
        if self.host_now is not None:
            age = (self.host_now() - cue.ts_us) & wire.TS_MASK
            if min(age, wire.TS_MASK + 1 - age) > FRESH_US:
                return False
        last = self.last
        # a restarted host starts its sequence again, but its clock keeps going
        return last is None or cue.seq > last.seq or cue.ts_us > last.ts_us + FRESH_US

    def now(self) -> tuple[str, float, float]:
        """(segment id, seconds into it, luminance) as of this instant."""
        stale = time.monotonic() - self.at
        if stale > 2.0:  # no cues: the show is not running (or the host is gone)
            return "", 0.0, self.lum
        return self.clip, self.clip_t + stale, self.lum

    def close(self) -> None:
        self._stop = True
        self.thread.join(1)  # its recv times out within 0.2 s: then the port is free
        self.sock.close()
