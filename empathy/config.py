"""TOML config files checked against dataclass schemas.

Each part of the product declares its settings as a (nested) dataclass with defaults;
`from_toml` / `from_dict` fill it from a file and refuse unknown keys, wrong types and
bad values. Every problem in the file is collected, not just the first: one `ConfigError`
carries them all (`.problems`), one line each, ``file:line: key.path: why``.

A field declares its allowed values with `setting` (metadata the loader checks), so a
range lives beside the default it bounds::

    port: int = setting(0, lo=0, hi=65535)
    uplink: str = setting("udp://127.0.0.1:47100", check=url_port)

Checks that span fields stay in the dataclass's `validate()` (ValueError); the loader
finds the line of the field its message names.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar
from urllib.parse import urlsplit

from empathy import toml_text
from empathy.paths import read_file
from empathy.whole import whole

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or value is wrong. The message says where and why, one line each."""

    def __init__(self, message: str, problems: Optional[list[str]] = None):
        self.problems = problems or [message]
        super().__init__(message)


def setting(default: Any = dataclasses.MISSING, *, lo: Optional[float] = None,
            hi: Optional[float] = None, zero_ok: bool = False,
            check: Optional[Callable[[Any], None]] = None, **kw) -> Any:
    """A dataclass field with its allowed range (inclusive; `zero_ok`: 0 also allowed, as
    "off") and/or a `check(value)` that raises ValueError. Lists are checked per item."""
    meta = {"range": (lo, hi, zero_ok)} if lo is not None or hi is not None else {}
    if check:
        meta["check"] = check
    if isinstance(default, (list, dict)):
        kw["default_factory"] = (lambda d=default: type(d)(d))
    elif default is not dataclasses.MISSING:
        kw["default"] = default
    return dataclasses.field(metadata=meta, **kw)


def url_port(url: str) -> None:
    """A URL's port, if it names one, is a real port (1..65535; 0 = any free one)."""
    try:
        urlsplit(url).port
    except ValueError:
        raise ValueError(f"{url!r}: port out of range 0..65535") from None


def host_port(value: str, lowest: int = 1) -> None:
    """"host:port" to send to, with a port in 1..65535."""
    host, _, port = value.rpartition(":")
    number = whole(port)
    if not host or number is None or not lowest <= number <= 65535:
        raise ValueError(f"{value!r} must be host:port with a port in {lowest}..65535")


def ip_address(value: str) -> None:
    """A numeric IPv4 or IPv6 address to listen on (0.0.0.0: every interface)."""
    import ipaddress
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)") \
            from None


def proxy_network(value: str) -> None:
    """A `trusted_proxies` entry: an address or a network, never every address."""
    import ipaddress
    try:
        net = ipaddress.ip_network(value)
    except ValueError as e:
        why = "has host bits set" if "host bits" in str(e) else "is not an IP address or network"
        raise ValueError(f"{value!r} {why} (e.g. 127.0.0.1 or 10.20.0.0/24)") from None
    if net.prefixlen == 0:
        raise ValueError(f"{value!r} trusts every address: anyone could name any viewer")


def listen_addr(value: str) -> None:
    """"host:port" to listen on; port 0 = any free one."""
    host_port(value, lowest=0)


# -- where each key is in the file ----------------------------------------------------------
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\")(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"))*)"
                  r"\s*=")


def _dotted(raw: str) -> list[str]:
    return [p.strip().strip('"') for p in raw.split(".")]


def line_map(text: Optional[str]) -> dict[str, int]:
    """key path ("show.fps", "seats[2].source") -> line number, read from the TOML text.

    Array-of-tables entries are numbered as the loader numbers them; lines inside
    multi-line strings are skipped. Good enough to point at a key, not a TOML parser."""
    out: dict[str, int] = {}
    arrays: dict[str, int] = {}  # indexed path of an array of tables -> its last index
    prefix, in_string = "", None
    for n, line in enumerate((text or "").splitlines(), 1):
        if in_string:
            in_string = None if line.count(in_string) % 2 else in_string
            continue
        key = _KEY.match(line)
        header = None if key else _HEADER.match(line)
        if header:
            parts = _dotted(header.group(2))
            prefix = ""
            for i, p in enumerate(parts):
                prefix = f"{prefix}.{p}" if prefix else p
                if i == len(parts) - 1 and header.group(1) == "[[":
                    arrays[prefix] = arrays.get(prefix, -1) + 1
                if prefix in arrays:
                    prefix = f"{prefix}[{arrays[prefix]}]"
                out.setdefault(prefix, n)  # [a.b] also places a
        elif key:
            path = ".".join(_dotted(key.group(1)))
            out.setdefault(f"{prefix}.{path}" if prefix else path, n)
            in_string = next((q for q in ('"""', "'''") if line.count(q) % 2), None)
    return out


class _Problems:
    """Every problem found in one file, each placed on its line."""

    def __init__(self, source: str, text: Optional[str]):
        self.source, self.lines, self.items = source, line_map(text), []

    def line(self, path: str) -> Optional[int]:
        while path in self.lines or path:
            if path in self.lines:
                return self.lines[path]
            parent = re.sub(r"(\[\d+\]|\.?[^.\[\]]+)$", "", path)  # seats[0].x -> seats[0]
            if parent == path:
                break
            path = parent
        return None

    def add(self, path: str, why: str) -> None:
        line = self.line(path) if path else None
        where = f"{self.source}:{line}" if line else self.source
        self.items.append((line or 0, f"{where}: {path}: {why}" if path else f"{where}: {why}"))


