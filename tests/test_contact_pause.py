"""Lost contact (the wire's CONTACT bit) against the heart's own pauses: an ECG whose raw
line still moves is on the body, and a gap in its beats is a pause (sick sinus, AV block)
up to seat_wave.ECG_PAUSE_S; a line standing still (leads off on the rail, a sensor
unplugged) is lost contact within a second. A PPG without a pulse for LOST_GAP_S is off
the skin, as before. Real records through a seat (bench/contact_pause.py)."""

import numpy as np
import pytest

from corpus_records import need
from empathy.bench import contact_pause
from empathy.edge.hrv import LOST_GAP_S
from empathy.edge.seat_wave import ECG_PAUSE_S


def test_a_sick_sinus_pause_keeps_the_contact_bit():
    """qtdb-sel232 (tuning): 21 annotated intervals of 2 s or more, up to 5.6 s. Before:
    CONTACT off in 14 of 341 estimates, all in a pause or within 1 s of its end."""
    need("qtdb-sel232")
    r = contact_pause.pauses("qtdb-sel232")
    assert r["pauses"] >= 15 and r["longest_s"] > 5
    assert r["contact_off"] == 0, r


@pytest.mark.parametrize("how", ["rail", "zero"])
def test_leads_off_on_a_still_line_lose_contact_within_a_second(how):
    """The front end on its rail, or a board reading zeros: CONTACT off within a second of
    the unplug, wherever it falls in the cardiac cycle and in a record with pauses. Before:
    2.3-3.1 s (no beat candidate for LOST_GAP_S)."""
    need("qtdb-sel232")
    assert contact_pause.time_to_off("qtdb-sel232", how, back=False)[0] <= 1.0


@pytest.mark.parametrize("how", ["hum", "quiet"])
def test_an_unplug_that_leaves_a_live_line_loses_contact_after_the_longest_pause(how):
    """A floating input (mains hum and noise, or noise alone) is not told from a pause by
    the line: no beat for ECG_PAUSE_S is lost contact (before: LOST_GAP_S, 3 s)."""
    need("mitdb-100")
    t = contact_pause.time_to_off("mitdb-100", how, back=False)[0]
    assert t is not None and LOST_GAP_S < t <= ECG_PAUSE_S + 0.5


def test_a_ppg_without_a_pulse_still_loses_contact_after_lost_gap_s():
    """A finger off the clip: no pulse, the line not still (ambient light, noise). PPG
    keeps LOST_GAP_S: a 3-s gap in a pulse is more likely lost contact than a pause."""
    from empathy.bench.seat_hrv import T0_US, seat_stream
    from empathy.edge.heart_corpus import record_data
    from empathy.wire import Flag

    x, fs = record_data(need("systole-ppg"))
    at = 40.0
    y = contact_pause.unplugged(x[:int(60 * fs)], fs, at, "quiet")
    y[int(at * fs):] = y[int(at * fs):] * np.std(x) + np.median(x)
    lost = next((now - T0_US) / 1e6 - at for now, e, _ in seat_stream(y, fs, 0.1, "ppg")
                if (now - T0_US) / 1e6 > at and not e["flags"] & Flag.CONTACT)
    assert LOST_GAP_S - 1 <= lost <= LOST_GAP_S + 1.0
