"""A heart-rate device's own figure (the 0x2A37 HR field), for a seat whose device sends no
RR intervals: a watch broadcasting heart rate, an optical armband in HR mode, many cheap
chest straps. The seat reads it only where no source gives beats (a device that sends
intervals keeps the beat path, edge/heart_window.py; see SeatFeatures._heart).

The figure is the device's own average, in whole bpm, of an undocumented length. It counts
while the device says it is on the skin (or cannot tell), it is a rate a heart makes, it is
fresh, and it moves: a device without a contact sensor that repeats its last figure off the
body, or one that froze, sends the same number on and on, which a heart's averaged rate does
not (see STUCK_S). 0 is the device's "no reading". There are no intervals: no HRV.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Optional

import numpy as np

from empathy.edge.hrv import RR_RANGE_MS
from empathy.edge.profile import LAG_MAX_MS

RATE_BPM = (60000.0 / RR_RANGE_MS[1], 60000.0 / RR_RANGE_MS[0])  # the beat path's range
FRESH_S = 5.0  # the newest figure at most this old (a notification a second, some lost)
# ... or, for a device that notifies less often (a watch relaying its rate every few
# seconds, an armband in power save), LATE of its own usual spacings (one notification
# lost), that spacing taken as at most SLOWEST_S: a figure older than 2 x 5 s is no rate now
LATE = 2.0
SLOWEST_S = 5.0
MIN_FIGURES = 3  # on the skin for this many figures in a row before the first HR (a
# device's first figures come from its first few beats)
# figures kept: an early device's (a negative lag, up to LAG_MAX_MS) come stamped ahead of
# now, and the one shown is the newest at or before now; at most a figure a beat
HELD = int(LAG_MAX_MS / RR_RANGE_MS[0]) + MIN_FIGURES + 2
# The same figure this long: repeated or frozen, not a heart. The longest run of one figure
# of the simulated device (sim/hr_device.py, and with half its smoothing) on the real RR
# series of bench/strap_loss.py's tuning records: 16 s (22 s); its own steady sinus and
# bigeminy reach 70 and 43 s (a heart that steady loses HR for spells: HR_OK 0.81, 0.92)
STUCK_S = 30.0
# Its weight in the arousal, as the beat path's window quality is (a strap's, a notification
# a second, no loss: median 0.94 on mitdb-100 and systole-rr, 0.92 on mitdb-106). The figure
# lags and rounds: its reliability (the variance of the true 8-s rate over that plus its
# error's, bench/strap_loss.py at no loss) is 0.92 of the beat path's on the tuning
# records' real RR series (median of 9; 0.95 over all 13 rhythms): 0.92 x 0.94, rounded down
QUALITY = 0.85


class DeviceRate:
    """Feed the device's figures with `add`; `rate(now_us)` gives (HR, quality)."""

    def __init__(self, lag_us: int = 0):
        # the device's calibrated lag (edge.profile), taken off its stamps: how old a figure
        # is (FRESH_S, STUCK_S) is the device's notifications' matter, so as they arrived
        self.lag_us = lag_us
        self.figures: deque = deque(maxlen=HELD)  # (ts_us, bpm) on the skin, in a row, the
        # newest last (the last few's spacing is the device's cadence)
        self.run = 0  # figures on the skin in a row
        self.last_us: Optional[float] = None  # the newest notification's time
        self.since_us: Optional[float] = None  # when the newest figure's value began
        self.rejected = 0  # figures no heart makes (0, the device's "no reading", is not)
        self.worn = False  # the newest notification said the device is on the skin

    def add(self, ts_us: float, bpm: float, contact: Optional[bool]) -> bool:
        """One notification's figure; True where it is a heart's (a viewer is there: a seat
        that had none for a while starts a new baseline, SeatFeatures._new_viewer). Off
        the skin, 0, or out of range: the figures so far are forgotten (no HR until new
        ones come), as at a stamp before the last (its clock set back)."""
        if not math.isfinite(ts_us):
            self.rejected += 1
            return False
        back = self.last_us is not None and ts_us < self.last_us  # a clock set back
        self.last_us, self.worn = ts_us, contact is True
        plausible = math.isfinite(bpm) and RATE_BPM[0] <= bpm <= RATE_BPM[1]
        self.rejected += int(back or (bpm != 0 and not plausible))  # (numpy's bool: not JSON)
        if back or not plausible or contact is False:
            self.figures.clear()
            self.run = 0
            return False
        if not self.figures or self.figures[-1][1] != bpm:
            self.since_us = ts_us
        self.figures.append((ts_us, float(bpm)))
        self.run += 1
        return ts_us - self.since_us < STUCK_S * 1e6  # (a stuck figure: nobody there)

    def fresh_us(self) -> float:
        """How old the newest figure may be: FRESH_S, or LATE of the device's own median
        spacing (at most SLOWEST_S) where that is longer."""
        ts = [t for t, _ in self.figures][-(MIN_FIGURES + 2):]
        gap = float(np.median(np.diff(ts))) if len(ts) > 1 else 0.0
        return max(FRESH_S * 1e6, LATE * min(gap, SLOWEST_S * 1e6))

    def rate(self, now_us: float) -> tuple[float, float]:
        """(HR, 0: none; quality): the newest figure, while the newest notification was a
        figure on the skin, fresh (`fresh_us`), after MIN_FIGURES in a row, and unless the
        figure has stood still for STUCK_S. The newest at or before now: an early device's
        newer ones, its lag undone, count when their time comes. Not a mean of figures: the
        device averaged already, and more lag cost more than rounding did (tuning,
        bench/strap_loss.py --device hr, the 13 rhythms' median |err| p90: newest 3.47 bpm,
        a mean over 2, 3, 5, 8 s 3.56, 3.57, 4.19, 4.69)."""
        f, at_us = self.figures, now_us - self.lag_us  # (now on the stamps' clock)
        ahead = sum(t > now_us for t, _ in f)
        if (self.run - ahead < MIN_FIGURES or ahead == len(f)
                or at_us - f[-1][0] > self.fresh_us() or at_us - self.since_us >= STUCK_S * 1e6):
            return 0.0, 0.0
        return f[-1 - ahead][1], QUALITY
