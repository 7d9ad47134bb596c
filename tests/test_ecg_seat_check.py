"""A hardware tester's short seat check (`empathy sensors read URL --duration 15`) on an ECG
board whose LO pin is stuck high: the show's judge needs three 10-s windows and never spoke
in a check this short; the read now ends with what the pins and the ECG under them said."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from corpus_records import need


def seat_check(tmp_path, *board_args: str, seconds: int = 15) -> str:
    """The simulated board (its own process) on a pty, `empathy sensors read` on it for
    `seconds` (its own process): the read's stderr."""
    link = tmp_path / "ttyACM-seat"
    board = subprocess.Popen([sys.executable, "-m", "empathy.sim.board", "--link", str(link),
                              *board_args])
    try:
        end = time.monotonic() + 120  # (its imports and record: 30 s ran out at load 18)
        while not link.exists() and time.monotonic() < end and board.poll() is None:
            time.sleep(0.05)
        assert link.exists(), "the simulated board never came up"
        read = subprocess.run([os.path.join(os.path.dirname(sys.executable), "empathy"),
                               "sensors", "read", f"serial://{link}", "--duration",
                               str(seconds)], capture_output=True, text=True, timeout=150)
    finally:
        board.terminate()
        board.wait(10)
    assert read.returncode == 0, read.stderr
    return read.stderr


def test_a_15_s_seat_check_says_the_lo_pin_reads_off_over_a_heart(tmp_path):
    """MIT-BIH 119 (bigeminy), LO+ stuck: the read's last line names the wiring."""
    need("mitdb-119")
    said = seat_check(tmp_path, "--ecg", "mitdb-119", "--stuck-lo")
    line = [x for x in said.splitlines() if "LO+ read off" in x]
    assert line and "read a heart in" in line[0] and "check the LO wiring" in line[0], said


def test_a_15_s_seat_check_of_leads_really_off_says_no_heart(tmp_path):
    """The electrodes really off (the input floating in hum): a lead off, no wiring fault."""
    need("mitdb-100")
    said = seat_check(tmp_path, "--ecg", "mitdb-100", "--lead-off", "0:100")
    line = [x for x in said.splitlines() if "LO+ read off" in x]
    assert line and "no heart under it" in line[0] and "LO wiring" not in line[0], said
