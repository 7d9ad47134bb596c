"""A serial board's clock mapped onto ours, and which of its frames are on that clock.

A board sends its frames in its clock's order (docs/sensors.md). A frame far behind the
newest is either a stray (a third-party firmware's retransmit after a USB hiccup, a second
sensor's task running late) or the board's clock gone back (a power cycle whose boot HELLO
was lost, a clock set back). One frame cannot tell which; the frames after it can.
"""

from __future__ import annotations

from collections import deque
from typing import Optional

from empathy.sensors.firmware import protocol

DRIFT_ALLOWANCE = 1e-4  # the board crystal may run 100 ppm off ours
# a board's frames come in its clock's order (a Polar H10's ECG and ACC frames interleave
# within an ECG frame's 0.56 s): a frame further back than this is a stray or a clock gone
# back (BoardGate)
STEP_BACK_US = 1_000_000
# frames behind by more than STEP_BACK_US, in order among themselves, that span this much of
# the board's time with none back on the old clock between: the clock went back and stays
# back; they are followed afresh (late by this span, none lost). Longer than a retransmitted
# burst or a task's backlog flushed under 2 s late spans. Reset at the first such frame, one
# frame 1.5 s old put the frames after it on their arrival (the stray's chunk on top of the
# newest, the heart's frames late till the next STATUS: 4-21 off by over 20 ms, a PPG seat
# without HR_OK 1.4-2.0 s on one record of three: bench/board_stray.py)
RESTART_SPAN_US = 1_000_000
# a board clock slower than ours by more than the creep (an RC oscillator: a few %) is
# followed to the least delay of the last FLOOR_US of its time where that is over SLOW_US
# above the offset (under it: a BLE link's delays, 7.5-50 ms). Held, its stamps fell behind
# ours and a seat read its samples at the declared rate (4 % slow: HR 4 % high). The least
# of one second (one or two of an H10's ECG frames) followed delays that come and go: the
# stamps jumped ahead and fell back, read as a rate 3-8 % fast (tests/test_pmd_timebase.py).
# A slow clock's stamps are FLOOR_US of its drift early (4 % slow: 0.4 s)
FLOOR_US = 10_000_000
SLOW_US = 50_000


class BoardClock:
    """Maps the board's 32-bit microsecond clock onto ours.

    The offset is the smallest (arrival - board time) seen: the frame that waited least in
    USB and OS buffers. It may creep up by DRIFT_ALLOWANCE so a slow board crystal is
    followed, and up to the least delay of the last FLOOR_US so a slower clock is. A frame
    over STEP_BACK_US behind the newest starts it afresh (a strap's, whose frames a BLE
    link keeps in order); a serial board's go through BoardGate, which holds those first.
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.offset: Optional[float] = None
        self.last_board: Optional[int] = None  # the newest board time, unwrapped
        self.floor: deque = deque()  # (board time, delay), rising: the last FLOOR_US's least first

    def unwrap(self, raw_us: int) -> int:
        """The board time nearest the newest that reads `raw_us` on its 32-bit clock (a
        stray's own: it never moves the newest)."""
        if self.last_board is None:
            return raw_us
        return self.last_board + ((raw_us - self.last_board + (1 << 31)) % (1 << 32)) - (1 << 31)

    def behind(self, board_us: int) -> bool:
        return self.last_board is not None and board_us < self.last_board - STEP_BACK_US

    def stamp(self, board_us: int) -> int:
        """Our time of a board time on the mapping as it stands (a stray's)."""
        return int(board_us + self.offset)

    def to_host(self, raw_us: int, arrival_us: int) -> int:
        board = self.unwrap(raw_us)
        if self.behind(board):
            self.reset()
        delay = arrival_us - board
        if self.offset is None:
            self.offset, self.last_board = delay, board
        else:
            creep = max(0, board - self.last_board) * DRIFT_ALLOWANCE
            self.offset = min(self.offset + creep, delay)
        while self.floor and self.floor[-1][1] >= delay:
            self.floor.pop()
        self.floor.append((board, delay))
        while board - self.floor[0][0] > FLOOR_US:
            self.floor.popleft()
        if self.floor[0][1] > self.offset + SLOW_US:
            self.offset = self.floor[0][1]  # a slow clock: followed
        self.last_board = max(self.last_board, board)
        return int(board + self.offset)


class BoardGate:
    """Frames in, (frame, its arrival, our stamp) out, on the board's timeline.

    A frame over STEP_BACK_US behind the newest is held. The next frame back on the clock
    makes the held strays (`out_of_order`): each goes on stamped on the clock as it stands,
    unless its sensor's frames had got past it (a repeat: dropped). Held frames that span
    RESTART_SPAN_US are the clock gone back: the mapping starts afresh and they go on, late
    but none lost. A HELLO with seq 0 (a board that booted) starts it afresh at once.
    """

    def __init__(self):
        self.clock = BoardClock()
        self.out_of_order = 0  # strays, this source's run
        self.restarts = 0  # clock gone back with no boot HELLO
        self.reset()

    def reset(self) -> None:
        self.clock.reset()
        self.held: list = []  # (frame, arrival, board time) behind the newest
        self.newest: dict = {}  # frame type -> its newest board time gone on

    def feed(self, msg: tuple, arrival_us: int) -> list[tuple]:
        kind, seq, raw = msg[:3]
        if kind == protocol.HELLO and seq == 0:  # the board started again, its clock too
            self.out_of_order += len(self.held)  # (from before it: no clock to put them on)
            self.reset()
        board = self.clock.unwrap(raw)
        if not self.clock.behind(board):
            return self._strays() + [self._follow(msg, arrival_us)]
        if self.held and board < max(h[2] for h in self.held) - STEP_BACK_US:
            out = self._strays()  # behind those held too: they were no new clock
        else:
            out = []
        self.held.append((msg, arrival_us, board))
        if max(h[2] for h in self.held) - self.held[0][2] < RESTART_SPAN_US:
            return out
        held, self.restarts = self.held, self.restarts + 1
        self.reset()
        return out + [self._follow(m, a) for m, a, _ in held]

    def _follow(self, msg: tuple, arrival_us: int) -> tuple:
        board = self.clock.unwrap(msg[2])
        self.newest[msg[0]] = max(self.newest.get(msg[0], board), board)
        return msg, arrival_us, self.clock.to_host(msg[2], arrival_us)

    def _strays(self) -> list[tuple]:
        out = []
        for msg, arrival_us, board in self.held:
            self.out_of_order += 1
            if board > self.newest.get(msg[0], board - 1):
                self.newest[msg[0]] = board
                out.append((msg, arrival_us, self.clock.stamp(board)))
        self.held = []
        return out
