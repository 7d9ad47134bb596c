"""A seat's ectopic labels against `signal hr`'s on the same ECG: SeatFeatures fed 0.1 s
Waveform chunks (bench/seat_hrv.py's seat_ectopic), both scored against the annotation's
ectopic labels as edge/ectopic_validation scores the batch labeller."""

import pytest

from empathy.bench.seat_hrv import seat_ectopic
from empathy.edge.ectopic_beats import ectopic_beats, shape_match
from empathy.edge.ectopic_validation import score, totals
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import record_data
from corpus_records import need


@pytest.mark.parametrize("name", ["mitdb-109", "mitdb-200"])
def test_a_seat_labels_the_ectopic_beats_signal_hr_labels(name):
    """Tuning records whose PVCs come barely early, of the opposite shape to the on-time
    beats (ectopic_beats' ODD rule) or a little early with a pause (its soft rule): both
    need the ECG's shape. A seat's shape was each beat's detector quality (0..1, never
    negative), and it found 0 of 109's 9 and 80 of 200's 129 where `signal hr` finds 8
    and 120. From the beats' slope rows, matched as shape_match matches (the template
    over the seat's memory): the batch's figure, within 2, and no more false ones."""
    rec = need(name)
    x, fs = record_data(rec)
    seat = seat_ectopic(rec.name)
    b = waveform_peaks(x, fs, "ecg")
    batch = {**seat, "t": b.idx / fs}
    f_seat, _, m_seat = totals(score(seat, seat["flagged"]))
    f_batch, n, m_batch = totals(score(batch, ectopic_beats(b.idx / fs, shape_match(x, fs, b.idx))))
    assert f_seat >= f_batch - 2 and m_seat - f_seat <= m_batch - f_batch, (
        f_seat, m_seat, f_batch, m_batch, n)
