"""A board's pupil diameters no eye has (the serial driver reads them as no value,
`pupil_rejected`) raise the seat's "impossible" fault, as other impossible values do: the
simulated board on a real pty, its frames read by the real serial driver."""

import time

from empathy import wire
from empathy.clock import now_us
from empathy.edge.features import SeatFeatures
from empathy.edge.seat_faults import IMPOSSIBLE_HOLD_S, UnitFaults

S = 1_000_000


def _names(due):
    return [[wire.describe(c).name for c in wire.codes_of(m)] for _, m, _ in due]


def test_a_board_s_impossible_pupil_raises_the_impossible_fault(tmp_path):
    from empathy.sensors.base import open_source
    from empathy.sim.board import SimBoard

    board = SimBoard(tmp_path / "ttyACM-eye", seed=2)
    src = open_source(f"serial://{board.link}")
    seat = SeatFeatures()
    faults = UnitFaults({5: seat}, sources={5: src})

    def feed(until, bad: int = 0) -> None:
        """Step the board (4-mm pupils, `bad` 20-mm ones first) till `until()` holds."""
        for _ in range(bad):
            board.board.pupil(board.board.ticks_us(), 20_000, 200)  # 20 mm: no eye's
        end = time.monotonic() + 30
        while not until():
            assert time.monotonic() < end, "the board's frames never came"
            board.step()
            board.board.pupil(board.board.ticks_us(), 4000, 200)
            for r in src.read(0.01):
                faults.add(5, r)
                seat.add(r)
            time.sleep(0.005)

    try:
        feed(lambda: src.decoder.ok > 20)
        assert src.pupil_rejected == 0
        assert _names(faults.due(now_us())) in ([], [[]]), "a 4-mm pupil is no fault"
        ok = src.decoder.ok
        # one bad frame, then good ones till frames sent after it are read (its count final)
        feed(lambda: src.pupil_rejected and src.decoder.ok > ok + 20, bad=1)
        assert src.pupil_rejected == 1
        t = now_us()
        assert _names(faults.due(t)) == [["impossible"]]
        # none since: the fault goes after IMPOSSIBLE_HOLD_S, as for other impossible values
        assert _names(faults.due(t + int(IMPOSSIBLE_HOLD_S * S) + S)) == [[]]
    finally:
        src.close()
        board.close()
