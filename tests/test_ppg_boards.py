"""PPG as users' own boards record it (edge/ppg_boards.py): raw counts on a large DC whose
finger lifts, presses and light steps are jumps hundreds of pulse heights tall."""

import numpy as np
import pytest

from corpus_records import need
from empathy.edge.heart import BeatStream, ppg_peaks
from empathy.edge.heart_beats import _join
from empathy.edge.heart_corpus import record_data
from empathy.edge.ppg_boards import BOARDS, _reference, _stepped, board_counts, score


@pytest.mark.parametrize("board", ["pinned at 0", "pinned at full scale", "DC steps",
                                   "pressed: 30x in 0.3 s"])
def test_board_jumps_lose_only_their_own_span(board):
    # systole-ppg untouched: F1 0.997. Before ppg_floor's moves the band-pass's ringing on
    # the jump filled the slow energy mean for a minute: F1 0.06 pinned at 0, 0.16 at full
    # scale, 0.94 with the light steps, 0.89 pressed
    x, fs = record_data(need("systole-ppg"))
    ref, spans = _reference(need("systole-ppg"), x, fs)
    y, fy, lost = BOARDS[board](x, fs)
    m = score(ref, spans, ppg_peaks(y, fy).idx / fy, lost)
    assert m.f1 >= (0.97 if board.startswith("pressed") else 0.98), m


def test_board_jumps_stream_as_batch():
    # a jump is judged across chunks as in one call: bit-identical beats whatever the chunks
    x, fs = record_data(need("systole-ppg"))
    y = _stepped(BOARDS["pinned at full scale"](x[:int(60 * fs)], fs)[0], fs)
    y = _stepped(y[::-1], fs, 30.0, 0.3)[::-1]  # and a press, at other times
    batch = ppg_peaks(y, fs)
    rng = np.random.default_rng(3)
    st, out, i = BeatStream(fs, "ppg"), [], 0
    while i < len(y):
        k = int(rng.integers(1, 200))
        out.append(st.push(y[i:i + k]))
        i += k
    got = _join(out + [st.finish()])
    assert np.array_equal(got.idx, batch.idx) and np.array_equal(got.sqi, batch.sqi)
    assert len(batch.idx) > 45  # 60 s at 65 bpm, less three 3-s presses


def _cli(*argv):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "empathy.cli", "signal", *argv],
                          capture_output=True, text=True)


