"""Our detector scored on a tuning record with pulses laid on it by ppg_early_model (the
premature, run and alternating-pulse tests): kept apart from the model, which must not
know the detector."""

from __future__ import annotations

import numpy as np

from empathy.edge.beat_score import beat_match, in_spans, matched_ref
from empathy.edge.heart import ppg_peaks

from ppg_early_model import with_premature


def laid_scored(name: str, frac: float, scale: float, **model):
    """(laid pulses ours missed, laid pulses, beat_match of every pulse), inside the record's
    trusted spans; `model`: with_premature's then= / every=."""
    x, fs, spans, truth, laid = with_premature(name, frac, scale, **model)
    ours = in_spans(ppg_peaks(x, fs).idx / fs, spans)
    truth = in_spans(truth, spans)
    was_laid = np.isin(truth, laid)
    missed = int(np.count_nonzero(~matched_ref(truth, ours)[was_laid]))
    return missed, int(was_laid.sum()), beat_match(truth, ours)
