"""The unit's packet sequence: one for every packet it sends (the host keeps one replay
window a unit), carried over restarts so the host never sees a number twice."""

from __future__ import annotations

import logging
from pathlib import Path

from empathy import atomic, wire
from empathy.paths import state_dir

log = logging.getLogger("empathy.edge")


def seq_path(cfg) -> Path:
    """Where an edge config's unit keeps its sequence (`empathy doctor` checks it too)."""
    return Path(cfg.seq_file) if cfg.seq_file else state_dir("edge", f"unit{cfg.unit_id}.seq")


class SeqReserve:
    """Sequence numbers reserved on disk a block at a time, so a unit started again (even
    after SIGKILL or a power cut) goes on past every number it sent before; from 0 the host
    would refuse it as a replay until it caught up. A restart skips at most one block."""

    BLOCK = 1024  # about 80 s of one seat's packets: one small write per block

    def __init__(self, path):
        self.path = Path(path)
        try:
            self.start = int(self.path.read_text()) & wire.SEQ_MASK
        except FileNotFoundError:
            self.start = 0
        except (OSError, ValueError) as e:
            log.warning("sequence file %s unreadable (%s): starting from 0", self.path, e)
            self.start = 0
        self.limit = self.start
        self.use(self.start)

    def use(self, seq: int) -> None:
        """`seq` is about to be sent: reserve the next block once it reaches the limit
        (serial arithmetic: numbers wrap at 2**32)."""
        if wire.seq_delta(seq, self.limit) < 0:  # still below the limit
            return
        self.limit = (seq + self.BLOCK) & wire.SEQ_MASK
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_text(self.path, str(self.limit))  # two units never share a .tmp
        except OSError as e:  # a read-only state folder costs the restart guarantee only
            log.warning("cannot reserve sequence numbers in %s: %s", self.path, e)