def _convert(tp: Any, value: Any, path: str, errs: _Problems) -> Any:
    """The value as `tp`, or _BAD (after noting why)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _convert(inner[0], value, path, errs)
        for a in inner:  # the first alternative the value fits
            trial = _Problems(errs.source, None)
            out = _convert(a, value, path, trial)
            if out is not _BAD and not trial.items:
                return out
        errs.add(path, f"expected {' or '.join(_name(a) for a in inner)}, got "
                       f"{type(value).__name__} {value!r}")
        return _BAD
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            errs.add(path, "expected a table")
            return _BAD
        return _build(tp, value, path, errs)
    if origin in (list, tuple):
        if not isinstance(value, list):
            errs.add(path, "expected a list")
            return _BAD
        item = args[0] if args else Any
        out = [_convert(item, v, f"{path}[{i}]", errs) for i, v in enumerate(value)]
        if any(v is _BAD for v in out):
            return _BAD
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            errs.add(path, "expected a table")
            return _BAD
        out = {k: _convert(args[1], v, f"{path}.{k}", errs) for k, v in value.items()}
        return _BAD if any(v is _BAD for v in out.values()) else out
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and (type(value) is not tp):
        errs.add(path, f"expected {tp.__name__}, got {type(value).__name__} {value!r}")
        return _BAD
    if tp is float and not math.isfinite(value):
        errs.add(path, f"{value} is not a finite number")
        return _BAD
    if tp is str and "\0" in value:  # (TOML's \u0000): no path, URL or name holds one; a
        # seq_file with one killed the unit's sequence writer and hung the unit for good
        errs.add(path, "holds a NUL character")
        return _BAD
    return value


def _name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        return f"a list of {_name(typing.get_args(tp)[0])}"
    return getattr(tp, "__name__", str(tp))


_BAD = object()  # a value that could not be converted (its problem is already noted)


def _in_range(f: dataclasses.Field, value: Any, path: str, errs: _Problems) -> None:
    items = value if isinstance(value, (list, tuple)) else [value]
    for i, v in enumerate(items):
        where = f"{path}[{i}]" if items is value else path
        lo, hi, zero_ok = f.metadata.get("range", (None, None, False))
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not (zero_ok and v == 0):
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                span = f"{lo:g}..{hi:g}" if lo is not None and hi is not None else \
                    (f">= {lo:g}" if lo is not None else f"<= {hi:g}")
                errs.add(where, f"{v:g} out of range {span}" + (" (or 0 = off)" if zero_ok
                                                                 else ""))
        check = f.metadata.get("check")
        if check:
            try:
                check(v)
            except ValueError as e:
                errs.add(where, str(e))


def _build(cls: type[T], data: dict, prefix: str, errs: _Problems) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    before = len(errs.items)
    for name in sorted(set(data) - set(fields)):
        errs.add(f"{prefix}.{name}" if prefix else name,
                 f"unknown key (known: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, value in data.items():
        if name not in fields:
            continue
        key = f"{prefix}.{name}" if prefix else name
        v = _convert(hints[name], value, key, errs)
        if v is not _BAD:
            _in_range(fields[name], v, key, errs)
            kwargs[name] = v
    for n, f in fields.items():
        if n not in data and f.default is dataclasses.MISSING \
                and f.default_factory is dataclasses.MISSING:
            errs.add(prefix, f"missing required key {n!r}")
    if len(errs.items) > before:
        return _BAD
    obj = cls(**kwargs)
    check = getattr(obj, "validate", None)
    if check:
        try:
            check()
        except ValueError as e:
            # Point at the field the message is about (validate() names it first).
            at = {m.start(): n for n in fields
                  for m in [re.search(rf"\b{re.escape(n)}\b", str(e))] if m}
            name = at[min(at)] if at else ""
            errs.add(f"{prefix}.{name}".strip(".") if name else prefix, str(e))
            return _BAD
    return obj


def from_dict(cls: type[T], data: dict, source: str = "<config>", text: Optional[str] = None) -> T:
    errs = _Problems(source, text)
    obj = _build(cls, data, "", errs)
    if errs.items:
        lines = [m for _, m in sorted(errs.items, key=lambda x: x[0])]
        raise ConfigError("\n".join(lines), lines)
    return obj


def from_toml(cls: type[T], path: str | Path) -> T:
    path = Path(path)
    try:
        text = read_file(path).decode("utf-8-sig")  # -sig: drops Notepad's BOM
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    return loads(cls, text, str(path))


def loads(cls: type[T], text: str, source: str = "<text>") -> T:
    """Config from TOML text in memory (what from_toml does after reading the file)."""
    try:
        data = toml_text.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+)", str(e))
        raise ConfigError(f"{source}:{m.group(1)}: not valid TOML: {e}" if m else
                          f"{source}: not valid TOML: {e}") from None
    return from_dict(cls, data, source, text)


def to_dict(obj: Any) -> dict:
    return dataclasses.asdict(obj)
