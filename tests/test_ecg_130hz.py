"""ECG at a Polar H10's 130 Hz (our seats' straps, sensors/ble/pmd.py): the corpus's tuning
records resampled to it (edge/ecg_rate_validation.py scores them all beside the peers)."""

import numpy as np
import pytest

from empathy.edge.beat_score import PEERS, beat_match
from empathy.edge.beat_score import resampled
from empathy.edge.ecg_rate_validation import main, score_at_rate
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import annotated_beats, record_data
from corpus_records import need
from streamed import streamed

H10_HZ = 130.0


def _at_h10(name: str):
    rec = need(name)
    x, fs = record_data(rec)
    beats = waveform_peaks(resampled(x, fs, H10_HZ), H10_HZ, "ecg").idx / H10_HZ
    return beat_match(annotated_beats(rec, len(x), fs), beats)


def test_every_paced_beat_of_mitdb_104_is_found_at_130_hz():
    """At 130 Hz the paced beat at 5.84 s is a spike whose jump takes one sample (0.79 of
    the range) and whose return takes the next two (-0.47, -0.46 of the jump): the step gate
    read it as an electrode pop (each returning sample under half the jump). All 223 are
    found at 360 Hz."""
    m = _at_h10("mitdb-104")
    assert (m.fn, m.fp) == (0, 0), m



def test_the_paced_beats_stream_at_130_hz_as_in_batch():
    """The spike's two-sample return is read on the samples the step window holds, so a
    stream in chunks of 1 sample to 3 s gives the batch's beats."""
    x0, fs0 = record_data(need("mitdb-104"))
    x = resampled(x0[:int(30 * fs0)], fs0, H10_HZ)
    batch = waveform_peaks(x, H10_HZ, "ecg")
    for seed, longest in ((0, 2), (1, 40), (2, int(3 * H10_HZ))):
        s = streamed(x, H10_HZ, "ecg", seed, longest)
        assert np.array_equal(s.idx, batch.idx) and np.allclose(s.sqi, batch.sqi)


def test_the_rate_table_scores_ours_and_each_peer_against_the_annotation():
    """edge/ecg_rate_validation.py: a record's rows are beat_score's matches at 130 Hz
    against its annotation (the seconds unchanged), ours at the native rate beside."""
    rec = need("mitdb-100")
    r = score_at_rate(rec, H10_HZ)
    x, fs = record_data(rec)
    ann = annotated_beats(rec, len(x), fs)
    ours = waveform_peaks(resampled(x, fs, H10_HZ), H10_HZ, "ecg").idx / H10_HZ
    assert r["rows"]["ours"][0] == beat_match(ann, ours) and r["reference"] == "annotation"
    assert r["native"][0] == beat_match(ann, waveform_peaks(x, fs, "ecg").idx / fs)
    assert set(r["rows"]) == {"ours", *PEERS["ecg"]}
    assert all(m.tp + m.fn == len(ann) for m, _, _ in r["rows"].values())


def test_the_rate_table_refuses_a_rate_no_strap_has(capsys):
    with pytest.raises(SystemExit) as e:  # cli.number_in: argparse's one line
        main(["--rate", "5"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert e.value.code == 2 and err.endswith("error: argument --rate: 5 is outside 50..5000")
