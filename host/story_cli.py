"""`empathy story check FILE` — validate a story file (exit 1 with file:line: reason)."""

from __future__ import annotations

import json
import sys


def _check(args) -> int:
    from empathy.host.story import StoryError, load

    try:
        story = load(args.file, media_root=args.media_root, check_files=not args.no_files)
    except StoryError as e:
        if args.json:
            print(json.dumps({"ok": False, "file": e.path, "line": e.line, "error": e.message}))
        else:
            print(f"error: {e}", file=sys.stderr)
        return 1
    info = {"ok": True, "title": story.title, "segments": len(story.segments),
            "decisions": len(story.decisions), "start": story.start}
    if args.json:
        print(json.dumps(info))
    else:
        print(f"{story.title}: {len(story.segments)} segments, {len(story.decisions)} decisions, "
              f"starts at {story.start!r} — ok")
    return 0


def register(p) -> None:
    sub = p.add_subparsers(dest="verb", required=True)
    c = sub.add_parser("check", help="validate a story file")
    c.add_argument("file")
    c.add_argument("--media-root", help="folder the media/LUT paths are relative to")
    c.add_argument("--no-files", action="store_true", help="don't require media/LUT files")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_check)
