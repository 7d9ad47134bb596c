"""OSC output: the audience and the story's turns, for TouchDesigner, Max/MSP, Unity or a
lighting desk in the installation (python-osc over UDP, one client per target).

Addresses (PREFIX defaults to /empathy; every value a float unless said):
    PREFIX/audience   arousal arousal_se valence valence_se seats_good(int) seats_total(int)
                      synchrony                                  (2 Hz, with each state)
    PREFIX/arousal    arousal       PREFIX/valence   valence     (same moment, one value each)
    PREFIX/segment    segment id (str)                           (when a segment starts)
    PREFIX/decision   decision(str) chosen(str) fallback(int) reason(str)
    PREFIX/grade      lut(str) strength                          (when the grade changes)
    PREFIX/control    action(str) value(str) by(str)             (operator controls)
    PREFIX/seat/N     arousal valence hr_bpm flags(int)          (only with seats = true)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from empathy.config import host_port, setting

log = logging.getLogger("empathy.host.osc")


@dataclass
class OscConfig:
    #: receivers, host:port each; none: no OSC. Example: ["127.0.0.1:9000"]
    targets: list[str] = setting([], check=host_port)
    prefix: str = "/empathy"  #: address prefix of every message (starts with /)
    seats: bool = False  #: per-seat messages too (10 Hz a seat: mind a 300-seat room)

    def validate(self):
        if not self.prefix.startswith("/") or self.prefix.endswith("/"):
            raise ValueError(f"osc prefix {self.prefix!r} must start with / and not end with /")


class OscOutput:
    """A Show observer sending OSC to every target."""

    def __init__(self, cfg: OscConfig):
        from pythonosc.udp_client import SimpleUDPClient  # here: OscConfig is read without it

        self.cfg, self.p = cfg, cfg.prefix
        self.clients = [SimpleUDPClient(h, int(p)) for h, _, p in
                        (t.rpartition(":") for t in cfg.targets)]
        self.sent = self.failed = 0
        self._grade = None

    def _send(self, address: str, values) -> None:
        for c in self.clients:
            try:
                c.send_message(address, values)
                self.sent += 1
            except OSError as e:  # a receiver that went away must not stop the show
                if not self.failed:
                    log.warning("osc send to %s:%s failed: %s", c._address, c._port, e)
                self.failed += 1

    def __call__(self, kind: str, data) -> None:
        p = self.p
        if kind == "state":
            self._send(f"{p}/audience", [data.arousal, data.arousal_se, data.valence,
                                         data.valence_se, data.seats_good, data.seats_total,
                                         data.synchrony])
            self._send(f"{p}/arousal", data.arousal)
            self._send(f"{p}/valence", data.valence)
        elif kind == "segment":
            self._send(f"{p}/segment", data["segment"])
        elif kind == "decision":
            self._send(f"{p}/decision", [data["decision"], data["chosen"],
                                         int(data["fallback"]), data["reason"]])
        elif kind == "frame":
            grade = (data.lut, data.strength)
            if grade != self._grade:
                self._grade = grade
                self._send(f"{p}/grade", [data.lut, float(data.strength)])
        elif kind == "control":
            self._send(f"{p}/control", [data["action"], str(data["value"]), data["by"]])
        elif kind == "visit":  # a kiosk: someone sat down, their film, they left
            self._send(f"{p}/visit", [data["event"], int(data["visit"] or 0)])
        elif kind == "samples" and self.cfg.seats:
            for s in data:
                self._send(f"{p}/seat/{s.seat_id}", [s.arousal, s.valence, s.hr_bpm, s.flags])
