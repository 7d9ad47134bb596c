"""The thirty-fourth pass's fresh blind ECG set (edge/heart_reference/README.md): 24 QT
Database records whose patients are in no other corpus record, all held out, each its first
3 min. The files are the ones cut and checked, the split is the rule's, and the annotation
sits on each record's QRS. Cheap: no detector runs here (their scores: docs/heart-corpus.md,
the ECG held-out table's fresh set)."""

import numpy as np
import pytest
from scipy import signal

from empathy.edge.heart_corpus import (REFERENCE_DIR, RECORDS, annotated_beats, beat_labels,
                                       record, record_data)
from empathy.edge.heart_records import FRESH, FRESH_ECG

# QT Database record -> (its 15 min: beats, V; the first 3 min's labels), as cut
FRESH_TABLE = {
    "14157": ((1081, 24), {"N": 213, "S": 1, "V": 1}),
    "14172": ((663, 1), {"N": 131}),
    "16265": ((1031, 0), {"N": 203}),
    "16272": ((851, 0), {"N": 169}),
    "16420": ((1063, 0), {"N": 212}),
    "16483": ((1087, 0), {"N": 214}),
    "16539": ((922, 0), {"N": 187}),
    "16773": ((1008, 0), {"N": 200}),
    "16786": ((925, 0), {"N": 182}),
    "17152": ((1628, 0), {"N": 320}),
    "17453": ((1047, 0), {"N": 209}),
    "301": ((1351, 1), {"N": 301}),
    "306": ((1040, 0), {"N": 196}),
    "307": ((853, 0), {"N": 171}),
    "308": ((1294, 14), {"N": 345}),
    "803": ((1026, 74), {"N": 192, "V": 15}),
    "808": ((903, 3), {"N": 188}),
    "811": ((704, 4), {"N": 140}),
    "840": ((1180, 1), {"N": 252}),
    "847": ((801, 15), {"N": 156, "V": 4, "S": 1}),
    "871": ((917, 5), {"N": 187, "S": 1, "V": 1}),
    "872": ((990, 31), {"N": 191, "V": 4, "S": 1}),
    "873": ((859, 3), {"N": 176}),
    "883": ((892, 0), {"N": 178, "S": 4}),
}


def test_the_fresh_set_is_the_rules_and_all_held_out():
    """Every one of the rule's records, held out, ECG at 250 Hz; no other corpus record is
    from the same source record (the patient)."""
    assert FRESH_ECG == {f"qtdb-sel{n}" for n in FRESH_TABLE} and not FRESH_ECG & FRESH
    others = [r.name for r in RECORDS if r.name not in FRESH_ECG]
    for name in FRESH_ECG:
        r = record(name)
        assert r.held_out and r.kind == "ecg" and r.fs_hz == 250.0 and r.annotation == r.member
        assert not [o for o in others if o.endswith(name[8:]) or name[8:] in o.split("-")]


@pytest.mark.parametrize("rec", sorted(FRESH_TABLE, key=int))
def test_each_fresh_excerpt_is_as_cut(rec):
    """3 min of 12-bit values at 200/mV from the QT Database record's start, every beat
    annotation with its label, the record's counts as cut."""
    counts, labels = FRESH_TABLE[rec]
    r = record(f"qtdb-sel{rec}")
    with np.load(REFERENCE_DIR / r.member, allow_pickle=False) as z:
        adc, beats = z["adc"], z["beats"]
        assert adc.dtype == np.int16 and len(adc) == 180 * 250 and float(z["fs_hz"]) == 250
        assert (int(z["start"]), float(z["gain"]), int(z["baseline"])) == (0, 200.0, 0)
        assert (int(z["record_beats"]), int(z["record_pvcs"])) == counts
        assert np.array_equal(z["pvc"], z["labels"] == "V") and np.all(np.diff(beats) > 0)
    x, fs = record_data(r)
    ann = annotated_beats(r, len(x), fs)
    assert np.array_equal(ann, beats / 250.0)
    assert dict(zip(*np.unique(beat_labels(r, len(x)), return_counts=True))) == labels


@pytest.mark.parametrize("rec", sorted(FRESH_TABLE, key=int))
def test_each_fresh_annotation_sits_on_the_qrs(rec):
    """The largest 5-25 Hz excursion within 150 ms of a beat annotation lies within 40 ms of
    it (median; -32 to +24 ms when cut), and not a quarter second either side."""
    r = record(f"qtdb-sel{rec}")
    x, fs = record_data(r)
    band = np.abs(signal.sosfiltfilt(signal.butter(2, [5, 25], "bandpass", fs=fs,
                                                   output="sos"), x))
    w = int(0.15 * fs)

    def offset(at: np.ndarray) -> float:
        at = at[(at >= w) & (at < len(x) - w)]
        return float(np.median([np.argmax(band[i - w:i + w + 1]) - w for i in at])) / fs

    beats = np.round(annotated_beats(r, len(x), fs) * fs).astype(int)
    assert abs(offset(beats)) <= 0.04
    on_qrs = np.median([band[i] for i in beats])
    for d in (-0.25, 0.25):  # a quarter second off: not on a QRS
        assert np.median([band[i] for i in beats + int(d * fs) if 0 <= i < len(x)]) < on_qrs / 2
