"""What the link refused and lost (the show's dashboard, summary and metrics), beside the
intake (host/receive.py) that counts its own refusals."""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from empathy.host.receive import Intake


class LinkCounters:
    """What the link refused and lost, for the dashboard, the summary and metrics: refusals
    by reason (the intake's and the transport's), and packets dropped before the intake saw
    them (the kernel's socket buffer, the transport's bounded queue)."""

    def __init__(self, intake: Intake, receiver):
        self.intake, self.receiver = intake, receiver
        self._seen, self._at = 0, 0.0

    def rejected(self) -> dict:
        # dict.copy is one C call under the GIL: safe while the show thread counts on
        out = Counter(dict.copy(self.intake.rejected))
        out.update(dict.copy(getattr(self.receiver, "rejected", {})))
        return dict(out)

    def dropped(self) -> dict:
        return {"kernel": int(getattr(self.receiver, "kernel_drops", 0)),
                "queue": int(getattr(self.receiver, "queue_drops", 0))}

    def drops_event(self) -> list[dict]:
        """At most once a second: a health event if packets were dropped since the last."""
        if time.monotonic() - self._at < 1.0:
            return []
        self._at = time.monotonic()
        drops = self.dropped()
        total = drops["kernel"] + drops["queue"]
        if total <= self._seen:
            return []
        new, self._seen = total - self._seen, total
        return [{"event": "packets_dropped", "new": new, **drops}]
