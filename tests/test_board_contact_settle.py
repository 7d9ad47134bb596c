"""A board's STATUS contact bit, settled as the host settles an ECG lead (sensors/firmware/
board.py SETTLE_S), and a finger's PPG read only while the finger is on: through the
simulated board on a real pty into a seat."""

from __future__ import annotations

import numpy as np
import pytest

from corpus_records import need
from empathy.sensors.firmware import protocol
from empathy.sensors.firmware.board import SETTLE_S, Board


@pytest.mark.realtime  # a pty board in real time: the light pass
def test_an_ecg_board_with_a_ppg_keeps_contact_off_while_its_lead_flaps(tmp_path):
    """MIT-BIH 100 on a board whose PPG is fitted, nobody's finger on it; +IN on a loose
    snap 6-16 s (14-24 s till session 32: contact is on from ~2.1 s, and the 8 s before
    only waited). The host settled the lead's frames, but STATUS (read as the board's word
    where it has a PPG) said contact at any sample the lead touched: CONTACT on in 39 of 100
    estimates while it flapped, and back at once. Now off while it flaps, back after the
    settle."""
    from empathy.bench.ecg_lead_off import seat_over_pty
    from empathy.sim.board import SimAD8232, corpus_ecg

    need("mitdb-100")
    ecg = SimAD8232(corpus_ecg("mitdb-100")[30 * 250:], flap=[(6.0, 16.0)])
    rows = seat_over_pty(tmp_path / "ttyACM-chest", ecg, 22.0, bare_ppg=True)
    t, contact = rows[:, 0], rows[:, 1] > 0
    assert contact[(t > 4.0) & (t < 6.0)].all()
    assert not contact[(t >= 6.5) & (t < 16.0)].any(), t[(t >= 6.5) & (t < 16.0) & contact]
    back = t[(t >= 16.0) & contact]
    assert len(back) and 1.5 <= back[0] - 16.0 <= SETTLE_S + 1.0
    assert contact[t >= back[0]].all()


@pytest.mark.realtime  # a pty board in real time: the light pass
def test_a_finger_resting_lightly_on_a_ppg_board_is_no_contact_and_its_pulse_returns(tmp_path):
    """A simulated viewer's finger PPG board; 20-30 s the finger rests so lightly it lifts a
    third of each 1/3 s. STATUS read the newest sample: CONTACT on in all 100 estimates
    while it lifted, HR_OK in 94 (the room's light and the steps to it read as a pulse),
    and none in the 15 s after it settled (the steps held the detector). Now CONTACT goes
    off within the next STATUS, and HR_OK is back within 8 s of the finger settling: the
    host drops every frame with a lifted sample, so the seat's PPG starts afresh at ~30.3 s
    and its first beats come ~6.7 s later, with either simulated pulse shape.
    The viewer is seed 1, the first whose nuisances leave 0-50 s still: seed 0's eats
    34.7-47.4 s (artefacts 3x the pulse, no accelerometer on this board), so its HR_OK from
    38 s read the PPG under motion at quality 0.31-0.48 against MIN_HEART_QUALITY 0.3
    (replays re-chunked at random: 10 of 20 passed with the log-normal pulse, 11 of 20 with
    the Gaussian one it replaced) and, once the seat asks the PPG's evidence, motion's
    time-reversible artefacts read asymmetry 3.3-4.0 and repeat 0.11-0.17: no heart's."""
    from empathy.bench.ecg_lead_off import seat_over_pty

    rows = seat_over_pty(tmp_path / "ttyACM-finger", None, 45.0,
                         finger={"finger_flap": [(20.0, 30.0)], "seed": 1})
    t, contact, hr_ok = rows[:, 0], rows[:, 1] > 0, rows[:, 2] > 0
    assert hr_ok[(t > 15.0) & (t < 20.0)].mean() > 0.9
    lifting = (t >= 21.5) & (t < 30.0)
    # (contact on through all 85 rows of the lift once in a full run, session 34, with the
    # light pass beside the alone pass; not reproduced in 4 runs at once beside two busy
    # loops, nor alone: the rows say which, and when, next time)
    said = rows[(t >= 18.0) & (t < 32.0)].round(2).tolist()
    assert not contact[lifting].any(), said
    assert not hr_ok[lifting].any(), said
    assert hr_ok[t >= 38.0].mean() >= 0.9, rows[t >= 29.0].round(2).tolist()  # (0.0 once
    # in six full runs, session 30: a loop turn of the simulated board over 1 s late sent its
    # pupils after a STATUS that much newer, the host took its clock as set back and stamped
    # the burst at its arrival, and the seat's PPG started over: test_serial_board.py's
    # late_by_seconds test. The rows count from the sensor's first sample, not a stamp)


class _Chip:
    """A PPG sensor's shape: `fs_hz`, `read()` -> what was pushed since."""

    fs_hz = 100

    def __init__(self):
        self.fifo = []

    def read(self):
        out, self.fifo = self.fifo, []
        return out


def test_status_says_contact_only_once_a_finger_has_held_for_settle_s():
    """The firmware alone: a finger on from 0 s, lifting at 3 Hz 5-8 s, off at 12 s."""
    chip, out, clock = _Chip(), bytearray(), [0]
    board = Board(chip, out.extend, lambda: clock[0], board_id=1)
    board.boot()
    for i in range(1500):  # 15 s of 10-ms loop turns, a sample each
        t = i / 100
        lifted = (5.0 <= t < 8.0 and (t * 3) % 1.0 < 0.33) or t >= 12.0
        chip.fifo.append(3_000 if lifted else 120_000)
        clock[0] += 10_000
        board.step()
    said = [(ts / 1e6, bool(f["flags"] & protocol.CONTACT)) for kind, _, ts, f
            in protocol.Decoder().feed(bytes(out)) if kind == protocol.STATUS]
    assert [on for ts, on in said] == [ts >= SETTLE_S and not 5.0 <= ts < 8.0 + SETTLE_S
                                       and ts < 12.0 for ts, _ in said], said
    assert np.sum([on for _, on in said]) >= 5
