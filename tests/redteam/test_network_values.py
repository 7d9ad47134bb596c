"""Authentic packets carrying values no body makes: a unit's firmware bug, a glitching
sensor, or a stolen unit key. The tag proves who sent a sample, not that its numbers are
possible; the guide asks every value from the network to be range-checked where it
enters (host/receive.py's Intake, through empathy/wire_batch.py and empathy/wire/)."""

import os

import pytest

from empathy import wire
from empathy.clock import now_us
from empathy.host.receive import Intake

F = wire.Flag
OK_FLAGS = F.HR_OK | F.HRV_OK | F.PUPIL_OK | F.CONTACT


def fed(**values):
    key = os.urandom(32)
    intake = Intake({7: key})
    good = {"hr_bpm": 72.0, "pupil_mm": 4.2, "rmssd_ms": 45.0}
    sample = wire.SeatSample(7, 70, 1, now_us(), flags=OK_FLAGS, **good)
    # what a unit without the encoder's range check (older or other firmware) sends
    body = bytearray(wire.encode(sample, key)[:wire.BODY_SIZE])
    for name, v in values.items():
        at = {"hr_bpm": 15, "rmssd_ms": 17, "pupil_mm": 19}[name]
        body[at:at + 2] = round(v / wire.RANGES[name].step).to_bytes(2, "big")
    return intake.feed([bytes(body) + wire.tag(key, bytes(body))]), intake


def test_a_plausible_sample_is_taken():
    got, _ = fed()
    assert len(got) == 1 and got[0].hr_bpm == pytest.approx(72.0)


@pytest.mark.parametrize("values", [{"hr_bpm": 600.0}, {"hr_bpm": 5.0}, {"pupil_mm": 60.0}],
                         ids=["hr-600", "hr-5", "pupil-60mm"])
def test_an_impossible_value_is_refused_or_not_marked_good(values):
    got, intake = fed(**values)
    if got:  # taken: then without the flag that vouches for the impossible value
        (s,) = got
        assert not (s.flags & F.HR_OK and not 20 <= s.hr_bpm <= 300), s
        assert not (s.flags & F.PUPIL_OK and not 0.5 <= s.pupil_mm <= 12), s
    else:
        assert intake.rejected["bad_field"] == 1, dict(intake.rejected)
