"""`empathy host units --config host.toml [--json]`: which release each unit runs, against
the host's, for a cinema updating its units over a night (docs/guide-cinema.md, "Upgrading
a cinema"). It asks the running host's dashboard API (the operator token, as the page
does) for the units heard since the host started, and reads the host keystore for those
that should be there: a unit that has not been heard is listed too (off, or unplugged).
Exit 0 when every unit of the keystore runs the host's release, 1 otherwise.
"""

from __future__ import annotations

import json
import os

from empathy import wire
from empathy.errors import UserError
from empathy.host.unit_release import text

RUN = "is `empathy host run --config {}` running, with [dashboard] enabled?"


def _state(cfg, config: str) -> dict:
    import urllib.error
    import urllib.request

    if not cfg.dashboard.enabled:
        raise UserError(f"{config}: the dashboard is off, and the units' releases are read "
                        "from it", "set [dashboard] enabled = true and restart the host")
    host, _, port = cfg.dashboard.listen.rpartition(":")
    if port == "0":
        raise UserError(f"{config}: the dashboard listens on a port chosen at each start "
                        "(listen ...:0)", "give it a fixed port, e.g. 127.0.0.1:8080")
    token = cfg.dashboard.token() or os.environ.get("EMPATHY_OPERATOR_TOKEN")
    if not token:
        raise UserError("no operator token to ask the host with",
                        "set [dashboard] token_file, or $EMPATHY_OPERATOR_TOKEN")
    host = "127.0.0.1" if host in ("", "0.0.0.0") else host.strip("[]")
    url = f"http://{host}:{port}/api/v1/state"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            state = json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise UserError(f"{url} answered {e.code} {e.reason}",
                        "the operator token is the host's?" if e.code == 401 else "") from None
    except (OSError, ValueError) as e:  # refused, timed out, not our API
        raise UserError(f"nothing answers at {url} ({getattr(e, 'reason', e)})",
                        RUN.format(config)) from None
    if not isinstance(state, dict) or not isinstance(state.get("units"), list):
        raise UserError(f"{url} is not an Empathy host's API", RUN.format(config))
    return state


def releases(state: dict, expected: list[int]) -> dict:
    """Each unit (those heard, and those of the keystore) with its release and verdict."""
    heard = {u.get("unit"): u for u in state["units"] if isinstance(u, dict)}
    rows = []
    for unit in sorted(set(expected) | {u for u in heard if isinstance(u, int)}):
        u = heard.get(unit)
        vs = "not heard" if u is None else str(u.get("release") or "no heartbeat yet")
        rows.append({"unit": unit, "release": u.get("firmware") if u else None, "vs_host": vs})
    return {"host": text(wire.RELEASE), "units": rows,
            "updated": all(r["vs_host"] == "same" for r in rows)}


def _units(args) -> int:
    from empathy.config import from_toml
    from empathy.host.cli import HostConfig  # (here: host/cli.py imports this module)
    from empathy.host.config_cli import expect_kind
    from empathy.host.unit_release import WHAT
    from empathy.keys import Keystore

    expect_kind(args.config, "host")
    cfg = from_toml(HostConfig, args.config)
    out = releases(_state(cfg, args.config), list(Keystore.load(cfg.keystore, "host").units))
    if args.json:
        print(json.dumps(out))
        return 0 if out["updated"] else 1
    for r in out["units"]:
        if r["vs_host"] != "same":
            print(f"unit {r['unit']}: {r['release'] or '-'}, "
                  f"{WHAT.get(r['vs_host'], r['vs_host'])}")
    same = sum(r["vs_host"] == "same" for r in out["units"])
    print(f"{same} of {len(out['units'])} units run the host's release {out['host']}")
    return 0 if out["updated"] else 1


def register(sub) -> None:
    u = sub.add_parser("units", help="which release each unit runs, against the host's "
                                     "(exit 1 while any is older, newer or not heard)")
    u.add_argument("--config", required=True, help="host config TOML (of the running host)")
    u.add_argument("--json", action="store_true", help="one JSON object")
    u.set_defaults(func=_units)
