"""The clipped-top check of ECG beats (heart_refine.BeatRefiner._cut): a beat whose QRS sits
flat at its extreme for 60 ms is clipped (sqi halved, under hrv.SQI_MIN). The QRS's extreme,
not the window's maximum: where the QRS points down the maximum is a broad T wave."""

import numpy as np
import pytest

from empathy.edge.ecg_rate_validation import resampled
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import annotated_beats, record_data
from empathy.edge.hrv import SQI_MIN
from corpus_records import need


def _low_share(x, fs: float, rate: float) -> float:
    y = x if rate == fs else resampled(x, fs, rate)
    return float(np.mean(waveform_peaks(y, rate, "ecg").sqi < SQI_MIN))


@pytest.mark.parametrize("rate", [None, 130.0])
def test_a_downward_qrs_is_not_a_clipped_top(rate):
    """MIT-BIH 109 (tuning; its QRS points down): its broad T wave, the window's maximum,
    sat within CLIP_FRAC of it for 60 ms in 65 of 251 beats at 360 Hz and 142 at 130 Hz
    (a Polar H10's rate), each graded as clipped, on a clean record."""
    x, fs = record_data(need("mitdb-109"))
    assert _low_share(x, fs, rate or fs) < 0.02


@pytest.mark.parametrize("up", [True, False])
def test_a_qrs_clipped_at_20_percent_of_its_height_is_clipped(up):
    """MIT-BIH 109's wide QRS clipped at 20 % of its height from the median, either
    polarity: (nearly) every beat keeps the clipped factor (pointing down, 1 of 250 did).
    A narrow QRS (MIT-BIH 100) is above 80 % of its clipped top for less than the 60 ms
    the check asks even clipped at 10 % (20 % of its beats): not caught, either way."""
    rec = need("mitdb-109")
    x, fs = record_data(rec)
    med = float(np.median(x))
    ann = (annotated_beats(rec, len(x), fs) * fs).astype(int)
    h = float(np.median(x[ann])) - med  # the QRS's height (negative: it points down)
    y = np.minimum((x - med) * np.sign(h), 0.2 * abs(h))  # the QRS up, its top clipped
    if not up:
        y = -y
    sqi = waveform_peaks(y, fs, "ecg").sqi
    assert np.mean(sqi <= 0.5) > 0.8
