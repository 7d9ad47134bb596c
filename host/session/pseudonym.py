"""Unit ids are replaced by per-session pseudonyms before anything is stored.

A unit's id is permanent (it is on the unit's key and its label), so a stored unit id
would join every session that unit ever recorded, and with the seat it is bolted to,
the people who sat there. The session store keeps, per session, a random stand-in for
each unit instead: drawn without repeats from 1..65535 when the unit is first heard, held
in memory only (never written), gone with the session's recorder. Within a session the
stand-in is stable, so per-unit loss and health still read as one unit; across sessions
nothing joins. A host restarted mid-show resumes its session with fresh stand-ins: the
gap is in the events, and the units after it cannot be tied to those before.
"""

from __future__ import annotations

import secrets

ID_KEYS = ("unit", "unit_id")  # event fields holding one unit id
LIST_KEYS = ("rotating",)  # event fields holding a list of unit ids


class UnitPseudonyms:
    def __init__(self):
        self._of: dict[int, int] = {}
        self._taken: set[int] = set()

    def __call__(self, unit: int) -> int:
        p = self._of.get(unit)
        if p is None:
            while (p := 1 + secrets.randbelow(0xFFFF)) in self._taken:
                pass
            self._taken.add(p)
            self._of[unit] = p
        return p

    def scrub(self, doc):
        """An event's data with every unit id (ID_KEYS, LIST_KEYS, at any depth) replaced."""
        if isinstance(doc, dict):
            return {k: (self(v) if k in ID_KEYS and _is_id(v) else
                        [self(u) if _is_id(u) else u for u in v]
                        if k in LIST_KEYS and isinstance(v, list) else self.scrub(v))
                    for k, v in doc.items()}
        if isinstance(doc, (list, tuple)):
            return [self.scrub(v) for v in doc]
        return doc


def _is_id(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
