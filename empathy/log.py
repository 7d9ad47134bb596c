"""Structured logs: one JSON object per line with --log-json, readable text otherwise.

To stderr (the journal under systemd), or with --log-file PATH to a file that rolls over by
size and age (`empathy.rotate`: 20 MB or a new day, 7 old files kept), so a kiosk running
for months never fills its card.
"""

from __future__ import annotations

import json
import logging
import sys
import time

_STD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "t": round(time.time(), 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # Anything passed as logging's `extra=` becomes a field, so logs stay queryable.
        doc.update({k: v for k, v in record.__dict__.items() if k not in _STD})
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def setup(level: str = "info", json_lines: bool = False, stream=None,
          log_file: str | None = None) -> None:
    if log_file:
        from empathy.rotate import RotatingLogHandler

        handler: logging.Handler = RotatingLogHandler(log_file)
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class RateLimited:
    """At most `burst` lines per `period_s` for one kind of message; the rest are counted
    and the count said in the next line let through, so a flood of refusals (bad tokens,
    forged packets) cannot fill the disk or bury the log, yet nothing goes unmentioned."""

    def __init__(self, logger: logging.Logger, burst: int = 5, period_s: float = 60.0,
                 clock=time.monotonic):
        self.logger, self.burst, self.period_s, self.clock = logger, burst, period_s, clock
        self.window_start = -float("inf")
        self.in_window = 0
        self.suppressed = 0  # since the last line let through
        self.suppressed_total = 0

    def __call__(self, level: int, msg: str, *args, **kw) -> bool:
        """Log like `logger.log`; False when this line was suppressed (and counted)."""
        now = self.clock()
        if now - self.window_start >= self.period_s:
            self.window_start, self.in_window = now, 0
        if self.in_window >= self.burst:
            self.suppressed += 1
            self.suppressed_total += 1
            return False
        self.in_window += 1
        if self.suppressed:
            msg = f"{msg} (and {self.suppressed} more like it suppressed)"
            self.suppressed = 0
        self.logger.log(level, msg, *args, **kw)
        return True


class SaidOnce:
    """A state's changes (a sensor's fault) said once each: a state said under `quiet_s`
    ago is not said again when it comes back, only counted into the next line said (a
    board's STATUS toggling between two texts each frame said each change, a line a
    second); states new each time are capped as RateLimited caps them. Time is the
    caller's (its readings' stamps)."""

    def __init__(self, logger: logging.Logger, quiet_s: float = 60.0, burst: int = 5):
        self.quiet_s, self.now, self.back = quiet_s, 0.0, 0
        self.said: dict[str, float] = {}  # state -> when said (those under quiet_s ago)
        self._say = RateLimited(logger, burst, quiet_s, clock=lambda: self.now)

    def __call__(self, now_s: float, state: str, level: int, msg: str, *args, **kw) -> bool:
        """Log like `logger.log` where `state` was not said under quiet_s ago; False if not."""
        self.now = now_s
        self.said = {k: t for k, t in self.said.items() if now_s - t < self.quiet_s}
        if state in self.said:
            self.back += 1
            return False
        self.said[state] = now_s
        if self.back:
            msg = f"{msg} ({self.back} changes back to a state said in the last " \
                  f"{self.quiet_s:g} s not repeated)"
            self.back = 0
        return self._say(level, msg, *args, **kw)
