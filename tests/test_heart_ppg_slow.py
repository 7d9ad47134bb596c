"""Slow hearts (issue 19, thirty-fourth pass): a cinema audience has resting athletes at 40-50
bpm, and their rate read high is a wrong tension signal. Real tuning PPG with only its
diastole lengthened (tests/ppg_slow_model.py: each cycle, foot to foot, kept as recorded, the
rest between beats carried flat to the next foot) must read one beat per cycle."""

import numpy as np
import pytest

from empathy.edge import heart_corpus as hc
from empathy.edge.heart import ppg_peaks
from ppg_slow_model import feet, slowed

RECORDS = ("heartpy-data", "systole-ppg", "cinc15-v102s")  # tuning records
RATES = (45, 38)
REGULAR = 1.3


def _data(name):
    rec = hc.record(name)
    if not hc.available(rec):
        pytest.skip(f"{name} not in the corpus")
    x, fs = hc.record_data(rec)
    return np.asarray(x, float), fs


def test_the_model_cuts_before_the_upstroke():
    """heartpy-data's lowest point between beats is the trough right after the systolic
    peak, before a secondary wave: a cut there would part that wave from its pulse by the
    added rest and make it a pulse of its own. The model's feet sit before the upstroke."""
    x, fs = _data("heartpy-data")
    f = feet(x, fs)
    peaks = np.asarray([a + int(np.argmax(x[a:a + int(0.3 * fs)])) for a in f])
    assert len(f) == 24
    assert np.all((peaks - f) < 0.3 * fs)  # the systolic peak follows the foot closely
    assert np.all(x[peaks] - x[f] > 0.5 * (x.max() - x.min()))


def _per_cycle(name, bpm):
    """Of the slowed record's regular cycles (no longer than REGULAR of their median: a longer
    one is where the model's feet skipped a pulse the detector rightly finds), how many hold
    two beats or more, how many none, and how many there are."""
    x, fs = _data(name)
    y, starts = slowed(x, fs, bpm)
    n = np.bincount(np.searchsorted(starts, ppg_peaks(y, fs).idx, "right"),
                    minlength=len(starts) + 1)[1:len(starts)]
    length = np.diff(starts)
    n = n[length <= REGULAR * np.median(length)]
    return int(np.count_nonzero(n > 1)), int(np.count_nonzero(n == 0)), len(n)


def test_the_other_tuning_records_read_one_beat_per_slow_cycle():
    """systole-ppg and cinc15-v102s: their excess over the cycles (370 -> 373 / 377, 406 ->
    413 / 410 at 45 / 38 bpm) lies in cycles the model's feet made long (a skipped foot)."""
    for name in RECORDS[1:]:
        for bpm in RATES:
            two, none, cycles = _per_cycle(name, bpm)
            assert two + none <= max(2, 0.01 * cycles), (name, bpm, two, none, cycles)


@pytest.mark.xfail(strict=True, reason=(
    "main's detector (b1a0e55) doubles heartpy-data slowed: 11 of 23 cycles hold two beats at "
    "45 bpm, 13 at 38 (small late-diastolic waves, 4-12 % of the pulse): the first beats' "
    "stray wave halves the rhythm (_in_rhythm, _run_pulse, _search_back then take the waves), "
    "_halved_pulse takes them at 45 bpm, and at 38 bpm the 1.5-s silence starts the height "
    "gate over every beat; see edge/heart_passes.md, thirty-fourth pass: slow hearts"))
def test_a_slow_heart_reads_one_beat_per_cycle():
    two, none, cycles = _per_cycle("heartpy-data", 45)
    assert (two, none) == (0, 0), (two, none, cycles)
    two, none, cycles = _per_cycle("heartpy-data", 38)
    assert (two, none) == (0, 0), (two, none, cycles)
