"""The heart's arousal reads the sinus rate also while a premature beat is the newest: its
label waits for the next beat (a pause, or an on-time beat, makes it ectopic), and its short
coupling interval read as the viewer's drive rising for that second. Real ECG, tuning: MIT-BIH
119 (ventricular trigeminy runs) and QT Database sel233 (multiform PVCs one beat in three),
through a seat as bench/arousal_heart.py feeds it, against the annotation's normal-to-normal
rate on the seat's own baseline."""

import numpy as np

from empathy.bench.arousal_heart import NORMAL, SCORE_FROM_S, T0_US, ecg_seat, nn_rate
from empathy.edge.heart_corpus import annotated_beats, beat_labels, record_data
from empathy.edge.latency import HR_WINDOW_S
from empathy.wire import Flag
from corpus_records import need


def premature_newest_z_errors(name: str) -> list:
    """|heart z - reference z| at the scored estimates whose newest beat (the seat's) is an
    annotated premature one (within 50 ms)."""
    rec = need(name)
    x, fs = record_data(rec)
    beats, lab = annotated_beats(rec, len(x), fs), beat_labels(rec, len(x))
    normal = np.isin(lab, NORMAL)
    out = []
    for t, e, f in ecg_seat(x, fs):
        ref = nn_rate(beats, normal, t, HR_WINDOW_S)
        z = f.signals.get("hr")
        if t < SCORE_FROM_S or not e["flags"] & Flag.HR_OK or z is None or np.isnan(ref):
            continue
        newest = (f.waves["ecg"].heart.beats[0][-1] - T0_US) / 1e6
        k = int(np.argmin(np.abs(beats - newest)))
        if abs(beats[k] - newest) < 0.05 and not normal[k]:
            out.append(abs(z[0] - f.base["hr"].z(ref, True)))
    return out


def test_a_premature_newest_beat_is_not_the_viewer_s_drive():
    """Before: at those estimates |z error| p50 1.79 (119: 2.52 at 4 of them; sel233: 1.75
    at 22); now 0.07. The other estimates, record by record: bench/arousal_heart.py."""
    premature = []
    for name in ("mitdb-119", "qtdb-sel233"):
        premature += premature_newest_z_errors(name)
    assert len(premature) >= 20
    assert np.median(premature) < 0.5, np.median(premature)
