"""`empathy demo --kiosk --visitors N`: a one-seat kiosk serving simulated visitors in turn.

One edge unit reads one simulated seat that is empty, then occupied by a visitor, then
empty again, visitor after visitor (`sim://seat?visits=...`): each a new person with a
resting heart rate of their own, some watching to the end and some leaving early. The host
runs the kiosk cycle (host/kiosk.py): the attract loop, a fresh baseline per visitor, the
film, a session per visit. `summary.json` lists the visits, each with the baseline the
kiosk measured beside the visitor's true resting heart rate (from the simulation's truth
file, which the host never sees).
"""

from __future__ import annotations

import html
import json
import sys
import time
from pathlib import Path

import numpy as np

from empathy.edge.lifeline import Lifeline
from empathy.host.demo import _progress, _spawn_edges, _stop
from empathy.host.demo_stop import EndEarly, banner, said
from empathy.host.demo_units import UnitsWatch, edge_stats, exits, free_udp_ports, own_folder
from empathy.host.demo_story import DemoError, demo_story
from empathy.host.evaluate import bounded, truth_rows

GAP_S = 6.0  # empty seat between visitors: longer than the unit's re-baseline gap and the
# kiosk's leave_s (3 s each), so the next one is a new visitor and a new visit
LEAVE_EARLY = 0.4  # every second visitor leaves after this share of the film
# The film starts baseline_s after a visitor sits down (measured: 0.2 s of settling, then
# the baseline; 5.9 s for a 6-s baseline). A full watcher stays SPARE_S past the film's
# end, an early leaver their share of it, each with READY_S more before the film for a
# baseline a loaded machine finishes late (CI runs this beside other tests on 2 cores). (Was 4 + 2 x baseline_s before the film and 4 s
# after: on a short film the "early" leaver saw it all, and full watchers sat on for 10 s
# after their visit had ended, 82 s of wall time for the guide's 3 visitors of a 7-s film.)
SPARE_S = 3.0
READY_S = 5.0


def visit_spans(n: int, baseline_s: float, film_s: float, first_s: float = 3.0) -> list:
    """(arrive, leave) seconds after the seat opens: time to settle and take the baseline,
    then the film (all of it, or part for every second visitor), then a few seconds more."""
    spans, t = [], first_s
    for k in range(n):
        seen_s = film_s * LEAVE_EARLY if k % 2 else film_s + SPARE_S
        stay = READY_S + baseline_s + seen_s
        spans.append((round(t, 1), round(t + stay, 1)))
        t += stay + GAP_S
    return spans


def _truth(path: Path) -> np.ndarray:
    """(ts_us, visitor, rest_bpm) rows of the simulated seat's truth file (none: the demo
    was stopped before its seat began)."""
    if not path.exists():
        return np.empty((0, 3))
    rows = truth_rows(path, {"ts_us": int, "visitor": int, "rest_bpm": bounded(20, 250)})
    return np.array(rows, dtype=float).reshape(-1, 3)


def match_visitors(visits: list[dict], truth: np.ndarray, t0_us: int) -> None:
    """Which simulated visitor each kiosk visit was (the one most often in the seat during
    it), and their true resting heart rate: written into each visit."""
    for v in visits:
        a, b = t0_us + v["start_s"] * 1e6, t0_us + v["end_s"] * 1e6
        inside = truth[(truth[:, 0] >= a) & (truth[:, 0] <= b) & (truth[:, 1] >= 0)]
        if not len(inside):
            v["visitor"] = v["true_resting_bpm"] = None
            continue
        who = int(np.bincount(inside[:, 1].astype(int)).argmax())
        v["visitor"] = who
        v["true_resting_bpm"] = round(float(inside[inside[:, 1] == who][0, 2]), 1)


