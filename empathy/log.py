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
