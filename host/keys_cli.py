"""`empathy keys new/list/revoke`: provision, list and revoke edge units' keys.

Keys never appear on screen or in logs: units are listed by fingerprint. `new` on a unit
that already has a key rotates it (the host accepts the old key too until `revoke
--previous`); a running host re-reads the keystore, so none of this stops a show.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

from empathy.keys import Keystore, KeyError_, fingerprint


def _units(specs: list[str]) -> list[int]:
    """"3", "1-8", "2,5" -> unit ids."""
    out: list[int] = []
    for spec in specs:
        for part in spec.split(","):
            lo, _, hi = part.partition("-")
            try:
                a, b = int(lo), int(hi or lo)
            except ValueError:
                raise KeyError_(f"unit {part!r}: expected a number or a range like 1-8") from None
            if not 0 <= a <= b <= 0xFFFF:
                raise KeyError_(f"unit {part!r}: ids run 0..65535, low to high")
            out += range(a, b + 1)
    return out


def _rows(ks: Keystore) -> list[dict]:
    return [{"unit": u, "fingerprint": fingerprint(k), "rotating": u in ks.previous,
             **({"previous": fingerprint(ks.previous[u])} if u in ks.previous else {})}
            for u, k in sorted(ks.units.items())]


def _print(rows: list[dict], as_json: bool, extra: dict | None = None) -> None:
    if as_json:
        print(json.dumps({**(extra or {}), "units": rows}))
        return
    for r in rows:
        rot = f"  rotating (old key {r['previous']} still accepted)" if r["rotating"] else ""
        print(f"unit {r['unit']:>5}  key {r['fingerprint']}{rot}")


def _new(args) -> int:
    path = Path(args.keystore)
    ks = Keystore.load(path) if path.exists() else Keystore.new([])
    units = _units(args.units)
    for u in units:
        ks.add(u)
    ks.save(path)
    if args.edge_dir:
        d = Path(args.edge_dir)
        d.mkdir(parents=True, exist_ok=True)
        for u in units:
            ks.for_unit(u).save(d / f"unit{u}.keys.toml")
    _print([r for r in _rows(ks) if r["unit"] in set(units)], args.json,
           {"keystore": str(path), "edge_dir": args.edge_dir})
    return 0


def _list(args) -> int:
    path = Path(args.keystore)
    ks = Keystore.load(path)
    if not ks.units and not ks.show:
        raise KeyError_(f"keystore {path} holds no keys")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        print(f"empathy keys: warning: {path} is readable by others (mode {mode:o}): "
              f"chmod 600 {path}", file=sys.stderr)
    _print(_rows(ks), args.json, {"keystore": str(path), "show_key": fingerprint(ks.show)})
    return 0


def _revoke(args) -> int:
    path = Path(args.keystore)
    ks = Keystore.load(path)
    units = _units(args.units)
    for u in units:
        ks.revoke(u, previous_only=args.previous)
    ks.save(path)
    if args.json:
        print(json.dumps({"keystore": str(path), "revoked": units, "previous_only": args.previous}))
    else:
        what = "old keys of" if args.previous else "keys of"
        print(f"revoked {what} unit(s) {', '.join(map(str, units))}")
    return 0


def _guard(fn):
    def run(args) -> int:
        try:
            return fn(args)
        except (KeyError_, OSError) as e:
            print(f"empathy keys {args.verb}: {e}", file=sys.stderr)
            return 1
    return run


def register(p) -> None:
    sub = p.add_subparsers(dest="verb", required=True)
    common = {"--keystore": dict(default="host.keys.toml", help="the host's keystore (0600)"),
              "--json": dict(action="store_true", help="machine-readable output")}
    n = sub.add_parser("new", help="give units keys (a unit with a key gets a new one: rotation)")
    n.add_argument("units", nargs="+", help="unit ids: 3, 1-8, 2,5")
    n.add_argument("--edge-dir", help="also write each unit's own keystore here (unitN.keys.toml)")
    l_ = sub.add_parser("list", help="units and key fingerprints (never the keys)")
    r = sub.add_parser("revoke", help="remove units' keys: their packets are refused from now on")
    r.add_argument("units", nargs="+", help="unit ids: 3, 1-8, 2,5")
    r.add_argument("--previous", action="store_true",
                   help="drop only the old key of a rotation (the unit has its new one)")
    for parser, fn in ((n, _new), (l_, _list), (r, _revoke)):
        for flag, kw in common.items():
            parser.add_argument(flag, **kw)
        parser.set_defaults(func=_guard(fn))
