"""`empathy story check|graph|arc`: validate a story file, draw its branches, score a screenplay.

    empathy story check FILE [--media-root DIR] [--config HOST.toml] [--platform P]
                             [--no-files] [--json]
                                                    (exit 1 on errors: file:line: reason)
    empathy story graph FILE [--out GRAPH.svg|.png]
    empathy story arc SCRIPT.fountain [--plot ARC.png|.svg] [--json]
    empathy story new CLIPS_DIR|TIMELINE.otio|.edl|.xml --out STORY.toml
"""

from __future__ import annotations

import json
import sys
from collections import deque
from pathlib import Path

from empathy.errors import UserError


def _load(args, check_files: bool, find_media: bool | None = None):
    from empathy.host.story import StoryError, load

    try:
        return load(args.file, media_root=args.media_root, check_files=check_files,
                    find_media=find_media)
    except StoryError as e:
        if getattr(args, "json", False):
            print(json.dumps({"ok": False, "file": e.path, "line": e.line, "error": e.message}))
            return None
        raise  # the CLI's error boundary: `empathy story VERB: file:line: why`


def _host_config(args):
    """--config: the host config's media root, output (so platform) and frame rate."""
    if not args.config:
        return None
    from empathy.config import from_toml
    from empathy.host.cli import HostConfig

    cfg = from_toml(HostConfig, args.config)  # a ConfigError is the CLI boundary's to say
    args.media_root = args.media_root or cfg.media_root or None
    return cfg


def _check(args) -> int:
    from empathy.plots import never_plots

    never_plots()
    cfg = _host_config(args)
    story = _load(args, False, find_media=not args.no_files)
    if story is None:
        return 1
    rep = None
    if not args.no_files:
        from rich.progress import Progress

        from empathy.host.story_check import check_files, platform_of

        platform = args.platform if args.platform != "auto" else \
            platform_of(cfg.show.output if cfg else "auto")
        with Progress(transient=True, disable=args.json or not sys.stderr.isatty()) as bar:
            task = bar.add_task("checking clips and LUTs", total=len(story.segments))
            rep = check_files(story, platform, show_fps=cfg.show.fps if cfg else None,
                              progress=lambda sid: bar.advance(task))
    errors, warnings = (rep.errors, rep.warnings) if rep else ([], [])
    info = {"ok": not errors, "title": story.title, "segments": len(story.segments),
            "decisions": len(story.decisions), "start": story.start,
            "variables": story.variables, "policy": story.policy,
            "media_root": str(story.media_root) if story.media_root else None}
    if errors:  # the first error in the fields a single-error reader expects
        info.update(file=errors[0].file, line=errors[0].line, error=errors[0].reason)
    if rep:
        info.update(rep.to_dict())
    if args.json:
        print(json.dumps(info))
        return 1 if errors else 0
    for p in errors + warnings:
        print(p, file=sys.stderr)
    if rep and any(c["hdr"] for c in rep.clips.values()):  # which are HDR, and what is done
        from empathy.host.story_check import dynamic_range

        for sid, c in rep.clips.items():
            print(f"segment {sid!r}: {dynamic_range(c)}")
    count = lambda x, w: f"{len(x)} {w}{'s' if len(x) != 1 else ''}"  # noqa: E731
    extra = f", {count(story.variables, 'variable')}" if story.variables else ""
    counts = ", ".join(count(x, w) for x, w in ((errors, "error"), (warnings, "warning")) if x)
    print(f"{story.title}: {count(story.segments, 'segment')}, "
          f"{count(story.decisions, 'decision')}"
          f"{extra}, starts at {story.start!r} — {'ok' if not errors else 'FAILED'}"
          f"{f' ({counts})' if counts else ''}", file=sys.stderr if errors else sys.stdout)
    return 1 if errors else 0


def _layers(story) -> dict[str, int]:
    """Column of each segment: its shortest distance from the start."""
    depth, todo = {story.start: 0}, deque([story.start])
    while todo:
        s = todo.popleft()
        for n in story.successors(s):
            if n not in depth:
                depth[n] = depth[s] + 1
                todo.append(n)
    return depth


