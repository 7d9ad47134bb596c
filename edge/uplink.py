"""The edge unit's view of its uplink: packets it could not send, said out loud.

A unit whose host or broker is down must not run silently. Every packet the transport
could not hand to the network is counted (the count travels in the heartbeat, so the host
sees it once the link is back); the log says so at most once per `every_s`, with how many
failed since the last line and why; and a unit that never got a clock-sync reply says that
nobody answers (over UDP a send "succeeds" whether or not a host listens).
The report (`stats`) says only what the unit knows: over UDP or serial the host was reached
when it was heard from (a verified clock-sync reply), and is "unknown" otherwise.
"""

from __future__ import annotations

import logging

log = logging.getLogger("empathy.edge.uplink")


class UplinkWatch:
    def __init__(self, url: str, every_s: float = 10.0, quiet_s: float = 10.0):
        self.url, self.every_us, self.quiet_us = url, int(every_s * 1e6), int(quiet_s * 1e6)
        self.sent = 0        # packets handed to the network
        self.failed = 0      # packets that were not
        self.logged = 0      # failures already told in the log
        self.problem = ""
        self.next_log_us: int | None = None
        self.started_us: int | None = None
        self.told_quiet = False

    def count(self, ok: bool, problem: str, t_us: int) -> None:
        if self.started_us is None:
            self.started_us = t_us
        if ok:
            self.sent += 1
            return
        self.failed += 1
        self.problem = problem or self.problem
        if self.next_log_us is None or t_us >= self.next_log_us:
            self._tell(t_us)

    def _tell(self, t_us: int) -> None:
        n, self.logged = self.failed - self.logged, self.failed
        log.warning("uplink %s: %d packet(s) not sent (%s); %d in all", self.url, n,
                    self.problem or "unknown", self.failed,
                    extra={"uplink": self.url, "uplink_failed": self.failed, "why": self.problem})
        self.next_log_us = t_us + self.every_us

    def check_replies(self, synced: bool, replies: int, t_us: int) -> None:
        """Sends that leave but are never answered: nobody listens at the other end."""
        if self.started_us is None or replies or self.told_quiet or not self.sent:
            return  # (nothing left at all: count() says so already)
        if t_us - self.started_us >= self.quiet_us:
            self.told_quiet = True
            log.warning("uplink %s: no clock-sync reply in %.0f s: is the host running, and "
                        "does it listen there? (`empathy doctor --config`)", self.url,
                        (t_us - self.started_us) / 1e6, extra={"uplink": self.url})

    def stats(self, configured: str, replies: int, accepted: bool | None) -> dict:
        """`configured`: the config's URL (`url` is where packets went: discovery's answer
        for udp://auto); `replies`: the host's verified clock-sync replies; `accepted`: a
        broker's acceptance where the transport has one (MQTT), else None."""
        if accepted is not None:  # MQTT: heartbeats queued while away leave once it is back
            reached: bool | str = bool(self.sent or accepted)
        elif replies or not self.sent:
            reached = bool(replies)
        else:
            reached = "unknown"  # datagrams left; whether anyone listens, nobody said
        return {"url": self.url, "configured": configured, "sent": self.sent,
                "failed": self.failed, "problem": self.problem if self.failed else "",
                "reached": reached, "host_replies": replies}
