"""A unit's state paths (its sequence file, its viewers' baselines beside it, the channels
log, `edge run --stats`) where something other than a file stands: before, a FIFO hung the
unit at start (open() waits for a writer; the channels log's for a reader), a folder as
the sequence file started every run from sequence 0 (the host then refuses its packets as
replays) and `--stats` named a folder only after the show. Now a path the config names is
refused at start in one line; the viewers' file, which the unit only keeps for a restart,
is said once and the show goes on without it."""

import logging
import os
import subprocess
import sys
import threading

import pytest

from empathy.edge.runtime import ChannelLog, run_unit
from empathy.edge.sequence import SeqReserve
from empathy.edge.viewer_state import ViewerKeep
from empathy.errors import UserError
from empathy.keys import Keystore
from test_viewer_state import T0, _cfg, _seat, _viewer


@pytest.fixture(params=["fifo", "folder"])
def not_a_file(request, tmp_path):
    path = tmp_path / "unit1.viewers.json"
    os.mkfifo(path) if request.param == "fifo" else path.mkdir()
    return path


def _within(seconds, call):
    """`call`'s result (or what it raised), or a failure where it has not returned in
    `seconds` (a hang)."""
    out = []

    def run():
        try:
            out.append((call(), None))
        except Exception as e:
            out.append((None, e))
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert out, f"still waiting after {seconds} s"
    if out[0][1] is not None:
        raise out[0][1]
    return out[0][0]


def test_the_viewers_file_not_a_file_is_said_once_and_the_seats_start_fresh(not_a_file,
                                                                            caplog):
    cfg = _cfg()
    f = _seat(cfg)
    keep = ViewerKeep(not_a_file, cfg, [f])
    with caplog.at_level(logging.WARNING, "empathy.edge"):
        assert _within(5, lambda: keep.resume(T0)) == []
        t = _viewer(f, T0, 20, 62)[-1][0]
        _within(5, lambda: keep.save(t))  # (a rename would have replaced the FIFO)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "not a file" in said[0], said
    assert not not_a_file.is_file()


def test_a_sequence_file_channels_log_or_stats_not_a_file_is_refused(not_a_file):
    for make in (lambda: SeqReserve(not_a_file), lambda: ChannelLog(str(not_a_file)),
                 lambda: run_unit(_cfg(), 1.0, str(not_a_file))):
        with pytest.raises(UserError, match="not a file"):
            _within(5, make)


def test_edge_run_refuses_a_fifo_as_its_sequence_file_in_one_line(tmp_path):
    os.mkfifo(tmp_path / "seq")
    Keystore.new([1]).for_unit(1).save(tmp_path / "k.toml")
    (tmp_path / "edge.toml").write_text(
        f'unit_id = 1\nkeystore = "{tmp_path}/k.toml"\nseq_file = "{tmp_path}/seq"\n'
        'faces = false\n'
        '[[seats]]\nseat_id = 1\nsource = "sim://seat?seed=1&faces=0"\n')
    p = subprocess.run([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                        str(tmp_path / "edge.toml"), "--duration", "1"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
    assert "seq" in p.stderr and "FIFO" in p.stderr, p.stderr
