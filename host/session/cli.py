"""`empathy session list | export | report | purge` — the recorded shows on this host."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from empathy.cli import number_in
from empathy.host.session import store

DEFAULT_DIR = os.environ.get("EMPATHY_SESSIONS", "sessions")


def _not_a_folder(args) -> bool:
    """A --dir that names a file: said, rather than listing or purging nothing."""
    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        print(f"empathy session {args.verb}: --dir {folder} is not a folder: give the folder "
              "that holds the sessions", file=sys.stderr)
        return True
    return False


def _list(args) -> int:
    if _not_a_folder(args):
        return 1
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

    from empathy.host.session.exports import export

    try:
        paths = [store.find(args.dir, s) for s in args.session]
        files = []
        for p in track(paths, description="exporting", disable=args.json or len(paths) < 2):
            files += export(p, Path(args.out), args.format)
    except (store.SessionError, OSError, ValueError) as e:
        print(f"empathy session {args.verb}: {e}", file=sys.stderr)
        return 1
    print(json.dumps([str(f) for f in files]) if args.json else "\n".join(map(str, files)))
    return 0


def _report(args) -> int:
    from empathy.host.session.report import write

    try:
        with store.private_files():  # plots of viewers' signals: for the owner only
            dest = write(store.find(args.dir, args.session), Path(args.out))
    except (store.SessionError, OSError) as e:
        print(f"empathy session {args.verb}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(str(dest)) if args.json else dest)
    return 0


def _purge(args) -> int:
    if not (args.session or args.older_than is not None or args.all):
        print("empathy session purge: name sessions, or --older-than DAYS, or --all",
              file=sys.stderr)
        return 1
    if _not_a_folder(args):
        return 1
    try:
        chosen = [store.find(args.dir, s) for s in args.session]
    except store.SessionError as e:
        print(f"empathy session {args.verb}: {e}", file=sys.stderr)
        return 1
    if args.all:
        chosen = store.sessions(args.dir)
    elif args.older_than is not None:
        chosen += store.older_than(args.dir, args.older_than)
    removed, refused = store.purge_all(chosen)
    for why in refused:
        print(f"empathy session purge: {why}", file=sys.stderr)
    print(json.dumps(removed) if args.json else f"purged {len(removed)} session(s)")
    return 1 if refused else 0


def register(p) -> None:
    sub = p.add_subparsers(dest="verb", required=True)
    common = dict(default=DEFAULT_DIR, help=f"session folder (default {DEFAULT_DIR}, "
                                            "or $EMPATHY_SESSIONS)")
    ls = sub.add_parser("list", help="recorded sessions with their size and span")
    ls.add_argument("--dir", **common)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)

    ex = sub.add_parser("export", help="write sessions as CSV, Parquet, BIDS, EDF+ or XDF")
    ex.add_argument("session", nargs="+", help="session id(s), as `session list` shows them")
    ex.add_argument("--format", choices=("csv", "parquet", "bids", "edf", "xdf"), default="csv",
                    help="csv/parquet: the stored tables; bids: a BIDS dataset (beh physio + "
                         "events); edf: EDF+ with annotations; xdf: LabRecorder's format")
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
    pu.add_argument("--older-than", type=number_in(float, 0, 36500), metavar="DAYS",
                    help="sessions last written more than DAYS ago")
    pu.add_argument("--all", action="store_true")
    pu.add_argument("--dir", **common)
    pu.add_argument("--json", action="store_true")
    pu.set_defaults(func=_purge)
