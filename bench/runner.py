"""`empathy bench [NAME...] [--json]`: run bench/bench_NAME.py scripts, one line per figure.

Each script defines `run() -> list[dict]` with entries {name, value, unit, peer, peer_value,
ratio}; peer fields are None where no peer applies. Ratios are ours / peer's in the unit's
direction (a rate: >1 means we are faster; a size: <1 means we are smaller).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys

import empathy.bench as pkg


def available() -> list[str]:
    return sorted(m.name[6:] for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("bench_"))


def _cmd(args) -> int:
    names = args.names or available()
    unknown = set(names) - set(available())
    if unknown:
        print(f"empathy bench: unknown {', '.join(sorted(unknown))} "
              f"(known: {', '.join(available())})", file=sys.stderr)
        return 1
    results, failed = [], []
    for name in names:
        try:
            entries = importlib.import_module(f"empathy.bench.bench_{name}").run()
        except Exception as e:  # one broken bench must not hide the others' figures
            failed.append(f"{name}: {type(e).__name__}: {e}")
            continue
        for e in entries:
            results.append(e)
            if not args.json:
                peer = (f"  vs {e['peer']} {e['peer_value']:.4g}  ratio {e['ratio']:.3g}"
                        if e.get("peer") else "")
                print(f"{e['name']:<44} {e['value']:>12.4g} {e['unit']:<10}{peer}", flush=True)
    if args.json:
        print(json.dumps(results, indent=1))
    for f in failed:
        print(f"bench failed: {f}", file=sys.stderr)
    return 1 if failed else 0


def register(p) -> None:
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    p.add_argument("--json", action="store_true", help="print a JSON list of figures")
    p.set_defaults(func=_cmd)
