"""Red team on the sixteenth pass's PPG-board code: ppg_floor's restarts (drop-outs, moves)
and rails, ppg_polarity's decision, and BeatStream's PPG restarts, attacked through
`empathy signal hr FILE --kind ppg` on CSVs a user writes and a stream fed in a seat's
small chunks, with the PPG tuning records (never held-out ones) and crafted input."""

import json
import subprocess

import numpy as np
import pytest

from corpus_records import need
from signal_run import signal
from empathy.edge import ppg_floor
from empathy.edge.beat_score import beat_match, resampled
from empathy.edge.heart import BeatStream, ppg_peaks
from empathy.edge.heart_beats import _join
from empathy.edge.heart_corpus import RECORDS, available, record_data
from empathy.edge.ppg_boards import BOARDS, _reference, _stepped, board_counts, score
from empathy.edge.ppg_floor import FloorRestart, railed_pct
from empathy.edge.ppg_polarity import oriented


def _cli(capsys, *args) -> subprocess.CompletedProcess:
    """`empathy signal ...` through the CLI's main in this process (its own run spent
    ~1 s of CPU importing); checked as a run in its own process would be."""
    return subprocess.CompletedProcess(args, *signal(capsys, *args))


def _counts(x, steps: float) -> np.ndarray:
    """x as a board's raw counts (falling with each pulse) whose pulse, p5-p95, spans
    `steps` ADC steps: a low LED current or a poor contact."""
    lo, hi = np.percentile(x, [5, 95])
    return np.round(120_000 - (x - np.median(x)) * (steps / (hi - lo)))


@pytest.mark.parametrize("name,steps", [("heartpy-data", 4), ("bsn-bvp-rest", 8)])
def test_a_pulse_a_few_adc_steps_tall_is_turned_over(name, steps):
    """Raw counts whose pulse spans 4-8 ADC steps: the quantised top rests 0.1 s and more
    on one step, which railed_pct read as a rail in every 8-s window, so no window was
    judged: 'upright, unsure', the beats on the feet (heartpy-data at 4 steps F1 0.000,
    bsn-bvp-rest at 8 steps 0.073; turned over, 1.000 both), and `signal hr` said 25 % and
    22 % of such files flat on a rail. A waveform spanning under RAIL_STEPS steps has none."""
    rec = need(name)
    x, fs = record_data(rec)
    ref, spans = _reference(rec, x, fs)
    y, said = oriented(_counts(x, steps), fs)
    assert said["polarity"] == "inverted" and said["polarity_sure"], said
    assert railed_pct(_counts(x, steps), fs) == (0.0, 0.0)
    assert score(ref, spans, ppg_peaks(y, fs).idx / fs).f1 >= 0.99


