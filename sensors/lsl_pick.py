"""Which LSL stream an `lsl://` seat takes: the query liblsl resolves, and what is said when
more than one stream answers it or the one taken comes back changed.

LSL streams are found by multicast on the LAN, where a lab's other devices and guests'
laptops publish too: a seat takes a stream only when exactly one answers, then keeps to that
one (its name, type, source_id and host) for as long as it runs; one that comes to match
the URL later is said (`beside`), never read."""

from __future__ import annotations

import pylsl

KEYS = {"name": "name", "type": "type", "source_id": "source_id", "host": "hostname"}
MAX_CHANNELS = 1024  # a 256-electrode cap and its aux fit; 10,000 took 3.7 GB in pylsl's lists
RATE_HZ = (1.0, 20_000.0)  # EDA at 4 Hz (E4) .. an amplifier at 16 kHz; 0 = irregular
BUF_VALUES = 1 << 22  # liblsl's buffer per inlet (values): 30 s of an ECG, ~1 s of a big one
FORMATS = {pylsl.cf_float32: "float32", pylsl.cf_double64: "double64", pylsl.cf_int8: "int8",
           pylsl.cf_int16: "int16", pylsl.cf_int32: "int32", pylsl.cf_int64: "int64",
           pylsl.cf_string: "string", pylsl.cf_undefined: "undefined"}


def literal(v: str) -> str:
    """v as an XPath 1.0 string literal, which has no escapes: a device called `Bob's ECG`
    is quoted with the other quote, one with both quotes is spelled with concat()."""
    if "'" not in v:
        return f"'{v}'"
    if '"' not in v:
        return f'"{v}"'
    return "concat(" + ", \"'\", ".join(f"'{p}'" for p in v.split("'")) + ")"


def predicate(match: dict) -> str:
    return " and ".join(f"{KEYS[k]}={literal(v)}" for k, v in match.items())


def describe(info: pylsl.StreamInfo) -> str:
    return (f"{info.name()!r} type {info.type()!r} source_id {info.source_id() or '(none)'!r} "
            f"host {info.hostname()!r}")


def ambiguous(found: list, pred: str) -> str:
    """One line: the candidates, and how to pick one."""
    ids = {(i.source_id(), i.hostname()) for i in found}
    how = ("add source_id= or host= to the URL" if len(ids) == len(found) else
           "they share a source_id and host: give each device its own source_id")
    return (f"{len(found)} LSL streams match {pred}: "
            + "; ".join(describe(i) for i in found) + f": none taken, {how}")


def beside(others: list, taken: pylsl.StreamInfo, pred: str) -> str:
    """One line: streams that came to match the seat's URL after it took one, and that the
    one taken is still read."""
    return (f"{len(others)} more LSL stream{'s' if len(others) > 1 else ''} now match {pred}: "
            + "; ".join(describe(i) for i in others) + f"; still reading {describe(taken)}: "
            "give each device its own name or source_id, or add source_id= or host= to "
            "the URL")


def pin(info: pylsl.StreamInfo) -> dict:
    """The stream taken, as a match: after a loss only that device (restarted: a new uid,
    the same source_id and host) is taken again, not another that shares its name."""
    return {"name": info.name(), "type": info.type(), "source_id": info.source_id(),
            "host": info.hostname()}


def unfit(info: pylsl.StreamInfo, kind: str) -> str | None:
    """Why a stream's shape cannot be read (a reason, one line), checked before liblsl sizes
    its buffer from it and pylsl pulls it."""
    n, fs = info.channel_count(), info.nominal_srate()
    if not 1 <= n <= MAX_CHANNELS:
        return f"stream has {n} channels (at most {MAX_CHANNELS} are read)"
    if info.channel_format() in (pylsl.cf_string, pylsl.cf_undefined):
        return "stream carries strings, not numbers"
    if fs != 0 and not RATE_HZ[0] <= fs <= RATE_HZ[1]:
        return f"stream's nominal rate {fs:g} Hz is outside {RATE_HZ[0]:g}..{RATE_HZ[1]:g} Hz"
    if kind != "pupil" and fs == 0:
        return f"{kind} needs a regular stream (this one has no nominal rate)"
    return None


def buflen_s(info: pylsl.StreamInfo) -> int:
    """liblsl's max_buflen (seconds; x100 samples for an irregular stream), its values bounded."""
    per_s = (info.nominal_srate() or 100.0) * info.channel_count()
    return int(max(1, min(30, BUF_VALUES // per_s)))


def shape(info: pylsl.StreamInfo, label: str) -> tuple:
    return info.channel_count(), FORMATS.get(info.channel_format(), "?"), label
