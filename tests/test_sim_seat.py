"""The simulated seat's rehearsal knobs: visitors who come and go, and a hand on the drive."""

import csv
import time

import numpy as np
import pytest

from empathy.sensors.base import Beat, FaceCrop, Health, SourceError, Waveform, open_source


def _run(src, seconds):
    got, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        got += src.read(0.05)
    return got


def test_visits_bring_new_people_and_an_empty_seat_gives_nothing(tmp_path):
    truth = tmp_path / "truth.csv"
    src = open_source(f"sim://seat?seed=5&visits=0.3:1.5,1.9:3.2&truth={truth}", faces=True)
    try:
        got = _run(src, 3.6)
    finally:
        src.close()
    contact = [r.contact for r in got if isinstance(r, Health)]
    assert contact == [False, True, False, True, False]
    t0 = src.t_open_us
    beats = [(r.ts_us - t0) / 1e6 for r in got if isinstance(r, Beat)]
    faces = [(r.ts_us - t0) / 1e6 for r in got if isinstance(r, FaceCrop)]
    assert beats and faces
    for t in beats + faces:  # nothing while nobody sits there (20 ms steps of slack)
        assert 0.28 <= t < 1.52 or 1.88 <= t < 3.22, t
    rows = list(csv.DictReader(truth.open()))
    rests = {r["visitor"]: r["rest_bpm"] for r in rows}
    assert set(rests) == {"0", "1"} and rests["0"] != rests["1"]


def test_nudge_file_moves_the_hidden_arousal(tmp_path):
    def mean_arousal(nudge):
        truth, knob = tmp_path / f"t{nudge}.csv", tmp_path / f"n{nudge}"
        knob.write_text(str(nudge))
        src = open_source(f"sim://seat?seed=2&faces=0&nudge={knob}&truth={truth}", faces=False)
        try:
            _run(src, 2.5)
        finally:
            src.close()
        rows = list(csv.DictReader(truth.open()))
        return sum(float(r["arousal"]) for r in rows[-5:]) / 5

    assert mean_arousal(0.9) > mean_arousal(-0.9) + 0.3


@pytest.mark.parametrize("visits", ["5", "3:2", "1:2,1.5:3", "a:b", "-1:2"])
def test_bad_visits_are_a_clear_source_error(visits):
    with pytest.raises(SourceError, match="visit"):
        open_source(f"sim://seat?visits={visits}", faces=False)


def test_truth_file_keeps_its_columns_and_adds_at_the_end(tmp_path):
    truth = tmp_path / "truth.csv"
    src = open_source(f"sim://seat?seed=3&faces=0&truth={truth}", faces=False)
    try:
        _run(src, 0.6)
    finally:
        src.close()
    head = truth.read_text().splitlines()[0].split(",")
    assert head[:7] == ["ts_us", "arousal", "valence", "hr_bpm", "clip", "visitor", "rest_bpm"]
    assert head[7:] == ["pupil_mm", "eda_us", "expression", "nuisance"]
    row = next(csv.DictReader(truth.open()))
    assert 1.5 < float(row["pupil_mm"]) < 9 and 0 < float(row["eda_us"]) < 40
    assert row["expression"] in ("neutral", "happy", "surprise", "fear", "sad", "angry")


def test_skin_conductance_and_finger_ppg_when_asked():
    src = open_source("sim://seat?seed=4&faces=0&eda=1&ppg=1", faces=False)
    try:
        got = _run(src, 1.2)
    finally:
        src.close()
    eda = [r for r in got if isinstance(r, Waveform) and r.kind == "eda"]
    ppg = [r for r in got if isinstance(r, Waveform) and r.kind == "ppg"]
    assert eda and ppg and all(r.fs_hz == 32 for r in eda) and all(r.fs_hz == 100 for r in ppg)
    x = np.concatenate([r.samples for r in eda])
    assert 1 < x.min() and x.max() < 30  # microsiemens: a tonic level of a few
    # chunks follow one another on one sample clock
    ends = [r.ts_us + len(r.samples) * 1e6 / r.fs_hz for r in eda[:-1]]
    assert np.allclose(ends, [r.ts_us for r in eda[1:]], atol=1000)
    plain = open_source("sim://seat?seed=4&faces=0", faces=False)
    try:
        assert not any(isinstance(r, Waveform) for r in _run(plain, 0.5))
    finally:
        plain.close()


def test_the_edge_passes_over_waveforms_it_does_not_process(caplog):
    from empathy.edge.features import SeatFeatures

    f = SeatFeatures(baseline_s=1.0)
    for i in range(8):  # breathing: a waveform kind the edge has no use for (yet)
        f.add(Waveform(i * 250_000, "resp", 32.0, np.full(8, 5.0, np.float32)))
        f.add(Waveform(i * 250_000, "eda", 32.0, np.full(8, 5.0, np.float32)))
    assert f.eda is not None  # skin conductance is read
    f.add(Beat(2_000_000, 800.0))
    e = f.estimate(2_100_000)
    assert f.ignored == {"resp": 8} and not f.waves
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert e["flags"] >= 0


@pytest.mark.parametrize("knob", ["-1", "11", "nan", "x"])
def test_bad_nuisance_is_a_clear_source_error(knob):
    with pytest.raises(SourceError, match="nuisance .* must be a number within 0..10"):
        open_source(f"sim://seat?nuisance={knob}", faces=False)
