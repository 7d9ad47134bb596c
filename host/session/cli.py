"""`empathy session list | export | purge` — the recorded shows on this host."""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path

from empathy.host.session import retention, store

DEFAULT_DIR = os.environ.get("EMPATHY_SESSIONS", "sessions")


def export(path: Path, out: Path, fmt: str) -> list[Path]:
    """Write the session's samples and events as CSV or Parquet; returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    sid, written = store.session_id(path), []
    for table in ("samples", "events"):
        cols, rows = store.read(path, table)
        dest = out / f"{sid}.{table}.{fmt}"
        if fmt == "csv":
            with open(dest, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(cols)
                # str() of a float is its shortest exact form: CSV loses nothing
                w.writerows(rows)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)}),
                           dest)
        written.append(dest)
    return written


def _list(args) -> int:
    rows = []
    for p in store.sessions(args.dir):
        try:
            rows.append(store.info(p))
        except store.SessionError as e:
            rows.append({"session": store.session_id(p), "error": str(e)})
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print(f"no sessions in {args.dir}")
    for r in rows:
        if "error" in r:
            print(f"{r['session']}  UNREADABLE: {r['error']}")
            continue
        events = ", ".join(f"{n} {k}" for k, n in sorted(r["events"].items()))
        print(f"{r['session']}  {r.get('started_utc', '?')}  {r['seats']} seats  "
              f"{r['samples']} samples over {r['span_s']} s  {events}  "
              f"{r['bytes'] / 1e6:.1f} MB{'' if r.get('ended_utc') else '  (not closed)'}")
    return 0


def _export(args) -> int:
    from rich.progress import track

    try:
        paths = [store.find(args.dir, s) for s in args.session]
        files = []
        for p in track(paths, description="exporting", disable=args.json or len(paths) < 2):
            files += export(p, Path(args.out), args.format)
    except (store.SessionError, OSError) as e:
        print(f"empathy session: {e}", file=sys.stderr)
        return 1
    print(json.dumps([str(f) for f in files]) if args.json else "\n".join(map(str, files)))
    return 0


def _report(args) -> int:
    from empathy.host.session.report import write

    try:
        dest = write(store.find(args.dir, args.session), Path(args.out))
    except (store.SessionError, OSError) as e:
        print(f"empathy session: {e}", file=sys.stderr)
        return 1
    print(json.dumps(str(dest)) if args.json else dest)
    return 0


def _purge(args) -> int:
    if not (args.session or args.older_than is not None or args.all):
        print("empathy session purge: name sessions, or --older-than DAYS, or --all",
              file=sys.stderr)
        return 1
    try:
        chosen = [store.find(args.dir, s) for s in args.session]
    except store.SessionError as e:
        print(f"empathy session: {e}", file=sys.stderr)
        return 1
    if args.all:
        chosen = store.sessions(args.dir)
    elif args.older_than is not None:
        cutoff = time.time() - args.older_than * 86400
        chosen += [p for p in store.sessions(args.dir) if p.stat().st_mtime < cutoff]
    removed = []
    for p in dict.fromkeys(chosen):
        retention.remove(p)  # the store with its WAL files and its report
        removed.append(store.session_id(p))
    print(json.dumps(removed) if args.json else f"purged {len(removed)} session(s)")
    return 0


def register(p) -> None:
    sub = p.add_subparsers(dest="verb", required=True)
    common = dict(default=DEFAULT_DIR, help=f"session folder (default {DEFAULT_DIR}, "
                                            "or $EMPATHY_SESSIONS)")
    ls = sub.add_parser("list", help="recorded sessions with their size and span")
    ls.add_argument("--dir", **common)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)

    ex = sub.add_parser("export", help="write sessions' samples and events as CSV or Parquet")
    ex.add_argument("session", nargs="+", help="session id(s), as `session list` shows them")
    ex.add_argument("--format", choices=("csv", "parquet"), default="csv")
    ex.add_argument("--out", default=".", help="folder for the exported files")
    ex.add_argument("--dir", **common)
    ex.add_argument("--json", action="store_true")
    ex.set_defaults(func=_export)

    rp = sub.add_parser("report", help="one HTML page with plots to review a session")
    rp.add_argument("session", help="session id")
    rp.add_argument("--out", default=".", help="folder for SESSION.html")
    rp.add_argument("--dir", **common)
    rp.add_argument("--json", action="store_true")
    rp.set_defaults(func=_report)

    pu = sub.add_parser("purge", help="delete recorded sessions (biometric data) for good")
    pu.add_argument("session", nargs="*", help="session id(s) to delete")
    pu.add_argument("--older-than", type=float, metavar="DAYS")
    pu.add_argument("--all", action="store_true")
    pu.add_argument("--dir", **common)
    pu.add_argument("--json", action="store_true")
    pu.set_defaults(func=_purge)