def run_kiosk_demo(out: Path, visitors: int = 3, baseline_s: float = 6.0, seed: int = 1,
                   policy: str = "arc", quiet: bool = False, story_file: str | None = None,
                   media_root: str | None = None, impact: str | None = None,
                   dashboard: int | None = None) -> dict:
    from empathy.host.cli import DashboardConfig, HostConfig, SessionConfig, attach
    from empathy.host.kiosk import KioskConfig, KioskShow
    from empathy.host.rehearsal import story_paths
    from empathy.host.show import ShowConfig
    from empathy.keys import Keystore

    if not 1 <= visitors <= 50:
        raise DemoError(f"--visitors {visitors} must be within 1..50")
    t_start = time.monotonic()
    with own_folder(out), EndEarly(f"what ran is in {out}") as stop, _progress(quiet) as bar:
        (out / "frames.csv").unlink(missing_ok=True)
        task = bar.add_task("loading the story", total=None, note="")
        story, root, impact_file = demo_story(out, story_file, media_root, impact)
        stop.phase("start-up")
        film_s = max(t for _, t in story_paths(story))
        spans = visit_spans(visitors, baseline_s, film_s)
        keys = Keystore.new([1])
        keys.save(out / "host.keys.toml")
        link = f"udp://127.0.0.1:{free_udp_ports(1)[0]}"
        bar.update(task, description="starting the kiosk's edge unit")
        visits_q = ",".join(f"{a}:{b}" for a, b in spans)
        line = Lifeline()  # the unit stops once the kiosk has gone, even killed
        procs, cues = _spawn_edges(out, line, 1, link, keys, baseline_s, seed, False,
                                   seat_query=f"impact={impact_file}&visits={visits_q}",
                                   unit_cfg={"rebaseline_after_s": 3.0})
        kiosk = KioskConfig(settle_s=1.5, leave_s=3.0, idle_timeout_s=3.0,
                            baseline_timeout_s=2 * baseline_s + 20)
        cfg = HostConfig(story=str(story.path), mode="kiosk",
                         session=SessionConfig(dir=str(out / "sessions")), kiosk=kiosk,
                         dashboard=DashboardConfig(enabled=dashboard is not None,
                                                   listen=f"127.0.0.1:{dashboard or 0}"))
        closers, unit = [], UnitsWatch(procs, out / "edge", "the kiosk's run",
                                          "the kiosk stops: no visitor can be seen")
        try:
            show = KioskShow(story, ShowConfig(listen=link, output=f"file:{out / 'screen.mp4'}",
                                               policy=policy, cue_targets=cues), kiosk,
                             keys.units, keys.cue_signing, out / "frames.csv", out / "sessions")
            stop.on_stop(show.stop)
            closers = attach(show, HostConfig(story=cfg.story, dashboard=cfg.dashboard,
                                              session=SessionConfig(enabled=False)))
            total_s = spans[-1][1] + 30.0  # at most; it ends once the last visitor has gone

            def progress(t):
                bar.update(task, completed=t, note=f"visit {show.visits_total}, {show.phase}")
                # no visitor can come without the seat's unit (and the kiosk would wait)
                if (not stop.why and unit.all_gone(t, before_film=False)) or \
                        (show.visits_total == visitors and show.visit is None):
                    show.stop()

            bar.update(task, description=f"kiosk: {visitors} visitors", total=total_s)
            stop.phase("kiosk")
            summary = show.run(total_s, progress=progress)
        finally:
            for c in closers:
                c.close()
            _stop(procs)
            line.close()
        if unit.exited:
            (out / "summary.json").write_text(json.dumps(
                {"mode": "kiosk", "story": story.title, "units_exited": unit.exited,
                 "frames_rendered": summary["frames_rendered"]}, indent=2))
            raise DemoError(f"the kiosk stopped: the seat unit exited {unit.exited['at_s']:.1f}"
                            f" s in ({exits(unit.exited['units'])}; its log: "
                            f"{out / 'edge' / 'unit1.log'})")
        stop.phase("report")
        ended = stop.record(summary["frames_rendered"] / show.cfg.fps)
        truth = _truth(out / "edge" / "truth_seat1.csv")
        visits = summary["visits"]
        match_visitors(visits, truth, show._t_kiosk_us)
        summary = {"mode": "kiosk", "story": story.title, "visitors": visitors,
                   "visit_spans_s": spans, "packets_sent": edge_stats(out, 1)[0],
                   **{k: summary[k] for k in ("packets_received", "packets_accepted",
                                              "packets_rejected", "frames_rendered",
                                              "frames_dropped", "policy")},
                   "visits": visits, "fps": show.cfg.fps,
                   "edge": json.loads((out / "edge" / "unit1.stats.json").read_text()),
                   "ended_early": ended}
        bar.update(task, description=f"ended early ({stop.why}): writing report" if ended
                   else "writing report", note="")
        kiosk_report(out, summary, truth, show._t_kiosk_us)
        summary["wall_s"] = round(time.monotonic() - t_start, 1)
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def kiosk_report(out: Path, summary: dict, truth: np.ndarray, t0_us: int) -> None:
    """report.html: the seat's heart rate with each visit shaded and its baseline against the
    visitor's true resting rate, and a table of visits linking to each session's report."""
    from empathy.plots import pyplot

    plt = pyplot()

    from empathy.host.report import SEG_COLOURS, _png

    fig, ax = plt.subplots(figsize=(10, 3.6))
    t = (truth[:, 0] - t0_us) / 1e6
    ax.plot(t, np.where(truth[:, 1] >= 0, truth[:, 2], np.nan), color="#444", ls="--", lw=1,
            label="visitor's true resting HR (hidden)")
    for i, v in enumerate(summary["visits"]):
        c = SEG_COLOURS[i % len(SEG_COLOURS)]
        ax.axvspan(v["start_s"], v["end_s"], color=c, alpha=0.15)
        if v.get("film_start_s") is not None:
            ax.axvline(v["film_start_s"], color=c, lw=1)
        if v["baseline_bpm"]:
            ax.hlines(v["baseline_bpm"], v["start_s"], v["film_start_s"] or v["end_s"],
                      color=c, lw=3, label=f"visit {v['visit']} baseline")
    ax.set(xlabel="seconds (shaded: visits; line: the film starts)", ylabel="bpm",
           title="Each visitor's resting baseline against their true resting heart rate")
    ax.legend(fontsize=7, loc="upper right")
    def cells(v: dict) -> list[str]:
        chosen = ", ".join(f"{d['decision']} → {d['chosen']}" for d in v["decisions"])
        return [str(v["visit"]), f"<a href='sessions/{v['session']}.html'>"
                f"{html.escape(str(v['session']))}</a>",
                f"{v['start_s']:.1f}–{v['end_s']:.1f} s", str(v["baseline_bpm"]),
                str(v["true_resting_bpm"]), html.escape(", ".join(v["segments"]) or "—"),
                html.escape(chosen or "—")]

    rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in cells(v)) + "</tr>"
                   for v in summary["visits"])
    (out / "report.html").write_text(f"""<!doctype html><html><head><meta charset="utf-8">
<title>Kiosk — {html.escape(summary['story'])}</title><style>body{{font-family:system-ui;
max-width:1000px;margin:2em auto}}td,th{{border:1px solid #ccc;padding:4px 8px}}
table{{border-collapse:collapse}}img{{max-width:100%}}</style></head><body>
<h1>{html.escape(summary['story'])} — kiosk, {len(summary['visits'])} visits</h1>
{banner(summary["ended_early"], "the kiosk's run")}
<img src="{_png(fig)}"><table><tr><th>visit</th><th>session</th><th>when</th>
<th>baseline (bpm)</th><th>true resting (bpm)</th><th>segments seen</th><th>decisions</th></tr>
{rows}</table></body></html>""", encoding="utf-8")


