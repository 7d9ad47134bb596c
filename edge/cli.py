"""`empathy edge run --config edge.toml`"""

from __future__ import annotations

import json
import sys

from empathy.cli import number_in
from empathy.config import from_toml
from empathy.edge.lifeline import Stop, add_option
from empathy.errors import UserError


def _run(args) -> int:
    stop = Stop()  # first: a stop asked for during the imports and the start is clean too
    stop.catch()
    try:
        from empathy.edge.runtime import EdgeConfig, run_unit
        from empathy.host.config_cli import expect_kind

        expect_kind(args.config, "edge")
        cfg = from_toml(EdgeConfig, args.config)
        stats = run_unit(cfg, args.duration, args.stats, lifeline=args.lifeline, stop=stop)
    finally:
        stop.release()
    if args.json:
        print(json.dumps(stats))
    if not stats["started"]:
        return 0
    link = stats["uplink"]
    if link["failed"] and link["reached"] is False:
        raise UserError(f"uplink {link['url']}: none of {link['failed']} packets could be "
                        f"sent ({link['problem']})",
                        f"is the host or broker running? `empathy doctor --config {args.config}`")
    if link["failed"]:
        print(f"empathy edge run: uplink {link['url']}: {link['failed']} of "
              f"{link['failed'] + link['sent']} packets not sent ({link['problem']})",
              file=sys.stderr)
    return 0


def register(p) -> None:
    sub = p.add_subparsers(dest="verb", required=True)
    r = sub.add_parser("run", help="run this edge unit until stopped")
    r.add_argument("--config", required=True, help="edge config TOML")
    r.add_argument("--duration", type=number_in(float, 0, 1e9), default=0.0,
                   help="seconds (0 = until SIGTERM)")
    r.add_argument("--stats", help="write final counters as JSON here")
    r.add_argument("--json", action="store_true", help="print final counters as JSON")
    add_option(r)
    r.set_defaults(func=_run)
