"""The simulated seat's rehearsal knobs: visitors who come and go, and a hand on the drive."""

import csv
import time

import pytest

from empathy.sensors.base import Beat, FaceCrop, Health, SourceError, open_source


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
