"""`empathy config check FILE...` — validate host and edge configs before a show.

The kind (host or edge) is read from the file: a host config names a `story`, an edge
config a `unit_id`/`uplink`/`seats`. Every key is checked against its schema (unknown keys,
wrong types, bad values: file:line and why), then the values that name other things: the
transport and sensor URLs, the output, and, unless --schema-only, the files the config
points at (story, keystore, token file). Relative paths are taken from the working
directory, as `empathy host run` does; deployment profiles use absolute ones.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from empathy.config import ConfigError, from_toml


def kind_of(path: Path) -> str:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    if "story" in doc or "show" in doc:
        return "host"
    if {"unit_id", "uplink", "seats"} & set(doc):
        return "edge"
    raise ConfigError(f"{path}: neither a host config (needs `story`) nor an edge config "
                      "(needs `unit_id` and `seats`)")


def _scheme(url: str, known, what: str, path: Path) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in known:
        raise ConfigError(f"{path}: {what} {url!r}: unknown scheme {scheme!r} "
                          f"(known: {', '.join(sorted(known))})")


def _exists(path: Path, key: str, value: str) -> None:
    if value and not Path(value).exists():
        raise ConfigError(f"{path}: {key} = {value!r}: no such file")


def check_host(path: Path, files: bool) -> dict:
    from empathy.host.cli import HostConfig
    from empathy.host.player.outputs import parse_output
    from empathy.transports import SCHEMES

    cfg = from_toml(HostConfig, path)
    _scheme(cfg.show.listen, SCHEMES, "show.listen", path)
    try:
        parse_output(cfg.show.output)
    except ValueError as e:
        raise ConfigError(f"{path}: show.output: {e}") from None
    if files:
        from empathy.host.story import StoryError, load

        _exists(path, "keystore", cfg.keystore)
        _exists(path, "dashboard.token_file", cfg.dashboard.token_file)
        try:
            load(Path(cfg.story), cfg.media_root or None)
        except StoryError as e:
            raise ConfigError(f"{path}: story: {e}") from None
        if cfg.mode == "kiosk":  # the attract loop's clip and look, where the show looks
            from empathy.host.cli import _media

            for key in ("attract", "attract_lut"):
                try:
                    _media(cfg, key)
                except ConfigError as e:
                    raise ConfigError(f"{path}: {e}") from None
    return {"kind": "host", "mode": cfg.mode, "story": cfg.story, "listen": cfg.show.listen,
            "output": cfg.show.output, "dashboard": cfg.dashboard.enabled and
            cfg.dashboard.listen, "osc": cfg.osc.targets, "lsl": cfg.lsl.enabled,
            "sessions": cfg.session.enabled and cfg.session.dir}


def check_edge(path: Path, files: bool) -> dict:
    from empathy.edge.runtime import EdgeConfig
    from empathy.sensors.base import SCHEMES as SOURCES
    from empathy.transports import SCHEMES

    cfg = from_toml(EdgeConfig, path)
    _scheme(cfg.uplink, SCHEMES, "uplink", path)
    for i, seat in enumerate(cfg.seats):
        _scheme(seat.source, SOURCES, f"seats[{i}].source", path)
    if files:
        _exists(path, "keystore", cfg.keystore)
    return {"kind": "edge", "unit_id": cfg.unit_id, "uplink": cfg.uplink,
            "seats": [s.seat_id for s in cfg.seats]}


def check(path: Path, files: bool = True) -> dict:
    """One config file -> a summary of what it sets up, or ConfigError saying why not."""
    kind = kind_of(path)
    return (check_host if kind == "host" else check_edge)(path, files)


def _check(args) -> int:
    results, failed = [], 0
    for f in args.files:
        try:
            results.append({"file": f, "ok": True, **check(Path(f), not args.schema_only)})
        except ConfigError as e:
            failed += 1
            results.append({"file": f, "ok": False, "error": str(e)})
    if args.json:
        print(json.dumps(results))
    else:
        for r in results:
            if r["ok"]:
                print(f"{r['file']}: ok ({r['kind']} config)")
            else:
                print(r["error"], file=sys.stderr)
    return 1 if failed else 0


def register(p) -> None:
    sub = p.add_subparsers(dest="verb", required=True)
    c = sub.add_parser("check", help="validate host/edge config files (exit 1 on any error)")
    c.add_argument("files", nargs="+", help="config TOML files")
    c.add_argument("--schema-only", action="store_true",
                   help="check keys and values only, not the files they name (for profiles "
                        "checked away from the machine they are for)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_check)
