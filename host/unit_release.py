"""Which release each unit runs, against this host's (docs/guide-cinema.md, "Upgrading a
cinema"): a cinema updates its host and units over a night, and some units are off or
forgotten. A unit's heartbeat declares its release (`wire.Health.firmware`, the unit's
`wire.RELEASE`; 0.1.0 from every release before session 35); the operator is told, once
per unit and release, which run older or newer software than the host, and what to do.
"""

from __future__ import annotations

from empathy import wire

WHAT = {"older": "older than the host: update the unit",
        "newer": "newer than the host: update the host"}


def text(release: tuple) -> str:
    return ".".join(map(str, release))


def against_host(release: tuple) -> str:
    """'same', 'older' or 'newer' than this host's release."""
    release = tuple(release)
    return "same" if release == wire.RELEASE else (
        "older" if release < wire.RELEASE else "newer")


class Releases:
    """The units whose release differs from the host's, each said once per release."""

    def __init__(self):
        self.said: dict[int, tuple] = {}  # unit -> the release last said (or the host's)
        self.pending: list[dict] = []

    def heard(self, hb: wire.Health) -> None:
        release = tuple(hb.firmware)
        if self.said.get(hb.unit_id) == release:
            return
        first = hb.unit_id not in self.said
        self.said[hb.unit_id] = release
        vs = against_host(release)
        if vs != "same":
            self.pending.append({"event": "unit_release", "unit": hb.unit_id,
                                 "release": text(release), "host": text(wire.RELEASE),
                                 "why": WHAT[vs]})
        elif not first:  # updated while the host ran
            self.pending.append({"event": "unit_updated", "unit": hb.unit_id,
                                 "release": text(release)})

    def events(self) -> list[dict]:
        out, self.pending = self.pending, []
        return out