def test_raw_counts_file_turned_over_and_said(tmp_path):
    # systole-ppg as a MAX3010x's raw counts (falling with each pulse): ours on it as given
    # F1 0.03; `signal hr` decides from the waveform, turns it over and says so
    import json

    rec = need("systole-ppg")
    x, fs = record_data(rec)
    ref, spans = _reference(rec, x, fs)
    y = BOARDS["counts, inverted (raw)"](x, fs)[0]
    f = tmp_path / "raw.csv"
    np.savetxt(f, y, fmt="%d")
    r = _cli("hr", str(f), "--fs", "75", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["polarity"] == "inverted" and s["polarity_sure"] and s["polarity_how"] == "auto"
    assert score(ref, spans, np.array(s["beats_s"])).f1 >= 0.98
    # taken as given, the feet it finds do not pass for a heartbeat (exit 3, one line)
    given = _cli("hr", str(f), "--fs", "75", "--json", "--polarity", "upright")
    assert given.returncode == 3 and "no heartbeat found" in given.stderr


def test_polarity_bad_values_one_line(tmp_path):
    f = tmp_path / "x.csv"
    np.savetxt(f, np.sin(np.arange(3000) / 100 * 2 * np.pi * 1.2))
    r = _cli("hr", str(f), "--fs", "100", "--polarity", "sideways")
    assert r.returncode == 2 and "invalid choice" in r.stderr and "Traceback" not in r.stderr
    r = _cli("hr", str(f), "--fs", "100", "--kind", "ecg", "--polarity", "inverted")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "--polarity is for --kind ppg" in r.stderr
    np.savetxt(f, [800, 810, 790, 805])
    r = _cli("hrv", str(f), "--kind", "rr", "--polarity", "upright")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("name", ["heartpy-data", "heartpy-data2", "heartpy-data3", "systole-ppg",
                                  "pyphysio-bvp", "bsn-bvp-rest", "cinc15-v102s"])
def test_clean_tuning_records_never_turned_over(name):
    from empathy.edge.ppg_polarity import oriented

    x, fs = record_data(need(name))
    assert oriented(x, fs)[1]["polarity"] == "upright"


def test_clipped_but_readable_board_has_a_heartbeat(tmp_path):
    # systole-ppg's counts cut at their 75th percentile (an LED driven too hard): the
    # detector still finds its beats (F1 0.991); with a clipped top halving each beat's
    # quality (under hrv.SQI_MIN) `signal hr` exited 3, 'no heartbeat'. A clipped pulse that
    # matches the pulses before it keeps SQI_MIN (heart_method.CLIP_PPG): its timing holds
    import json

    rec = need("systole-ppg")
    x, fs = record_data(rec)
    ref, spans = _reference(rec, x, fs)
    f = tmp_path / "clipped.csv"
    np.savetxt(f, BOARDS["clipped at p75"](x, fs)[0], fmt="%d")
    r = _cli("hr", str(f), "--fs", "75", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert score(ref, spans, np.array(s["beats_s"])).f1 >= 0.98
    assert abs(s["bpm"] - 60 / np.mean(np.diff(ref))) <= 1.5
    # said for what it is: a quarter of it on the top rail, and a lower quality than the
    # untouched record's (0.81) for the shapes it cannot see
    assert s["railed_pct"][0] >= 20 and 0.15 <= s["quality"] <= 0.6, s["quality"]


def _clipped_rates(name: str) -> list:
    """The untouched and the clipped-at-p75 record's `heart_summary` rates (None: no heart)."""
    from empathy.edge.heart import waveform_peaks
    from empathy.edge.hrv import heart_summary
    from empathy.edge.ppg_polarity import oriented

    x, fs = record_data(need(name))
    rates = []
    for y in (board_counts(x, False), BOARDS["clipped at p75"](x, fs)[0]):
        b = waveform_peaks(oriented(y, fs)[0], fs, "ppg")
        s = heart_summary(b.idx / fs, b.sqi, len(y) / fs)
        rates.append(s["bpm"] if s["heartbeat"] else None)
    return rates


def test_clipping_makes_no_heartbeat_nor_a_wrong_rate():
    # every PPG tuning record cut at its 75th percentile: where the detector doubles beats
    # or places them off the pulses (heartpy-data 52 beats for 24, heartpy-data3 115.9 bpm
    # for 96.8, heartpy-data2 F1 0.19) or a moving wrist gives none (wrist-*-walk), the
    # clipped record must not read as a heartbeat; where it does, at the untouched rate
    # (pyphysio-bvp, whose motion at 64-72 s hides pulses once clipped: 1.52 bpm apart
    # with the raw intervals, within since a PPG's headline mends a missed pulse)
    from empathy.edge.heart_corpus import RECORDS

    # (or, where an ECG gives the true rate, the clipped record's is nearer it: bidmc-53's
    # runs of premature beats, whose small pulses the untouched record's tops hide more of,
    # 86.6 and 89.7 bpm for its ECG's 93.7)
    from empathy.edge.heart_corpus import annotated_beats, trusted_spans

    said = {}
    for rec in RECORDS:
        if rec.kind != "ppg" or rec.held_out:
            continue
        said[rec.name] = rates = _clipped_rates(rec.name)
        if trusted_spans(rec) is not None and None not in rates:
            x, fs = record_data(rec)
            ecg = 60 * len(annotated_beats(rec, len(x), fs)) / (len(x) / fs)
            if abs(rates[1] - ecg) < abs(rates[0] - ecg):
                continue
        assert rates[1] is None or (rates[0] is not None and abs(rates[1] - rates[0]) <= 1.5), \
            (rec.name, rates)
    # (not a test that cannot fail: the readable ones do read a heart)
    assert sum(r[1] is not None for r in said.values()) >= 4, said


@pytest.fixture(scope="module")
def lifted(tmp_path_factory):
    """systole-ppg's counts, untouched and with the finger lifted 3 s every 20 s: (the
    headline rates, the 10-s windows' rates). Both lift tests read the same two runs."""
    import json

    x, fs = record_data(need("systole-ppg"))
    rates, windows = [], []
    for board in ("counts, upright", "pinned at 0"):
        f = tmp_path_factory.mktemp("lifted") / "x.csv"
        np.savetxt(f, BOARDS[board](x, fs)[0], fmt="%d")
        s = json.loads(_cli("hr", str(f), "--fs", "75", "--json").stdout)
        rates.append(s["bpm"])
        windows.append(np.array([w["bpm"] for w in s["windows"]]))
    return rates, windows


def test_finger_lifted_leaves_the_rate_alone(lifted):
    # the detector finds the beats around the lifts (F1 0.981); the rate said fell from
    # 68.6 to 59.5 bpm while it was the mean of every interval, the 3.5-4.5 s across a lift
    # too (hrv._rate)
    rates, _ = lifted
    assert abs(rates[1] - rates[0]) <= 1.5, rates


@pytest.mark.xfail(strict=True, reason="measured since the RR corrector's paper-faithful ectopic "
                   "rule (rrsplit): the 150-s window reads 13.2 bpm under the untouched one's: "
                   "the detector misses the second beat after the lift (154.75 s), and the 1.53-s "
                   "interval it leaves is no longer mended as a missed beat (the lift's 3.6-s gap, "
                   "replaced as long/short, widens the thresholds); the old corrector split it")
def test_finger_lifted_leaves_each_window_s_rate_alone(lifted):
    """A lift's window read 23 bpm under the untouched one's while the windows' rate was
    the mean of every interval (hrv._rate)."""
    _, windows = lifted
    assert np.min(windows[1] - windows[0]) >= -5, windows


@pytest.mark.xfail(strict=True, reason="scored once after CLIP_PPG (tuned on the tuning records "
                   "only): held-out cinc15-a103l cut at its 75th percentile reads a heart at "
                   "110.1 bpm (quality 0.21), as counts untouched 122.4, its ECG reference 126.5; "
                   "ours finds 434 beats for 482 (F1 0.916) and each miss doubles an interval of "
                   "the headline rate (before CLIP_PPG: 'no heartbeat', 0.03)")
def test_held_out_clipped_icu_ppg_reads_no_wrong_rate():
    from empathy.edge.heart import waveform_peaks
    from empathy.edge.hrv import heart_summary
    from empathy.edge.ppg_polarity import oriented

    x, fs = record_data(need("cinc15-a103l"))
    rates = []
    for y in (board_counts(x, False), BOARDS["clipped at p75"](x, fs)[0]):
        b = waveform_peaks(oriented(y, fs)[0], fs, "ppg")
        s = heart_summary(b.idx / fs, b.sqi, len(y) / fs)
        rates.append(s["bpm"] if s["heartbeat"] else None)
    assert rates[1] is None or abs(rates[1] - rates[0]) <= 1.5, rates


def test_the_sweep_refuses_a_board_it_does_not_have(capsys):
    """A misspelt --board ran the untouched records alone and exited 0, as if scored."""
    from empathy.edge.ppg_boards import main

    with pytest.raises(SystemExit) as e:
        main(["--board", "clipped at p57"])
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err
