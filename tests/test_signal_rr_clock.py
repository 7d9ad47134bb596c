"""An app's file of RR intervals whose time column is the phone's: when each BLE
notification arrived (Polar Sensor Logger's RR.txt and PPI.txt: an audit of real files
measured arrival minus interval at median -79 ms, SD 299 ms), no beat clock. The
intervals are laid end to end, and that clock only says where beats went missing: the
strap off the skin, the phone out of range."""

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from empathy.cli import main
from empathy.edge.signal_file import read_rr


def arrivals(rr: np.ndarray, heard: np.ndarray, path) -> np.ndarray:
    """A Polar Sensor Logger RR file: a notification a second (at n + 0.05 s) carries the
    intervals that ended since the one before, each row stamped with its arrival. Only
    the intervals heard are written. The true beat times."""
    beats = np.concatenate(([0.0], np.cumsum(rr)))
    t0 = datetime(2024, 3, 14, 22, 5, 1, 250000)
    rows = ["Phone timestamp;RR-interval [ms]"]
    for k in np.flatnonzero(heard):
        sent = np.ceil(beats[k + 1] - 0.05) + 0.05  # the next notification
        stamp = (t0 + timedelta(seconds=float(sent))).isoformat(timespec="milliseconds")
        rows.append(f"{stamp};{rr[k] * 1000:.0f}")
    path.write_text("\n".join(rows) + "\n")
    return beats


def made_up_rr(n: int) -> np.ndarray:
    rng = np.random.default_rng(5)
    return np.round(0.9 + 0.06 * np.sin(np.arange(n) * 2 * np.pi / 5) + rng.normal(0, 0.015, n),
                    3)


def test_beats_the_phone_never_got_leave_a_gap_not_neighbours(tmp_path, capsys):
    """A minute with no intervals (the strap off the skin): the phone's stamps jump a
    minute, but the intervals were laid end to end, the beats either side of the minute
    made neighbours (a silent join; an artefact nobody labels). Placed by the stamps: one
    long interval the corrector labels; the beats after it within the notifications' 1 s
    of their times."""
    rr = made_up_rr(300)
    beats = np.concatenate(([0.0], np.cumsum(rr)))
    heard = ~((beats[1:] > 100) & (beats[1:] <= 160))
    arrivals(rr, heard, tmp_path / "x_RR.txt")
    got = read_rr(str(tmp_path / "x_RR.txt"))[1]
    first = int(np.argmax(~heard))
    j = first + int(np.argmax(heard[first:]))
    assert np.diff(got)[:first] == pytest.approx(rr[:first], abs=1e-6)
    assert np.diff(got)[first] == pytest.approx(beats[j] - beats[first], abs=1.5)
    assert got[first + 1:] - got[0] == pytest.approx(beats[j:] - beats[0], abs=1.5)
    assert main(["signal", "hrv", str(tmp_path / "x_RR.txt"), "--kind", "rr", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert first in [a["index"] for a in s["artefacts"]] and not s["normal"][first]


def test_arrival_stamps_alone_move_no_beat(tmp_path):
    """Nothing lost, an hour: the intervals as written, end to end, whatever the
    notifications' jitter (no gap made of it)."""
    rr = made_up_rr(4000)
    arrivals(rr, np.ones(len(rr), bool), tmp_path / "x_RR.txt")
    got = read_rr(str(tmp_path / "x_RR.txt"))[1]
    assert np.diff(got) == pytest.approx(rr, abs=1e-6)


def test_a_sensor_s_frames_of_many_beats_move_no_beat(tmp_path):
    """A Verity Sense sends its pulse intervals in frames, each row of a frame with the
    frame's arrival: the first row's interval ended a frame's length (here 8 beats, over
    7 s) before its stamp. That is no beat lost: the stamp is the frame's last beat's.
    (The first frame here holds one beat: the stamps are read against a frame's last.)"""
    rr = np.round(1.0 + made_up_rr(800) - 0.9, 3)
    beats = np.cumsum(rr)
    t0 = datetime(2024, 3, 14, 22, 5, 1)
    rows = ["Phone Data RX timestamp;PP-interval [ms];error estimate [ms];blocker;contact;"
            "contact;hr [bpm]"]
    for k in range(len(rr)):
        last = min(k + 7 - (k - 1) % 8, len(rr) - 1) if k else 0  # its frame's last beat
        stamp = (t0 + timedelta(seconds=float(beats[last]) + 0.3)).isoformat(
            timespec="milliseconds")
        rows.append(f"{stamp};{rr[k] * 1000:.0f};6;0;1;1;60")
    (tmp_path / "x_PPI.txt").write_text("\n".join(rows) + "\n")
    got = read_rr(str(tmp_path / "x_PPI.txt"))[1]
    assert np.diff(got) == pytest.approx(rr, abs=1e-6)


def test_a_pulse_interval_without_skin_contact_is_no_beat(tmp_path):
    """Verity Sense's PPI rows say whether the sensor touched the skin ('contact', where
    the second 'contact', supported, is 1): off the skin it still sends intervals, an
    optical sensor's noise (here 450 and 1300 ms by turns). They were read as beats. Now,
    as a blocked one, each ends in no beat: with the next, one long interval the
    corrector labels."""
    from pathlib import Path

    text = (Path(__file__).parent / "data" / "signal" / "polar_verity_PPI.txt").read_text()
    head, *rows = text.splitlines()
    rows = [r.split(";") for r in rows]
    off = range(40, 50)
    for k in off:
        rows[k][1], rows[k][4] = ("450", "0") if k % 2 else ("1300", "0")
    (tmp_path / "x_PPI.txt").write_text("\n".join([head] + [";".join(r) for r in rows]) + "\n")
    pp = np.array([float(r[1]) for r in rows])
    ignored = np.array([r[3] == "1" or r[4] == "0" for r in rows])
    got = np.diff(read_rr(str(tmp_path / "x_PPI.txt"))[1]) * 1000
    merged, k = [], 0
    while k < len(pp):  # an interval that ends in no beat joins the next
        n = next(j for j in range(k, len(pp)) if not ignored[j] or j == len(pp) - 1)
        merged.append(pp[k:n + 1].sum())
        k = n + 1
    assert got == pytest.approx(merged, abs=0.01)
    for r in rows:  # (off the skin throughout: nothing to read)
        r[4] = "0"
    (tmp_path / "x_PPI.txt").write_text("\n".join([head] + [";".join(r) for r in rows]) + "\n")
    assert main(["signal", "hrv", str(tmp_path / "x_PPI.txt"), "--kind", "rr"]) == 1
