"""Resting baselines before the film: the show starts once every seat has its baseline.

Each edge unit learns its viewers at rest for `baseline_s` and then sets `Flag.CALIBRATED`
on their samples (edge/features.py); until then a seat is measured against population
priors. So the film waits for that flag on every seat it expects, up to a timeout: a seat
that never reports one (no sensor, a unit still booting) must not keep the audience
waiting forever, so the film then starts anyway and the log and the summary say so.

`BaselineWatch` is a show observer that notes when each seat first said CALIBRATED after
having been seen without it (a seat already calibrated when first heard counts at once),
and its heart rate during the baseline; `wait_for_baselines` pumps the show until every
expected seat is ready.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterable, Optional

import numpy as np

from empathy.clock import now_us
from empathy.wire import Flag

log = logging.getLogger("empathy.host.baseline")

SETTLE_S = 2.0  # with no seat list: no new seat heard for this long means all are here


class BaselineWatch:
    """Show observer (`show.subscribe(watch)`): when each seat's baseline was ready.

    fresh=True (a kiosk's new visitor): a seat counts only once it has been seen without
    CALIBRATED and then with it, so a baseline left over from someone else never does.
    """

    def __init__(self, fresh: bool = False, clock: Callable[[], int] = now_us):
        self.fresh, self.clock = fresh, clock
        self.started_us = clock()
        self.heard_us: dict[int, int] = {}  # seat -> first sample's ts
        self.ready_us: dict[int, int] = {}  # seat -> first CALIBRATED sample's ts
        self.resting: dict[int, list] = {}  # seat -> HR (bpm) of its baseline samples
        self._uncalibrated: set[int] = set()
        self.last_new_us = self.started_us

    def __call__(self, kind: str, data) -> None:
        if kind == "samples":
            self.see(data)

    def see(self, samples: Iterable) -> None:
        for s in samples:
            seat = s.seat_id
            if seat not in self.heard_us:
                self.heard_us[seat] = s.ts_us
                self.last_new_us = self.clock()
            if seat in self.ready_us:
                continue
            if s.flags & Flag.CALIBRATED:
                if not self.fresh or seat in self._uncalibrated:
                    self.ready_us[seat] = s.ts_us
                    log.info("seat %d: baseline ready", seat, extra={"seat": seat})
            else:
                self._uncalibrated.add(seat)
                if s.flags & Flag.HR_OK and s.hr_bpm > 0:
                    self.resting.setdefault(seat, []).append(s.hr_bpm)

    def pending(self, expected: Optional[Iterable[int] | int] = None) -> Optional[int]:
        """Seats still without a baseline; None while it is too early to say (no seat list
        and seats may still be arriving)."""
        if isinstance(expected, int):
            return max(expected - len(self.heard_us), 0) + len(set(self.heard_us)
                                                                - set(self.ready_us))
        if expected is not None:
            return len(set(expected) - set(self.ready_us))
        if not self.heard_us or self.clock() - self.last_new_us < SETTLE_S * 1e6:
            return None
        return len(set(self.heard_us) - set(self.ready_us))

    def resting_bpm(self, seat: int) -> Optional[float]:
        hr = self.resting.get(seat)
        return round(float(np.mean(hr)), 1) if hr else None

    def record(self, film_t0_us: int, expected: Optional[int] = None) -> dict:
        """For summary.json: when each seat was ready, in seconds from the start of the film
        (negative: before it; null: never)."""
        seats = {str(s): (round((self.ready_us[s] - film_t0_us) / 1e6, 2)
                          if s in self.ready_us else None) for s in sorted(self.heard_us)}
        before = [s for s, t in self.ready_us.items() if t <= film_t0_us]
        enough = len(self.heard_us) >= (expected or 1)
        return {"all_calibrated_before_film": enough and len(before) == len(self.heard_us),
                "seats": seats}


def wait_for_baselines(show, expected: Optional[Iterable[int] | int], timeout_s: float,
                       watch: Optional[BaselineWatch] = None,
                       progress: Optional[Callable[[float, int, int], None]] = None,
                       startup_s: float = 0.0,
                       give_up: Optional[Callable[[], bool]] = None) -> dict:
    """Pump the show (packets in, nothing on screen yet) until every expected seat has its
    baseline or `timeout_s` passes. `expected`: a number of seats, their ids, or None for
    every seat that shows up. `startup_s`: how long the units may take to be heard at all
    before `timeout_s` starts counting (the demo's own freshly started units: on a loaded
    machine or a Pi their start alone has taken 30 s). `give_up`: true ends the wait (the
    demo's units have all exited: nobody is left to be ready). Returns {waited_s, timeout_s,
    fallback}; the watch stays subscribed so seats that get there after the film started
    are noted too."""
    if watch is None:
        watch = BaselineWatch()
    if watch not in show.listeners:
        show.subscribe(watch)
    t0 = time.monotonic()
    counting_from = t0 + startup_s  # the first seat heard starts the count, if sooner
    left = None
    # a stop (SIGTERM, Ctrl-C) while viewers settle ends the wait, not only the film
    while time.monotonic() - counting_from < timeout_s and not show.ending.is_set():
        show.pump(timeout_s=0.05)
        if watch.heard_us and counting_from > time.monotonic():
            counting_from = time.monotonic()
        left = watch.pending(expected)
        if progress:
            progress(time.monotonic() - t0, len(watch.ready_us), len(watch.heard_us))
        if left == 0 or (give_up and give_up()):
            break
    waited = round(time.monotonic() - t0, 2)
    fallback = left != 0
    if fallback and not show.ending.is_set():
        n = expected if isinstance(expected, int) else (
            len(set(expected)) if expected is not None else len(watch.heard_us))
        log.warning("baseline: %d of %s seats ready after %.0f s; starting the film anyway "
                    "(the others are measured against population priors until theirs is "
                    "taken)", len(watch.ready_us), n, waited,
                    extra={"ready": len(watch.ready_us), "expected": n, "waited_s": waited})
    return {"waited_s": waited, "timeout_s": timeout_s, "fallback": fallback}
