"""`empathy calibrate <verb>`: rig validation and per-viewer calibration.

Every verb writes VERB.html (plots) and VERB.json (figures) into --out, prints a summary (or
the JSON with --json) and exits 0 on pass, 1 on fail with the reasons on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from empathy.config import ConfigError

from . import report

DEFAULT_STORE = Path.home() / ".local" / "share" / "empathy" / "calibration"


def _finish(args, result: report.Result) -> int:
    html_path, json_path = report.write(result, args.out)
    doc = result.summary()
    if args.json:
        print(json.dumps({**doc, "report": str(html_path), "json": str(json_path)}))
    else:
        print(f"{result.title}: {'PASS' if result.passed else 'FAIL'}")
        for k, v in doc["figures"].items():
            print(f"  {k:>24}: {v}")
        print(f"  {'report':>24}: {html_path}")
    for why in result.reasons:
        print(f"empathy calibrate {result.kind}: {why}", file=sys.stderr)
    return 0 if result.passed else 1


def _fail(verb: str, why) -> int:
    print(f"empathy calibrate {verb}: {why}", file=sys.stderr)
    return 1


def _hr(args) -> int:
    from .hr import hr_validate, load_profile
    from .recording import RecordingError, is_url, load_heart, record

    try:
        profile = load_profile(args.profile)
        specs = [args.reference, args.device]
        urls = [s for s in specs if is_url(s)]
        got = dict(zip(urls, record(urls, args.duration, quiet=args.json, faces=False))) if urls else {}
        ref, dev = (load_heart(s, got.get(s)) for s in specs)
        return _finish(args, hr_validate(ref, dev, profile))
    except (ConfigError, RecordingError, ValueError, OSError) as e:
        return _fail("hr", e)


def _common(p, verb: str) -> None:
    p.add_argument("--out", default=f"out/calibration", help="folder for VERB.html and VERB.json")
    p.add_argument("--json", action="store_true", help="print the figures as JSON, no progress")


def register(parser) -> None:
    sub = parser.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("hr", help="validate a heart-rate sensor against a reference "
                                  "(Bland-Altman, lag, beat agreement, dropouts)")
    p.add_argument("--device", required=True,
                   help="sensor under test: CSV file (ts_us + rr_ms|hr_bpm|ppg|ecg) or source URL")
    p.add_argument("--reference", required=True, help="reference: CSV file or source URL")
    p.add_argument("--profile", default="seat_ppg",
                   help="rig profile: a name in calibration/profiles or a TOML path")
    p.add_argument("--duration", type=float, default=120.0,
                   help="seconds to record when --device/--reference are source URLs")
    _common(p, "hr")
    p.set_defaults(func=_hr)