def draw_graph(story, out: Path) -> Path:
    from empathy.plots import pyplot

    plt = pyplot()

    plt.rcParams["svg.fonttype"] = "none"  # names stay text in the SVG: searchable, selectable
    depth = _layers(story)
    cols: dict[int, list[str]] = {}
    for sid in story.segments:
        cols.setdefault(depth[sid], []).append(sid)
    pos = {sid: (c * 3.2, -(i - (len(ids) - 1) / 2) * 1.6)
           for c, ids in cols.items() for i, sid in enumerate(ids)}
    fig, ax = plt.subplots(figsize=(3.2 * len(cols) + 1, 1.6 * max(map(len, cols.values())) + 1.5))
    for sid, s in story.segments.items():
        d = story.decision_after(sid)
        edges = ([(o, f"{d.id}: {lift:+.2f}" + (f"\nif {_cond_text(d, o)}" if o in d.when else ""),
                   o == d.default, o in d.when) for o, lift in d.options.items()] if d
                 else [(s.next, "", True, False)] if s.next else [])
        for dst, label, is_default, conditional in edges:
            back = depth[dst] <= depth[sid]
            ax.annotate("", xy=pos[dst], xytext=pos[sid], arrowprops=dict(
                arrowstyle="-|>", lw=2.2 if is_default else 1.0, ls="--" if conditional else "-",
                color="#333" if is_default else "#888", shrinkA=38, shrinkB=38,
                connectionstyle=f"arc3,rad={0.45 if back else 0.08}"))
            if label:
                (x0, y0), (x1, y1) = pos[sid], pos[dst]
                # a third of the way along, so labels of crossing edges stay apart
                ax.text(x0 + (x1 - x0) * 0.33, y0 + (y1 - y0) * 0.33 + 0.2, label, fontsize=7, ha="center",
                        color="#555", bbox=dict(fc="white", ec="none", alpha=0.8, pad=0.5))
    for sid, s in story.segments.items():
        x, y = pos[sid]
        ends = not story.successors(sid)
        ax.text(x, y, f"{sid}\n{s.duration_s:g} s · a {s.target_arousal:+.2f} v {s.target_valence:+.2f}",
                ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.5", lw=2 if sid == story.start or ends else 1,
                          fc="#fde9c9" if sid == story.start else "#e3eef9" if ends else "white",
                          ec="#333"))
    xs, ys = zip(*pos.values())
    ax.set_xlim(min(xs) - 1.6, max(xs) + 1.6)
    ax.set_ylim(min(ys) - 1.2, max(ys) + 1.2)
    ax.axis("off")
    ax.set_title(f"{story.title}: thick arrows are the director's default, dashed ones are "
                 f"conditional", fontsize=9)
    fig.savefig(out, bbox_inches="tight", dpi=110)
    plt.close(fig)
    return out


def _cond_text(d, option: str) -> str:
    return " or ".join(" and ".join(("not " if neg else "") + name + (f" {op} {val!r}" if op else "")
                                    for neg, name, op, val in alt) for alt in d.when[option])


def _graph(args) -> int:
    story = _load(args, False)
    if story is None:
        return 1
    out = Path(args.out or Path(args.file).with_suffix(".svg").name)
    if out.suffix.lower() not in (".svg", ".png"):
        raise UserError(f"{out}: the graph is written as .svg or .png")
    draw_graph(story, out)
    print(out)
    return 0


def _arc(args) -> int:
    from empathy.host.arc import arc_plot, arc_rows, screenplay_arc, screenplay_title

    plot = Path(args.plot) if args.plot else None
    if plot and plot.suffix.lower() not in (".svg", ".png"):
        raise UserError(f"{plot}: the plot is written as .svg or .png")
    try:
        arc = screenplay_arc(args.script)
        title = screenplay_title(Path(args.script).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{args.script}: not a text file", "a screenplay is Fountain text")
    except ValueError as e:
        raise UserError(str(e)) from None
    title = title or Path(args.script).stem
    if plot:
        arc_plot(arc, plot, title)
    if args.json:
        print(json.dumps(arc_rows(arc)))
        return 0
    from rich.console import Console

    Console().print(arc_table(arc, title))
    if plot:
        print(f"plot: {plot}")
    return 0


def arc_table(arc, title: str):
    """The arc as a rich Table. Cells are Text, shown as written: a string cell is read as
    markup (a `[FLASHBACK]` heading vanished, a `[/b]` one crashed the verb) and parsed again
    at each measure."""
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text(f"{title}: intended arc (valence: VADER; arousal: words and staging)",
                         style="table.title"))
    for col in ("scene", "heading", "valence", "arousal", "because of"):
        t.add_column(col, justify="right" if col in ("scene", "valence", "arousal") else "left")
    for p in arc:
        t.add_row(*(Text(c) for c in (str(p.scene), p.heading, f"{p.valence:+.3f}",
                                       f"{p.arousal:.3f}", ", ".join(p.stirring))))
    return t


def register(p) -> None:
    sub = p.add_subparsers(dest="verb", required=True)
    c = sub.add_parser("check", help="validate a story file")
    c.add_argument("file")
    c.add_argument("--media-root", help="folder the media/LUT paths are relative to")
    c.add_argument("--config", help="a host config: its media_root, its output's platform "
                                    "and its frame rate are checked against")
    c.add_argument("--no-files", action="store_true",
                   help="check the structure only, not the media and LUT files")
    c.add_argument("--platform", default="auto", choices=["auto", "pi5", "jetson-orin", "desktop"],
                   help="warn about codecs this platform cannot decode in hardware "
                        "(auto: this machine's, as the player detects it)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_check)
    g = sub.add_parser("graph", help="draw the branch graph (SVG or PNG)")
    g.add_argument("file")
    g.add_argument("--out", help="GRAPH.svg or GRAPH.png (default: the story's name .svg)")
    g.set_defaults(func=_graph, media_root=None)
    a = sub.add_parser("arc", help="score a Fountain screenplay's scenes: the intended arc")
    a.add_argument("script")
    a.add_argument("--plot", help="also draw the arc to ARC.png or ARC.svg (nothing is "
                                  "written without it)")
    a.add_argument("--json", action="store_true",
                   help="print [{scene, heading, valence, arousal, stirring}] in scene order")
    a.set_defaults(func=_arc)
    from empathy.host.story_new import register as register_new

    register_new(sub)