def test_a_quantised_pulse_s_file_turned_over_by_signal_hr(tmp_path, capsys):
    rec = need("bsn-bvp-rest")
    x, fs = record_data(rec)
    f = tmp_path / "raw.csv"
    np.savetxt(f, _counts(x, 8), fmt="%d")
    r = _cli(capsys, "hr", str(f), "--fs", f"{fs:.17g}", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["polarity"] == "inverted" and s["railed_pct"] == [0.0, 0.0]
    ref, spans = _reference(rec, x, fs)
    assert score(ref, spans, np.array(s["beats_s"])).f1 >= 0.99


def test_a_pulse_eight_adc_steps_tall_has_a_heartbeat(tmp_path, capsys):
    # the detector finds its beats (357 of 379), turned over as it should be. heart_refine's
    # clipped-top check reads a quantised pulse's top step as clipped (at 8 steps 65 % of
    # systole-ppg's beats were under hrv.SQI_MIN, 'no heartbeat'); since CLIP_PPG a clipped
    # pulse matching the pulses before it keeps its timing (merged the same day)
    x, fs = record_data(need("systole-ppg"))
    f = tmp_path / "raw.csv"
    np.savetxt(f, _counts(x, 8), fmt="%d")
    r = _cli(capsys, "hr", str(f), "--fs", "75", "--json")
    assert r.returncode == 0, r.stderr


def test_a_flat_line_is_not_two_hundred_percent_railed(tmp_path, capsys):
    # its top is its bottom: railed_pct said (100, 100), `signal hr` '200 % of it flat'
    f = tmp_path / "flat.csv"
    np.savetxt(f, np.full(3000, 512))
    r = _cli(capsys, "hr", str(f), "--fs", "100", "--kind", "ppg")
    assert r.returncode == 3 and "(100 % of it flat" in r.stderr, r.stderr
    assert railed_pct(np.full(3000, 512.0), 100.0) == (100.0, 0.0)


class _Joins:
    """numpy, counting the samples np.concatenate copies."""

    def __init__(self):
        self.copied = 0

    def __getattr__(self, name):
        return getattr(np, name)

    def concatenate(self, arrays, *a, **k):
        out = np.concatenate(arrays, *a, **k)
        self.copied += out.size
        return out


def test_an_hour_long_file_is_read_in_linear_work(monkeypatch):
    """restarts() joined the chunk to its past once per flat run of FLOOR_RUN_S: on a whole
    file (ppg_polarity reads it in one chunk) quadratic. An hour at 100 Hz of a pulse 1-2
    ADC steps tall (runs of one value every beat): polarity 3.5 s of `signal hr`'s 3.6 s
    (0.23 s now; bench figures, not timed here). Here 20 min: the samples copied."""
    fs, n = 100.0, 20 * 60 * 100
    t = np.arange(n) / fs
    x = np.round(120_000 + 1.5 * np.sin(2 * np.pi * 1.1 * t) ** 3)
    joins = _Joins()
    monkeypatch.setattr(ppg_floor, "np", joins)
    FloorRestart(fs).restarts(x, np.zeros(0))
    assert joins.copied <= 4 * n, joins.copied / n


def _moves(y, fs) -> list[float]:
    f = FloorRestart(fs)
    f.restarts(np.asarray(y, float), np.zeros(0))
    j = sorted(f.jumps)
    return [c / fs for k, c in enumerate(j) if k == 0 or c != j[k - 1] + 1]


def test_no_move_on_real_pulses_or_the_wrist_records_motion():
    """The move rule (6x the 2-s range over 0.15 s) never fires on the PPG tuning records as
    given, nor at 25 or 50 Hz, the wrist records' walking and cycling included: only on
    heartpy-data2's return from its drop-out at 25 s once resampled (its floor no longer
    flat: resampling rings). That move lasts 3.4 s (its range before is the ringing's, a
    few counts); ending it when it moves under a quarter of its fastest shortened it to
    0.2-0.3 s but lost 4 more of the record's beats (at 25 Hz fn 13 -> 17): kept as is."""
    seen = set()
    for rec in RECORDS:
        if rec.kind != "ppg" or rec.held_out or not available(rec):
            continue
        x, fs = record_data(rec)
        for hz in (fs, 50.0, 25.0):
            y = x if hz == fs else resampled(x, fs, hz)
            for at in _moves(y, hz):
                seen.add((rec.name, hz, round(at)))
    assert seen <= {("heartpy-data2", 50.0, 25), ("heartpy-data2", 25.0, 25)}, seen


@pytest.mark.parametrize("chunk", [1, 7])
def test_moves_and_rails_stream_as_batch_in_a_sample_or_seven(chunk):
    """Bit-identical beats pushed 1 or 7 samples at a time, through heartpy-data2's 3.4-s
    move at 25 Hz, systole-ppg's counts pinned at full scale, stepped and pressed, and
    starting as the LED comes on."""
    x, fs = record_data(need("heartpy-data2"))
    cases = [(resampled(x, fs, 25.0), 25.0)]
    x, fs = record_data(need("systole-ppg"))
    y = _stepped(BOARDS["pinned at full scale"](x[:int(60 * fs)], fs)[0], fs)
    cases.append((_stepped(y[::-1], fs, 30.0, 0.3)[::-1], fs))
    cases.append((-_settling(x[:int(30 * fs)], fs, 0.3), fs))  # and its start restarts
    for y, fs in cases:
        batch = ppg_peaks(y, fs)
        st = BeatStream(fs, "ppg")
        got = _join([st.push(y[i:i + chunk]) for i in range(0, len(y), chunk)] + [st.finish()])
        for a, b in zip(got, batch):
            np.testing.assert_array_equal(a, b)


def _settling(x, fs, tau_s: float) -> np.ndarray:
    """x as a board's raw counts whose DC rises from the ambient floor (2000) with time
    constant tau_s as the recording starts (the LED coming on)."""
    return np.round(board_counts(x) - 118_000 * np.exp(-np.arange(len(x)) / fs / tau_s))


def test_a_board_s_file_starting_as_its_led_comes_on_has_its_first_beats(tmp_path, capsys):
    """The DC's rise at the start is a move the rule could not judge (no range before it):
    its ringing held the slow energy mean up, and systole-ppg's counts rising with a 0.3-s
    time constant had no beat before 18.6 s (21 of the first 30 s's lost; pyphysio-bvp at
    0.1 s 29, heartpy-data at 0.1 s every beat). `signal hr` on it: 18 of the 21 in its
    first 20 s now."""
    rec = need("systole-ppg")
    x, fs = record_data(rec)
    ref, spans = _reference(rec, x, fs)
    f = tmp_path / "raw.csv"
    np.savetxt(f, _settling(x, fs, 0.3), fmt="%d")
    r = _cli(capsys, "hr", str(f), "--fs", "75", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    beats = np.array(s["beats_s"])
    assert s["polarity"] == "inverted" and s["polarity_sure"]
    assert (beats < 20).sum() >= (ref < 20).sum() - 3 and beats[0] < 4.0, beats[:5]
    assert score(ref, spans, beats).f1 >= 0.99
    for name, tau in (("pyphysio-bvp", 0.1), ("heartpy-data", 0.1)):
        x, fs = record_data(need(name))
        ref, _ = _reference(need(name), x, fs)
        m = beat_match(ref[ref < 20], ppg_peaks(-_settling(x, fs, tau), fs).idx / fs)
        assert m.fn <= 3, (name, m)


def test_a_seat_whose_board_starts_as_its_led_comes_on_sends_its_rate_early():
    """A seat fed a board's stream (upright: the board flips its own) in 0.1-s Waveform
    chunks, as the runtime does, from the LED coming on (a 0.3-s rise): its first HR_OK came
    at 39.9 s with 76.9 bpm (untouched: 6.8 s, 62.6 bpm); 9.6 s and 61.9 bpm now."""
    from empathy.edge.features import SeatFeatures
    from empathy.sensors.base import Waveform
    from empathy.wire import Flag

    x, fs = record_data(need("systole-ppg"))
    y = 2 * 120_000 - _settling(x, fs, 0.3)
    f, n, t0 = SeatFeatures(baseline_s=10), int(0.1 * fs), 10**9
    for i in range(0, int(60 * fs), n):
        f.add(Waveform(t0 + int(i * 1e6 / fs), "ppg", fs, y[i:i + n]))
        e = f.estimate(t0 + int((i + n) * 1e6 / fs))
        if e["flags"] & Flag.HR_OK:
            break
    assert (i + n) / fs <= 15.0 and abs(e["hr_bpm"] - 62.6) <= 3.0, ((i + n) / fs, e["hr_bpm"])


def test_the_pulse_after_a_long_pause_is_kept():
    """A 3-4 s pause (sinus arrest, a dropped beat in bradycardia) on a quiet baseline: the
    next upstroke moves over 6x the 2-s range, so the filter restarts in the middle of that
    beat's rise (40-150 move samples); the beat is still found, at 100 and 25 Hz."""
    for hz in (100.0, 25.0):
        rr = np.tile(np.r_[np.full(9, 0.85), 3.5], 8)
        beats = 0.65 + np.concatenate(([0.0], np.cumsum(rr)))
        t = np.arange(int((beats[-1] + 1.5) * hz)) / hz
        d = t[:, None] - beats[None, :]
        x = np.where(d < 0, np.exp(-d ** 2 / 0.005), np.exp(-d ** 2 / 0.045)).sum(1)
        x += 0.02 * np.random.default_rng(0).normal(size=len(t))
        assert len(_moves(x, hz)) >= 8
        m = beat_match(beats, ppg_peaks(x, hz).idx / hz)
        assert m.fn == 0 and m.fp <= 1, (hz, m)


def test_a_file_half_one_way_half_the_other_is_said_unsure(tmp_path, capsys):
    """systole-ppg's counts inverted (raw) for 70 % of the file, upright after (a board
    swapped or re-seated): one polarity fits either part, never both (the last 30 %: F1
    0.06), and the decision read sure (-1.48). Now a file with 10 % of its windows sure of
    the other way is said unsure, with that share."""
    x, fs = record_data(need("systole-ppg"))
    c = board_counts(x)
    h = int(0.7 * len(c))
    c[h:] = 2 * 120_000 - c[h:]
    f = tmp_path / "mixed.csv"
    np.savetxt(f, c, fmt="%d")
    r = _cli(capsys, "hr", str(f), "--fs", "75", "--json")
    s = json.loads(r.stdout)
    assert s["polarity"] == "inverted" and not s["polarity_sure"], s
    assert s["polarity_other_way_pct"] >= 20
    assert oriented(board_counts(x), fs)[1]["polarity_other_way_pct"] == 0  # all one way


@pytest.mark.xfail(strict=True, reason="one 8-s window decides a file under 16 s, and a "
                   "median of two windows is their mean (heartpy-data2's first 30 s: 0.29 and "
                   "-4.3): its noisy windows read -1.25 to -4.3 as given. Judging one window "
                   "only from 1.8 would end the 13 wrong turn-overs of the tuning records' "
                   "5-10 s clips, but turn over 80 of the clean records' 382 inverted 5-10 s "
                   "clips (331 now): left to the lead")
@pytest.mark.parametrize("start_s,long_s", [(12.5, 5), (7.5, 10), (0.0, 30)])
def test_a_short_clip_of_an_upright_pulse_is_not_turned_over_for_sure(start_s, long_s):
    # turned over for sure, the beats on the feet: F1 0.91 -> 0.33, 0.83 -> 0.33, 0.69 -> 0.28
    x, fs = record_data(need("heartpy-data2"))
    said = oriented(x[int(start_s * fs):int((start_s + long_s) * fs)], fs)[1]
    assert said["polarity"] == "upright" or not said["polarity_sure"], said
