"""A heart-rate notification's RR intervals as beats stamped on the unit's clock (the BLE
strap driver's, sensors/ble/strap.py; bench/strap_loss.py and the tests stamp with it too)."""

from __future__ import annotations

from empathy.sensors.base import Beat

# an RR of 0 is no interval, and one over RR_MAX_MS spans lost contact, not a heartbeat:
# both are left out. A short one (a double count) stays: the artefact corrector merges it
# with its neighbours, which it cannot do once it is gone (dropping those under 200 ms at
# entry took the median RMSSD error on systole-rr's double counts from 1.2 to 5.5 %)
RR_MAX_MS = 6000.0


def beats_from(rr_1024: list[int], arrival_us: int, last_beat_us: int) -> list[Beat]:
    """Stamp a notification's RR intervals: the last one ended at arrival, each earlier one
    ended where the next began; never at or before the previous notification's last beat.
    An interval of 0 or over RR_MAX_MS is left out; the others keep their times.
    An arrival before that last beat is the host's clock set back (a beat is never stamped
    after its notification came, and notifications come in order): the beats are stamped
    on the new clock with no floor from the old one, and the seat moves what it holds onto
    it (HeartWindow.add_rr). Held at the old last beat instead, a -10 s step stamped ten
    seconds of beats a microsecond apart (mitdb-106, a notification a beat, 20 % loss: 13 HR_OK
    estimates over 5 bpm off against 5 without the step)."""
    if arrival_us < last_beat_us:
        last_beat_us = 0
    out, t = [], arrival_us
    for rr in reversed(rr_1024):
        out.append(Beat(t, rr * 1000.0 / 1024.0))
        t -= rr * 1_000_000 // 1024
    out.reverse()
    out = [b for b in out if 0.0 < b.rr_ms <= RR_MAX_MS]
    for i, b in enumerate(out):  # a late notification must not reorder beats
        floor = (out[i - 1].ts_us if i else last_beat_us) + 1
        if b.ts_us < floor:
            out[i] = Beat(floor, b.rr_ms)
    return out
