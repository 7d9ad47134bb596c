"""Red team of `brainflow://` with the real BrainFlow library: hostile or damaged playback
files a tester might hand it, hostile query values, two seats on one board, and a board
that goes silent. Judged by counts and order, never by wall-clock margins (a deadline
below only guards a hang)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from brainflow.board_shim import BoardShim
from brainflow.data_filter import DataFilter

from empathy.sensors.base import Health, SourceError, Waveform, open_source

pytestmark = pytest.mark.timeout(180)
S = -1  # the synthetic board: the master board of every recording here
ROWS, TS = BoardShim.get_num_rows(S), BoardShim.get_timestamp_channel(S)
PPG, EDA = BoardShim.get_ppg_channels(S)[0], BoardShim.get_eda_channels(S)[0]


def recording(path, n=2500, damage=None) -> str:
    d = np.zeros((ROWS, n))
    d[PPG] = 5e4 + 100 * np.sin(np.arange(n) / 20)
    d[EDA] = 2.0
    d[TS] = time.time() - 3600 + np.arange(n) / 250
    if damage:
        damage(d)
    DataFilter.write_file(d, str(path), "w")
    return str(path)


def url(path, extra="") -> str:
    return f"brainflow://playback_file?file={path}&master_board=synthetic{extra}"


def until(src, done, guard_s=60.0) -> list:
    """Readings until done(readings) (the guard only ends a hang)."""
    got, end = [], time.monotonic() + guard_s
    while not done(got) and time.monotonic() < end:
        got += src.read(0.1)
    return got


def lines(path, edit) -> str:
    rows = open(path).read().splitlines()
    open(path, "w").write("\n".join(edit(i, r) for i, r in enumerate(rows)) + "\n")
    return path


def _set(row, lo, hi, v):
    return lambda d: d[row].__setitem__(slice(lo, hi), v)


DAMAGED = {  # name -> (make(tmp_path), what the one line says)
    "empty": (lambda p: open(p / "e.csv", "w").close() or str(p / "e.csv"), "is empty"),
    "ragged": (lambda p: lines(recording(p / "r.csv"), lambda i, r: r if i != 7 else
                               "\t".join(r.split("\t")[:5])), "line 8: 5 columns"),
    "text": (lambda p: lines(recording(p / "t.csv"), lambda i, r: r if i != 3 else
                             r.replace("\t", "\tabc", 1)), "line 4: a value that is not"),
    "wide": (lambda p: open(p / "w.csv", "w").write("\t".join(["1"] * 10**6) + "\n")
             and str(p / "w.csv"), "line 1: 1000000 columns"),
    "no_newline": (lambda p: open(p / "z.csv", "w").write("1" * 10**7) and str(p / "z.csv"),
                   "line 1: over 12800 bytes with no end"),
    "ts_nan": (lambda p: recording(p / "n.csv", damage=_set(TS, 900, 910, np.nan)),
               "line 901: a timestamp that is not"),
    "ts_years": (lambda p: recording(p / "y.csv", damage=_set(TS, 1000, None, 3e9)),
                 "line 1001: the timestamp steps by"),
    "ts_back": (lambda p: recording(p / "b.csv", damage=_set(TS, 1000, None, 1.0)),
                "line 1001: the timestamp steps by -"),
}


@pytest.mark.parametrize("case", DAMAGED)
def test_a_damaged_recording_is_refused_in_one_line(tmp_path, case):
    """Before: empty was BrainFlow's bare INVALID_ARGUMENTS_ERROR; ragged lines were skipped
    (970 of 1452 samples in 3 s, the rest squeezed into the time of all), text read as 0
    and a 10^6-column line gave nothing, all silently; a timestamp jump of years stalled
    the playback for good and then close() hung on it."""
    make, said = DAMAGED[case]
    with pytest.raises(SourceError, match=said) as e:
        open_source(url(make(tmp_path)))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("path", ["FIFO", "/dev/zero"])
def test_a_fifo_or_device_as_the_file_is_refused_not_waited_on(tmp_path, path):
    """Before: prepare_session blocked for ever in BrainFlow's open (rc 124 under timeout)."""
    if path == "FIFO":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
    code = f"from empathy.sensors.base import open_source; open_source({url(path)!r})"
    try:  # (in a process: a hang in C cannot be interrupted here)
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("open_source hung on " + path)
    assert "is not a regular file" in p.stderr


