"""The host's clock steps (NTP, chrony, someone setting it) under a chest strap's seat: the
BLE driver's own stamping (`beats_from`, through bench/strap_loss.py: every notification
encoded, parsed and stamped, its readings into a SeatFeatures) on its own rhythms and real
RR series, a notification a beat or a second, with and without lost notifications. Against
the same run without the step: the HR_OK values more than 5 bpm off the heart's rate
(`bad`) and the HR_OK share. A step back (an arrival before the last beat stamped) must
cost nothing beyond one estimate: held at the old clock's last beat, a -10 s step stamped
ten seconds of beats a microsecond apart (mitdb-106 at 20 % loss, two draws: HR_OK
0.28 -> 0.35, bad 5 -> 13). A small step back, within a notification's spacing, cannot be
told from BLE jitter, nor a step forward from lost notifications (both stay gaps): those
are held to what they cost when measured (at most 3 more bad, HR_OK at most 0.06 lower)."""

import numpy as np
import pytest

from corpus_records import need
from empathy.bench import strap_loss as S

STEPS = (-10.0, -3.0, -0.5, 0.5, 3.0, 10.0)
CASES = ("sinus", "bigeminy", "af", "mitdb-106", "pyhrv-nni-long")


def rows(name: str, link: str, loss: float, step: float):
    rr = (S.RHYTHMS[name](S.SPAN_S, np.random.default_rng(1000)) if name in S.RHYTHMS
          else S.record_rr(name, S.SPAN_S))
    return S.score([S.seat_rows(rr, link, loss, seed=0, step_s=step)])


@pytest.mark.parametrize("loss", [0.0, 0.2])
@pytest.mark.parametrize("link", ["beat", "second"])
@pytest.mark.parametrize("name", CASES)
def test_a_clock_step_costs_a_strap_seat_nothing_it_can_tell(name, link, loss):
    if name not in S.RHYTHMS:
        need(name)
    base = rows(name, link, loss, 0.0)
    for step in STEPS:
        got = rows(name, link, loss, step)
        if step <= -3.0:
            # one: a step while a notification is lost moves the held beats by the lost
            # beats' time too (nothing tells them apart)
            assert got["bad"] <= base["bad"] + 1, (step, got, base)
            assert abs(got["hr_ok"] - base["hr_ok"]) <= 0.03, (step, got, base)
        else:
            assert got["bad"] <= base["bad"] + 3, (step, got, base)
            assert got["hr_ok"] >= base["hr_ok"] - 0.06, (step, got, base)


def test_an_arrival_before_the_last_beat_is_stamped_on_the_new_clock():
    """The driver's stamping itself: ordinary jitter keeps the floor, a step back drops it."""
    from empathy.sensors.ble.strap import beats_from
    late = beats_from([1024, 1024], 10_000_000, 9_500_000)  # the first would be at 9.0 s
    assert [b.ts_us for b in late] == [9_500_001, 10_000_000]
    stepped = beats_from([1024, 1024], 5_000_000, 9_500_000)  # the clock went back 5 s
    assert [b.ts_us for b in stepped] == [4_000_000, 5_000_000]
