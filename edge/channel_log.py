"""A unit's channels log (`channels_log`): each seat's estimate by channel, one CSV row per
sample sent, for `empathy evaluate` and the operator's diagnosis.

A diagnostic, never the show: a card gone read-only (ext4 remounts a failing SD card so) or
full, whether at start or mid-show, gets one warning and the unit runs on without it;
under systemd's Restart=always a refusal would be a restart loop with no seat data. A path
that is wrong (no such folder, a folder, a FIFO) is the operator's to fix and still
refused at start.
"""

from __future__ import annotations

import contextlib
import errno
import logging
from typing import Optional, TextIO

from empathy.paths import log_file

log = logging.getLogger("empathy.edge")
# the card's state, not the path's: says nothing about where the operator pointed it
CARD_FAULTS = (errno.EROFS, errno.ENOSPC, errno.EDQUOT)


class ChannelLog:
    FIELDS = ("ts_us", "seat_id", "flags", "arousal", "heart", "pupil", "face", "no_heart",
              "no_pupil", "no_face")

    def __init__(self, path: str):
        self.f: Optional[TextIO] = None
        try:
            header = ",".join(self.FIELDS) + "\n"
            self.f = open(log_file(path, "channels_log", header), "w", buffering=1)
            self.f.write(header)
        except OSError as e:
            if e.errno not in CARD_FAULTS:
                raise
            log.warning("channels log %s: %s: running without it; the show goes on",
                        path, e.strerror)
            self.close()

    def write(self, ts_us: int, seat_id: int, flags: int, channels: dict) -> None:
        if self.f is None:
            return
        values = ("" if channels.get(k) is None else f"{channels[k]:.4f}"
                  for k in self.FIELDS[3:])
        try:
            self.f.write(f"{ts_us},{seat_id},{flags}," + ",".join(values) + "\n")
        except OSError as e:  # a card gone read-only or full: a diagnostic, not the show
            log.warning("channels log %s: %s: no more rows; the show goes on", self.f.name, e)
            self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):  # (its last rows: said when a write failed)
            if self.f is not None:
                self.f.close()
        self.f = None