def test_1e308_ppg_is_dropped_and_counted(tmp_path):
    """Before: all 100 samples of 1e308 went to the seat's heart detector."""
    src = open_source(url(recording(tmp_path / "big.csv", damage=_set(PPG, 100, 200, 1e308))))
    try:
        got = until(src, lambda g: src.stats()["chunks"] >= 12)
    finally:
        src.close()
    ppg = [w for w in got if isinstance(w, Waveform) and w.kind == "ppg"]
    assert ppg and max(np.abs(w.samples).max() for w in ppg) < 1e9
    assert src.stats()["rejected"] >= 100


@pytest.mark.parametrize("query, said", [
    ("retry_s=nan", "retry_s is seconds"), ("retry_s=-1", "retry_s is seconds"),
    ("retry_s=0", "retry_s is seconds"), ("retry_s=1e9", "retry_s is seconds"),
    ("silence_s=abc", "silence_s is seconds"), ("ppg_channel=-1", "ppg_channel must be 0..1"),
    ("ppg_channel=99", "ppg_channel must be 0..1"), ("serial_prot=/dev/ttyUSB0",
                                                     "unknown parameter 'serial_prot'"),
    ("kinds=eeg", "has no eeg channel"), ("timeout=abc", "timeout must be a whole number"),
    ("timeout=-5", "timeout must be a whole number 0..3600"),
    ("ip_port=99999999999999999999", "ip_port must be a whole number 0..65535"),
    ("ip_protocol_aux=7", "ip_protocol_aux must be a whole number 0..2"),
    # '²' passes str.isdigit() and int() raised ValueError: a traceback (session 32's review)
    ("ppg_channel=²", "ppg_channel must be 0..1"), ("ip_port=²", "ip_port must be a whole"),
    ("ppg_channel=١", "ppg_channel must be 0..1"),
])
def test_query_values_are_range_checked(query, said):
    """Before: retry_s=nan/-1/0/1e9, ppg_channel=-1 (the last row), misspelt keys, a
    negative timeout and a 20-digit ip_port were taken without a word (BrainFlow then gave
    BOARD_WRITE_ERROR after 3.3 s)."""
    with pytest.raises(SourceError, match=said) as e:
        open_source(f"brainflow://synthetic?{query}")
    assert "\n" not in str(e.value)


def test_a_playback_board_needs_a_file_and_a_real_master_board(tmp_path):
    """Before: without master_board, a bare BrainFlowError (a traceback for a user)."""
    rec = recording(tmp_path / "rec.csv")
    for u, said in ((f"brainflow://playback_file?file={rec}", "master_board=NAME"),
                    (url(rec).replace("=synthetic", "=playback_file"), "master_board=NAME"),
                    ("brainflow://playback_file?master_board=synthetic", "file=PATH")):
        with pytest.raises(SourceError, match=said):
            open_source(u)


@pytest.mark.parametrize("board", ["synthetic", "playback_file"])
def test_two_seats_on_one_board_leave_the_first_one_running(tmp_path, board):
    """Before: the second seat's refused BoardShim released the first seat's session when
    collected (its __del__): the first seat's board failed and was reopened."""
    u = url(recording(tmp_path / "rec.csv")) if board == "playback_file" else \
        "brainflow://synthetic"
    a = open_source(u)
    try:
        with pytest.raises(SourceError, match="already another seat's"):
            open_source(u)
        got = until(a, lambda g: a.stats()["chunks"] >= 10)
    finally:
        a.close()
    assert not [r for r in got if isinstance(r, Health) and not r.contact]
    assert a.stats()["reconnects"] == 0


