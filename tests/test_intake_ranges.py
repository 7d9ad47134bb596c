"""Values no body makes, from authentic units: dropped on arrival with the rest of the
sample kept, counted per unit, a faulty sensor shown as such, the log rate-limited."""

import logging

import numpy as np

from empathy import wire
from empathy.host.receive import Intake
from empathy.keys import Keystore
from wire_forge import authentic

KEYS = Keystore.new([1, 2]).units
F = wire.Flag
GOOD = dict(hr_bpm=72.0, rmssd_ms=45.0, pupil_mm=4.2, flags=F.HR_OK | F.HRV_OK | F.PUPIL_OK)
T0 = 10**12


def _packet(unit, seat, seq, t, **values):
    return authentic(wire.SeatSample(unit, seat, seq, t, **GOOD), KEYS[unit], **values)


def test_a_faulty_pupil_loses_the_pupil_only_and_the_unit_shows_it(caplog):
    intake = Intake(KEYS, clock=lambda: T0)
    got = []
    with caplog.at_level(logging.WARNING, "empathy.host.receive"):
        for i in range(50):  # unit 1's seat 10 has a broken tracker; unit 2 is fine
            got += intake.feed([_packet(1, 10, i, T0, pupil_mm=60.0),
                                _packet(2, 20, i, T0)], rx_us=T0)
    assert len(got) == 100 and intake.rejected == {}
    bad = [s for s in got if s.unit_id == 1]
    assert all(s.pupil_mm == 0 and not s.flags & F.PUPIL_OK for s in bad)
    assert all(s.hr_bpm == 72.0 and s.flags & F.HR_OK and s.rmssd_ms == 45.0 for s in bad)
    assert all(s.pupil_mm == 4.2 and s.flags & F.PUPIL_OK for s in got if s.unit_id == 2)
    report = {u["unit"]: u["impossible"] for u in intake.unit_report(T0)}
    assert report == {1: {"hr_bpm": 0, "rmssd_ms": 0, "pupil_mm": 50},
                      2: {"hr_bpm": 0, "rmssd_ms": 0, "pupil_mm": 0}}
    lines = [r.getMessage() for r in caplog.records]
    assert 1 <= len(lines) <= 5, lines  # 50 batches, a few lines
    assert "unit 1 seat 10 sent pupil_mm outside what a body makes (0.5..12 mm)" in lines[0]


def test_a_sensor_sending_only_impossible_values_goes_quiet_and_says_why():
    """Seat 10's strap is good for 1 s, then says 600 bpm; seat 11's pupil tracker never
    says anything but 60 mm. Both go quiet after quiet_s, saying why; the rest stays."""
    now = [T0]
    intake = Intake(KEYS, clock=lambda: now[0], quiet_s=1.0)
    said = {}
    for i in range(40):  # 4 s at 10 Hz
        now[0] = t = T0 + i * 100_000
        hr = {} if i < 10 else {"hr_bpm": 600.0}
        intake.feed([_packet(1, 10, 2 * i, t, **hr), _packet(1, 11, 2 * i + 1, t, pupil_mm=60.0)],
                    rx_us=t)
        for e in intake.check_health(now=t):
            said[(e["event"], e["seat"], e["sensor"])] = (i, e.get("why"))
    assert said == {("sensor_quiet", 11, "pupil"): (11, "impossible values"),
                    ("sensor_quiet", 10, "hr"): (20, "impossible values")}
    assert intake.health.impossible_of(1) == {"hr_bpm": 30, "rmssd_ms": 0, "pupil_mm": 40}
    assert np.count_nonzero(intake.health.impossible) == 2
