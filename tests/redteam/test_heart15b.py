"""Red team on the fifteenth pass's newest ECG stages: the recurring-shape stage
(edge/ecg_ectopic.py, which keeps an early beat of poor shape that matches an earlier one)
against REPEATING artefacts of a fixed shape, and the close-pair stage (edge/ecg_pair.py,
its usual interval from clean windows, capped at 1.5x the recent beats') against a heart that
speeds up at once under noise. Streaming equals batch and memory stays bounded on both.

Tuning records only; real noise is NSTDB's electrode motion (118e00 - 118e24).
tests/redteam/heart15b_sweep.py builds the cases and prints the on/off sweep."""

import sys
from pathlib import Path

import numpy as np
import pytest

from empathy.edge import ecg_ectopic, ecg_pair
from empathy.edge.beat_score import beat_match
from empathy.edge.heart import BeatStream, waveform_peaks
from corpus_records import need

sys.path.insert(0, str(Path(__file__).parent))
from heart15b_sweep import add_noise, case, fast_run  # noqa: E402


def _needs():
    for name in ("nstdb-118e00", "nstdb-118e24", "mitdb-105", "mitdb-123", "qtdb-sel117"):
        need(name)


_ARTEFACTS = [("mitdb-105", "tap", 0.5, None), ("mitdb-123", "tap", 0.3, 0.0),
              ("mitdb-123", "tens", 0.5, 0.0)]
_STILL = ("measured: the stage calls an artefact recurring only where most of the alike shapes "
          "came at its coupling (within 40 ms) and its slope is not mostly over 30 Hz; taps whose "
          "period is near the heart's keep a coupling for a few beats and still pass: extra beats "
          "off -> on 43 -> 44 (105 taps; 55 before), 55 -> 58 (123 taps, 0 dB; 64 before). Over "
          "MIT-BIH 100, 105, 106, 116, 119, 123 x tap/TENS/twitch x 0.15/0.3/0.5 x none/+6/0 dB: "
          "the stage adds 22 extra beats (126 before) and saves 14 true ones (29 before)")


@pytest.mark.parametrize("name,kind,amp,snr", [
    pytest.param(*_ARTEFACTS[0], marks=pytest.mark.xfail(strict=True, reason=_STILL)),
    pytest.param(*_ARTEFACTS[1], marks=pytest.mark.xfail(strict=True, reason=_STILL)),
    _ARTEFACTS[2]])
def test_a_repeating_artefact_is_not_kept_as_a_recurring_ectopic_beat(name, kind, amp, snr,
                                                                      monkeypatch):
    """An electrode tap (a sharp biphasic knock at amp of the QRS height, every 1.1 s +-5 %)
    or a TENS unit in burst mode (2 Hz trains of 7 spikes at 100 Hz), with or without
    electrode motion from 20 s: every copy has the same shape, so from the second on each
    'recurs' and the rhythm and close-pair stages keep it. The stage must add no extra
    beats where it saves no true one."""
    _needs()
    y, fs, ann = case(name, kind, amp, snr)  # (TENS: 3 -> 8 before its slope's band was asked)
    on = beat_match(ann, waveform_peaks(y, fs, "ecg").idx / fs)
    monkeypatch.setattr(ecg_ectopic, "MATCH", 2.0)
    off = beat_match(ann, waveform_peaks(y, fs, "ecg").idx / fs)
    assert on.fn == off.fn  # (it saves none: what it changes is the extra beats)
    assert on.fp <= off.fp


def test_taps_at_their_own_time_are_seldom_a_recurring_shape(monkeypatch):
    """MIT-BIH 105 with taps at half the QRS height: each tap's slope matches the others' at
    ~1, but their coupling to the beat before wanders (the taps keep their own period), so
    the stage calls few of them recurring (measured 6 of 44 judged; 43 when a match alone
    sufficed), while 119's PVCs keep theirs (tests/test_ecg_ectopic.py)."""
    _needs()
    y, fs, _ = case("mitdb-105", "tap", 0.5, None)
    judged, called, judge = [], set(), ecg_ectopic.EctopicShapes._judge

    def spy(self, seen, i, gap):
        judged.append(i)
        judge(self, seen, i, gap)
        called.update(j for j in self.recurring if j == i)

    monkeypatch.setattr(ecg_ectopic.EctopicShapes, "_judge", spy)
    waveform_peaks(y, fs, "ecg")
    assert len(judged) >= 40 and len(called) <= 8


