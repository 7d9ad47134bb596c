"""`empathy edge run --config edge.toml`"""

from __future__ import annotations

import json
import sys

from empathy.config import ConfigError, from_toml


def _run(args) -> int:
    from empathy.edge.runtime import EdgeConfig, run_unit

    try:
        cfg = from_toml(EdgeConfig, args.config)
        stats = run_unit(cfg, args.duration, args.stats)
    except (ConfigError, ValueError, OSError) as e:
        print(f"empathy edge: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(stats))
    return 0


def register(p) -> None:
    sub = p.add_subparsers(dest="verb", required=True)
    r = sub.add_parser("run", help="run this edge unit until stopped")
    r.add_argument("--config", required=True, help="edge config TOML")
    r.add_argument("--duration", type=float, default=0.0, help="seconds (0 = until SIGTERM)")
    r.add_argument("--stats", help="write final counters as JSON here")
    r.add_argument("--json", action="store_true", help="print final counters as JSON")
    r.set_defaults(func=_run)
