"""A T wave as tall as the QRS behind it (issue 19, thirty-fourth pass): ours took it for a
beat where a peer does not. Built on tuning records only (tests/ecg_twave_model.py); the
fresh QT Database record that showed it (sel308) is held out and not read here."""

from __future__ import annotations

import numpy as np
import pytest

from corpus_records import need
from ecg_twave_model import tall_t
from empathy.edge.beat_score import PEERS, beat_match
from empathy.edge.heart import ecg_peaks


def _scores(name: str, ratio: float, qrs_sign: float, narrow: float = 1.0):
    need(name)
    x, fs, ref = tall_t(name, ratio, qrs_sign, narrow)
    ours = beat_match(ref, ecg_peaks(x, fs).idx / fs)
    peer = beat_match(ref, np.sort(PEERS["ecg"]["Pan-Tompkins"](x, fs)))
    return ours, peer


def test_a_t_wave_as_tall_as_a_negative_qrs_at_100_bpm_is_no_beat():
    """QT Database sel821 (SVDB 821, 103 bpm) has a negative QRS and a positive T wave; with
    the T wave as tall as the QRS is deep, ours counted 13 T waves, 216-252 ms after their
    QRS, as beats (F1 0.979; Pan-Tompkins 0.998, one extra): their 20-ms slope is 0.30-0.42
    of the QRS's, over the 0.25 that any candidate needs. Inside Pan-Tompkins' 360-ms T-wave
    window a candidate now needs half the last QRS's slope, as Pan-Tompkins asks."""
    ours, peer = _scores("qtdb-sel821", 1.0, 1.0)
    assert ours.fn == 0 and ours.fp <= peer.fp, (ours, peer)
    assert ours.f1 >= peer.f1


@pytest.mark.xfail(strict=True, reason="the T wave's band-passed peak comes 360-370 ms after "
                   "the QRS's at 80 bpm, just past the T-wave window (late_s)")
def test_a_tall_t_wave_behind_an_inverted_qrs_at_80_bpm_is_no_beat():
    """QT Database sel232 (MIT-BIH 232, 80 bpm) with its QRS turned over and the T wave as
    tall: ours counted 22 T waves, 284-336 ms after their QRS, as beats (13 with the fix;
    Pan-Tompkins 2)."""
    ours, peer = _scores("qtdb-sel232", 1.0, -1.0)
    assert ours.f1 >= peer.f1, (ours, peer)


@pytest.mark.xfail(strict=True, reason="measured (thirty-fifth pass): the narrowed T wave's "
                   "band-passed peak, inside the refractory time and taller, replaces the QRS "
                   "(_taller_wins): ours 54 of 308 beats on T waves (F1 0.82), Pan-Tompkins 2 "
                   "missed and 79 extra (0.88), NeuroKit2 5 and 5 (0.98). The T waves rise at "
                   "0.57-1.19 of the QRS's 20-ms slope: no slope rule tells them. Tried, not "
                   "kept: of the two, the one nearer the rhythm's place stays (about half the T "
                   "waves still won, and beats moved on noisy tuning records: MIT-BIH 101, "
                   "106's V1, NSTDB 118e06, 118e00)")
def test_a_peaked_t_wave_behind_a_negative_qrs_does_not_take_its_place():
    """QT Database sel821 (103 bpm, a negative QRS) with each T wave narrowed to half its
    width about its peak (a peaked T, as in an exercise test) and 1.5 times as tall as the
    QRS is deep: the kind the fresh set's sel308 showed (a T wave in the QRS's place), which
    the model at the T's own width never did where a peer did better."""
    ours, peer = _scores("qtdb-sel821", 1.5, 1.0, narrow=2.0)
    assert ours.fn <= peer.fn and ours.f1 >= peer.f1, (ours, peer)