def _run_lost(x, fs, ann, a, z, monkeypatch):
    """True beats in [a, z) s the close-pair stage loses (found with CLOSE = 0)."""
    on = waveform_peaks(x, fs, "ecg").idx / fs
    monkeypatch.setattr(ecg_pair, "CLOSE", 0.0)
    off = waveform_peaks(x, fs, "ecg").idx / fs
    monkeypatch.undo()
    t = ann[(ann >= a) & (ann < z)]
    return [v for v in t if np.min(np.abs(on - v)) > 0.15 and np.min(np.abs(off - v)) <= 0.15]


@pytest.mark.xfail(strict=True, reason="measured: QT Database 117 (1.18 s) with a 0.4-s run "
                   "at -6 dB (noise rolled 80 s): 16 of the run's 40 beats lost (70.4-80.4 s), fn "
                   "1 -> 21 for extra beats 61 -> 29; MIT-BIH 100 (roll 0) 11, MIT-BIH 105 at 0.33 "
                   "s 15 and 21; at 0 dB 0-2. About every other beat goes: a beat given out after a "
                   "drop files no interval, so the recent beats' rhythm (FOLLOW's cap) learns the "
                   "run slowly (0.88 s from 69 to 80 s, the cap 1.32) and the stale clean one (1.18 "
                   "s, noisy windows filing none) keeps the run's beats close pairs. Tried: the "
                   "recent rhythm from every beat that comes in, dropped ones too: "
                   "MIT-BIH 106 V1 fn 3 -> 5 (HR +1.68 -> +1.00), over 72 such runs fn 342 -> 529: "
                   "not kept")
def test_a_heart_that_speeds_up_at_once_in_noise_keeps_its_beats(monkeypatch):
    """An SVT run (or exercise onset at once): QT Database 117's cycles cut to 0.4 s for 40
    beats from its 60th, under real electrode motion at -6 dB from 20 s. The close-pair
    stage must not take the run's own beats for noise's pairs."""
    _needs()
    x, fs, ann = fast_run("qtdb-sel117", 0.4)
    y = add_noise(x, fs, -6.0, 20.0, 80.0)
    assert _run_lost(y, fs, ann, ann[59], ann[99], monkeypatch) == []


def test_repeating_artefacts_and_a_fast_run_stream_as_in_batch():
    """Chunks of 1 sample (a 40-s cut) up to 400 s give the batch's beats: the taps' and
    TENS cases above, and the run in noise (recurring shapes wait for their window, close
    pairs for two beats)."""
    from streamed import streamed

    _needs()
    x, fs, _ = fast_run("qtdb-sel117", 0.4)
    ys = [case("mitdb-105", "tap", 0.5, 6.0)[:2], case("mitdb-123", "tens", 0.5, 0.0)[:2],
          (add_noise(x, fs, -6.0, 20.0, 80.0), fs)]
    for y, fs in ys:
        for seed, longest in ((0, 2), (1, int(0.5 * fs)), (2, int(90 * fs)), (3, int(400 * fs))):
            yy = y[:int(40 * fs)] if longest == 2 else y
            batch = waveform_peaks(yy, fs, "ecg")
            s = streamed(yy, fs, "ecg", seed, longest)
            assert len(batch.idx) > 20
            assert np.array_equal(s.idx, batch.idx) and np.allclose(s.sqi, batch.sqi)


def test_an_hour_of_repeating_taps_holds_bounded_state():
    """An hour of MIT-BIH 105 with taps at +6 dB (20 copies), pushed 1 s at a time: the
    recurring-shape stage keeps 30 s of samples, 16 shapes and a few beats; the close-pair
    stage a few beats (measured: recurring <= 2, held pairs <= 1 at every 10 min), or in a
    steady rhythm the beats of the window a close pair waits for (ecg_pair.STEADY: up to 15
    beats held, in 240 of the 3600 s)."""
    _needs()
    y, fs, _ = case("mitdb-105", "tap", 0.5, 6.0)
    y, st, n = np.tile(y, 20), BeatStream(fs, "ecg"), 0
    for i in range(0, len(y), int(fs)):
        n += len(st.push(y[i:i + int(fs)]).idx)
        e, p = st.ecto, st.pair
        assert e.x.size <= int(ecg_ectopic.HISTORY_S * fs) + int(fs)
        assert len(e.library) <= ecg_ectopic.LIBRARY and len(e.held) <= 8
        assert len(e.recurring) <= ecg_ectopic.ASKED_WITHIN
        assert len(p.fresh) <= 40 and len(st.pick.held) <= 3
        assert len(p.held) <= 3 or p.held[-1][0] - p.held[0][0] <= 2 * st.bands.size
    assert n > 5000
