"""A seat's chest strap failing mid-film, as real ones do, said as a real driver says it.

`sim://seat?fault=KIND@FROM:TO`: from FROM to TO seconds into the film as the seat sees it
(from the first picture of a segment), the seat's strap is out and its source says
so with the `Health` words the BLE strap driver uses (sensors/ble/strap.py):

- `no_skin`: the electrodes dried out or the strap slid; its contact bit reads no skin.
- `strap_gone`: the link dropped (out of range, a flat battery): "disconnected".

Meanwhile the strap's readings (RR intervals, its raw ECG with `ecg=1`) are not sent, so
the seat reads no heart rate, as for a loose strap; pupil and face go on (the truth file's
`nuisance` column names the fault). Once it is back
the source says contact again with no fault, as the driver does. The edge turns the words
into the wire's fault codes (edge/seat_faults.py) like any hardware's.

`empathy demo` gives one seat (a seeded choice) one such fault mid-film (`demo_fault`).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from empathy.sensors.base import NO_SKIN, STRAP_GONE, Beat, Health, Waveform

KINDS = {"no_skin": NO_SKIN, "strap_gone": STRAP_GONE}
LONGEST_S = 8.0  # the demo's fault: long enough for the unit to repeat it (every 5 s)
SHARE = 0.35  # ...and never more than this share of the film, starting at 25-35 % of it


class SensorFault:
    """One scripted span in which the seat's strap is out (`fault=` of the seat's URL)."""

    def __init__(self, spec: str):
        kind, at, span = spec.partition("@")
        a, colon, b = span.partition(":")
        try:
            self.from_s, self.to_s = float(a), float(b)
        except ValueError:
            self.from_s = self.to_s = math.nan
        if not (at and colon and 0 <= self.from_s < self.to_s <= 86400):
            raise ValueError(f"fault {spec!r} must be KIND@FROM:TO (seconds into the film)")
        if kind not in KINDS:
            raise ValueError(f"fault kind {kind!r} must be one of {', '.join(KINDS)}")
        self.kind, self.text = kind, KINDS[kind]
        self.film_us: Optional[int] = None  # the seat's first step with a segment shown
        self.on = False

    def step(self, t_us: int, clip: str, contact: bool, out: list, start: int) -> None:
        """After one step of the seat: `out[start:]` its readings, `contact` its strap's
        own; while out, the strap's readings go and its fault is said instead."""
        if self.film_us is None and clip:
            self.film_us = t_us
        film_s = -1.0 if self.film_us is None else (t_us - self.film_us) / 1e6
        on = self.from_s <= film_s < self.to_s
        if on:
            # the viewer's own contact changes (a loose strap) are the strap's too: unsaid
            out[start:] = [r for r in out[start:] if not _strap(r)]
        if on != self.on:
            self.on = on
            out.append(Health(t_us, "sim", contact=not on and contact, battery_pct=100.0,
                              fault=self.text if on else ""))


def _strap(r) -> bool:
    return isinstance(r, (Beat, Health)) or isinstance(r, Waveform) and r.kind == "ecg"


def demo_fault(seed: int, seats: int, film_s: float, taken: set) -> dict[int, str]:
    """The demo's one fault, seeded: {unit: its seat's `&fault=`}, a simulated seat's
    (units 1..`seats` but those `taken` by other sources); none in a film under 3 s."""
    units = [u for u in range(1, seats + 1) if u not in taken]
    if not units or film_s < 3:
        return {}
    rng = np.random.default_rng([seed, 7031])
    unit = int(rng.choice(units))
    kind = str(rng.choice(sorted(KINDS)))
    at = film_s * float(rng.uniform(0.25, 0.35))
    return {unit: f"&fault={kind}@{at:.1f}:{at + min(LONGEST_S, SHARE * film_s):.1f}"}