def kiosk_cmd(args) -> int:
    s = run_kiosk_demo(Path(args.out), args.visitors, args.baseline, args.seed,
                       args.policy, quiet=args.json, story_file=args.story,
                       media_root=args.media_root, impact=args.impact,
                       dashboard=args.dashboard)
    brief = {"story": s["story"], "visits": [
        {k: v[k] for k in ("session", "start_s", "end_s", "baseline_bpm", "true_resting_bpm")}
        for v in s["visits"]], "frames_rendered": s["frames_rendered"], "wall_s": s["wall_s"],
        "ended_early": s["ended_early"]}
    if args.json:
        print(json.dumps(brief))
    else:
        for v in brief["visits"]:
            print(f"visit {v['session']}: {v['start_s']:.0f}-{v['end_s']:.0f} s, baseline "
                  f"{v['baseline_bpm']} bpm (true resting {v['true_resting_bpm']})")
        print(f"report: {Path(args.out) / 'report.html'}")
    if s["ended_early"]:  # as the user asked: exit 0, the report says what ran
        print(said(s["ended_early"], Path(args.out), "the kiosk's run"), file=sys.stderr)
        return 0
    if len(s["visits"]) != args.visitors or not s["frames_rendered"]:
        raise DemoError(f"{len(s['visits'])} of {args.visitors} visits served, "
                        f"{s['frames_rendered']} frames", f"see the run's logs in {args.out}")
    return 0