def test_a_board_gone_silent_is_said_and_reopened(tmp_path):
    """A board out of range often fails no call: it just stops sending (here: a 1 s
    recording that ends). Before: nothing was said, and nothing reopened it."""
    src = open_source(url(recording(tmp_path / "short.csv", n=250), "&silence_s=0.5&retry_s=0.1"))
    try:
        got = until(src, lambda g: src.stats()["reconnects"] >= 1 and isinstance(g[-1], Waveform)
                    if g else False)
    finally:
        src.close()
    order = [("wave" if isinstance(r, Waveform) else "ok" if r.contact else r.fault)
             for r in got]
    silent = order.index("no data for 0.5 s (silence_s)")
    assert "wave" in order[:silent] and "ok" in order[silent:] and order[-1] == "wave"
    assert src.stats()["silences"] >= 1


def _unit(tmp_path, seats: dict, *args):
    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
    from empathy.keys import Keystore
    from redteam.ops_rig import unit_config

    cfg = unit_config(tmp_path, Keystore.new([1]), 1, 9, seats)
    return subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                             str(cfg), "--stats", str(tmp_path / "stats.json"), *args],
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.realtime
def test_a_unit_shows_what_its_board_dropped(tmp_path):
    """Before: the unit's stats had no count of the 100 samples of 1e308 (nor of any drop
    by a source). Realtime: a real unit runs 3 s."""
    import json

    rec = recording(tmp_path / "big.csv", damage=_set(PPG, 100, 200, 1e308))
    p = _unit(tmp_path, {1: url(rec)}, "--duration", "3")
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert json.loads((tmp_path / "stats.json").read_text())["source_rejected"]["1"] >= 100


@pytest.mark.realtime
def test_sigterm_while_a_long_recording_is_checked_stops_the_check(tmp_path):
    """A long recording is read through at open (~20 s a GB). Before the unit's stop reached
    the check, a SIGTERM 3 s into a 1 GB file's check stopped the unit 20.8 s later, once
    the whole file was read. Judged by how far the unit read (its own file offset, seen in
    /proc): the signal goes at its first read, and it never reads past half the file."""
    import json
    import signal

    rec = recording(tmp_path / "long.csv", n=250 * 60)
    d = np.loadtxt(rec, delimiter="\t")
    with open(rec, "ab") as f:  # 30 minutes (~130 MB): timestamps still step 1/250 s
        for _ in range(29):
            d[:, TS] += 60
            np.savetxt(f, d, fmt="%.6f", delimiter="\t")
    size = os.path.getsize(rec)
    p = _unit(tmp_path, {1: url(rec)})
    sent, most = False, 0
    while p.poll() is None:
        try:
            for fd in os.listdir(f"/proc/{p.pid}/fd"):
                if os.readlink(f"/proc/{p.pid}/fd/{fd}") == rec:
                    pos = int(open(f"/proc/{p.pid}/fdinfo/{fd}").readline().split()[1])
                    most = max(most, pos)
        except (OSError, ValueError, IndexError):  # gone, or an fd closed as we looked
            continue
        if most and not sent:
            os.kill(p.pid, signal.SIGTERM)
            sent = True
    _, err = p.communicate(timeout=120)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert sent and p.returncode == 0 and "Traceback" not in err, err
    assert stats["started"] is False and stats["stopped_by"] == "SIGTERM", stats
    assert most < size / 2, (most, size)


@pytest.mark.parametrize("board", ["\u00b2", "-\u00b2"])
def test_a_board_named_with_a_superscript_digit_is_one_line(board):
    """'²' passes str.isdigit(): int() raised ValueError, a traceback (session 32's review);
    `brainflow://-1` (the synthetic board's id) is still a board."""
    from empathy.sensors.brainflow import board_id

    with pytest.raises(SourceError, match="unknown BrainFlow board") as e:
        open_source(f"brainflow://{board}")
    assert "\n" not in str(e.value) and board_id("-1") == board_id("synthetic")
