"""`empathy keys new/list/revoke/provision/cue-key`: provision, list and revoke edge units'
keys, and make the host's screen-cue signing key.

Keys never appear on screen or in logs: units are listed by fingerprint. `new` on a unit
that already has a key rotates it (the host accepts the old key too until `revoke
--previous`); a running host re-reads the keystore, so none of this stops a show.
`new` on a fresh keystore also makes the cue signing key (Ed25519); each unit's keystore
gets its public half. `cue-key` makes a new one (rotation, or migrating a keystore from
before signed cues) and rewrites every unit's keystore into --edge-dir.
`new --broker-dir` also gives the units broker credentials and rewrites the broker's
password file and ACL (empathy/broker_auth.py); `provision` makes whole per-unit bundles
(host/provision.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from empathy import broker_auth
from empathy.cli import number_in
from empathy.config import ConfigError
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
    ks = Keystore.load(path, "host") if path.exists() else Keystore.new([])
    units = _units(args.units)
    for u in units:
        ks.add(u)
    if args.broker_dir:  # first: a broker folder that refuses leaves no key made
        _broker(Path(args.broker_dir), args.screen, units, args.host_workers)
    ks.save(path)
    if args.edge_dir:
        _unit_keystores(ks, units, Path(args.edge_dir))
    _print([r for r in _rows(ks) if r["unit"] in set(units)], args.json,
           {"keystore": str(path), "edge_dir": args.edge_dir, "broker_dir": args.broker_dir})
    return 0


def _unit_keystores(ks: Keystore, units, folder: Path) -> None:
    """Each unit's own keystore (its key, the public cue key) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for u in units:
        ks.for_unit(u).save(folder / f"unit{u}.keys.toml")


def _broker(folder: Path, screen: str | None, units: list[int], host_workers: int) -> None:
    """Broker credentials for these units (and each host worker's, once) into `folder`."""
    for user, password in broker_auth.add_users(folder, screen, units, host_workers).items():
        broker_auth.write_credentials(folder / f"{user}.mqtt", password)


def _provision(args) -> int:
    from empathy.host.provision import provision

    ca = Path(args.ca) if args.ca else None
    done = provision(_units(args.units), Path(args.template), Path(args.out),
                     Path(args.keystore), args.first_seat, args.unit_path, ca, args.numbering,
                     args.host_workers)
    if args.json:
        print(json.dumps(done))
        return 0
    for u in done["units"]:
        print(f"unit {u['unit']:>5}  seats {u['seats'][0]}-{u['seats'][-1]}  {u['bundle']}")
    print(f"host side in {done['host']}: seatmap.toml"
          + (" passwd acl (broker: /etc/mosquitto/empathy/)" if done["broker"] else "")
          + f"; unit keys added to {done['keystore']}")
    return 0


def _list(args) -> int:
    path = Path(args.keystore)
    ks = Keystore.load(path, "host")  # refuses one others can read, or without a cue key
    _print(_rows(ks), args.json, {"keystore": str(path),
                                  "cue_key": fingerprint(ks.public_cue_key())})
    return 0


def _cue_key(args) -> int:
    path = Path(args.keystore)
    ks = Keystore.read(path)  # also one from before signed cues: this migrates it
    if ks.cue_public and not ks.cue_signing:
        raise KeyError_(f"keystore {path} is a unit's (it holds cue_public_key): give the "
                        "host's keystore")
    ks.new_cue_key()
    ks.save(path)
    d = Path(args.edge_dir)
    _unit_keystores(ks, sorted(ks.units), d)
    done = {"keystore": str(path), "cue_key": fingerprint(ks.public_cue_key()),
            "edge_dir": str(d), "units": sorted(ks.units)}
    if args.json:
        print(json.dumps(done))
        return 0
    print(f"new cue key {done['cue_key']} in {path}; every unit's keystore written to {d} "
          f"({len(ks.units)} units): install each on its unit, which takes cues signed "
          "with the old key no longer")
    return 0


def _revoke(args) -> int:
    path = Path(args.keystore)
    ks = Keystore.load(path, "host")
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
    """The keys' own errors say what to do, so they are printed as they are; anything else
    (a path, a closed pipe) goes to the CLI's boundary (empathy/cli.py)."""
    def run(args) -> int:
        try:
            return fn(args)
        except (KeyError_, ConfigError, broker_auth.BrokerAuthError) as e:
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
    n.add_argument("--broker-dir", help="also give the units MQTT credentials: unitN.mqtt "
                                        "here, and this folder's passwd and acl for mosquitto")
    n.add_argument("--screen", help="the screen's MQTT topic name (ACL lines; default: the "
                                    "one the folder's acl serves, else main)")
    l_ = sub.add_parser("list", help="units and key fingerprints (never the keys)")
    r = sub.add_parser("revoke", help="remove units' keys: their packets are refused from now on")
    r.add_argument("units", nargs="+", help="unit ids: 3, 1-8, 2,5")
    r.add_argument("--previous", action="store_true",
                   help="drop only the old key of a rotation (the unit has its new one)")
    pv = sub.add_parser("provision", help="one bundle per unit (keystore, edge config, broker "
                                          "credentials) and the host's side, from a template")
    pv.add_argument("units", nargs="+", help="unit ids: 301-375, 2,5")
    pv.add_argument("--template", required=True, help="an edge config: its seats and uplink")
    pv.add_argument("--out", required=True, help="folder for unitN/ bundles and host/")
    pv.add_argument("--first-seat", type=number_in(int, 0, 0xFFFF),
                    help="first seat id (default: the template's)")
    pv.add_argument("--numbering", choices=("consecutive", "row"), default="consecutive",
                    help="consecutive: seats from --first-seat in the order units are given; "
                         "row: unit = row x 100 + box place, seat = row x 100 + seat number "
                         "(the cinema guide's)")
    pv.add_argument("--unit-path", default="/etc/empathy",
                    help="where the bundle's files will live on the unit ({unit} allowed)")
    pv.add_argument("--ca", help="the broker's CA certificate, copied into every bundle")
    workers = dict(type=number_in(int, 1, 100), default=1,
                   help="host workers sharing the screen (group=): a broker user each, "
                        "empathy-host, empathy-host2, ... (the broker holds one connection "
                        "per user)")
    n.add_argument("--host-workers", **workers)
    pv.add_argument("--host-workers", **workers)
    c = sub.add_parser("cue-key", help="a new screen-cue signing key (rotation, or a keystore "
                                       "from before signed cues) and every unit's keystore")
    c.add_argument("--edge-dir", required=True,
                   help="write each unit's new keystore here (unitN.keys.toml)")
    for parser, fn in ((n, _new), (l_, _list), (r, _revoke), (pv, _provision), (c, _cue_key)):
        for flag, kw in common.items():
            parser.add_argument(flag, **kw)
        parser.set_defaults(func=_guard(fn))
