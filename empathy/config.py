"""TOML config files checked against dataclass schemas.

Each part of the product declares its settings as a (nested) dataclass with defaults;
`from_toml` / `from_dict` fill it from a file and refuse unknown keys, wrong types and
bad values with one `ConfigError` naming the file, the key path and the line.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from pathlib import Path
from typing import Any, Optional, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or value is wrong. The message says where and why."""


def _line_of(text: Optional[str], key: str) -> Optional[int]:
    if not text:
        return None
    pat = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=", re.M)
    m = pat.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _where(source: str, text: Optional[str], path: str) -> str:
    line = _line_of(text, path.rsplit(".", 1)[-1].split("[")[0])
    return f"{source}:{line}: {path}" if line else f"{source}: {path}"


def _convert(tp: Any, value: Any, path: str, source: str, text: Optional[str]) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, path, source, text)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{_where(source, text, path)}: expected a table")
        return _build(tp, value, path, source, text)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{_where(source, text, path)}: expected a list")
        item = args[0] if args else Any
        out = [_convert(item, v, f"{path}[{i}]", source, text) for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{_where(source, text, path)}: expected a table")
        return {k: _convert(args[1], v, f"{path}.{k}", source, text) for k, v in value.items()}
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and (type(value) is not tp):
        raise ConfigError(f"{_where(source, text, path)}: expected {tp.__name__}, "
                          f"got {type(value).__name__} {value!r}")
    return value


def _build(cls: type[T], data: dict, prefix: str, source: str, text: Optional[str]) -> T:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ConfigError(f"{_where(source, text, key)}: unknown key "
                          f"(known: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        kwargs[name] = _convert(hints[name], value, key, source, text)
    missing = [n for n, f in fields.items() if n not in kwargs and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{_where(source, text, prefix or missing[0])}: missing required key "
                          f"{missing[0]!r}")
    obj = cls(**kwargs)
    check = getattr(obj, "validate", None)
    if check:
        try:
            check()
        except ValueError as e:
            raise ConfigError(f"{source}: {prefix or '(top)'}: {e}") from None
    return obj


def from_dict(cls: type[T], data: dict, source: str = "<config>", text: Optional[str] = None) -> T:
    return _build(cls, data, "", source, text)


def from_toml(cls: type[T], path: str | Path) -> T:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    return loads(cls, text, str(path))


def loads(cls: type[T], text: str, source: str = "<text>") -> T:
    """Config from TOML text in memory (what from_toml does after reading the file)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    return from_dict(cls, data, source, text)


def to_dict(obj: Any) -> dict:
    return dataclasses.asdict(obj)
