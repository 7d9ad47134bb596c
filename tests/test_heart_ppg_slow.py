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


def test_a_45_bpm_heart_keeps_its_rhythm():
    """heartpy-data at 45 bpm: the first beats' stray diastolic wave, dropped by their
    judgement, halved the rhythm, and the small-pulse rules then took each such wave (11 of
    23 cycles doubled before the rhythm forgot it; 2 left, _halved_pulse's)."""
    two, none, cycles = _per_cycle("heartpy-data", 45)
    assert two <= 2 and none == 0, (two, none, cycles)


@pytest.mark.xfail(strict=True, reason=(
    "heartpy-data at 38 bpm (1.55-1.95-s cycles) still doubles 13 of 23 cycles: half the "
    "first 8 beats are diastolic waves (any block passes while the gate has under 3 heights), "
    "so the first beats' judgement keeps them, and PPG's 1.5-s silence starts the height gate "
    "over at nearly every beat; see edge/heart_passes.md, thirty-fourth pass: slow hearts"))
def test_a_38_bpm_heart_reads_one_beat_per_cycle():
    two, none, cycles = _per_cycle("heartpy-data", 38)
    assert (two, none) == (0, 0), (two, none, cycles)
