"""The show report: one self-contained HTML page with plots, for a person to review."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from empathy.host.evaluate import CHANNELS, estimate_vs_truth

SEG_COLOURS = ["#f28e2b", "#e15759", "#4e79a7", "#76b7b2", "#edc948", "#b07aa1", "#59a14f"]


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _frames_side_by_side(out: Path, summary: dict, story, media_root: Path):
    """A graded frame the audience saw beside the same frame ungraded (from the source)."""
    import cv2

    segs = summary.get("segments") or []
    if not segs:
        return None
    seg = story.segments[segs[0]["segment"]]
    t = min(5.0, seg.duration_s / 2)
    fps = summary.get("fps", 25.0)
    shown = cv2.VideoCapture(str(out / "screen.mp4"))
    shown.set(cv2.CAP_PROP_POS_FRAMES, int(t * fps))
    ok1, graded = shown.read()
    src = cv2.VideoCapture(str(seg.media))
    src.set(cv2.CAP_PROP_POS_FRAMES, int(t * fps))
    ok2, raw = src.read()
    if not (ok1 and ok2):
        return None
    raw = cv2.resize(raw, (graded.shape[1], graded.shape[0]))
    return raw[..., ::-1], graded[..., ::-1], seg


def _decision_row(d: dict) -> str:
    """One decision, explained: what the audience was doing, each option's score, the
    policy's reason, how sure it was, and how the chosen segment then landed."""
    i = d.get("inputs") or {}
    seen = (f"arousal {i['arousal']:+.2f} ±{i['arousal_se']:.2f}, valence {i['valence']:+.2f}, "
            f"synchrony {i['synchrony']:.2f}, rise {i.get('rise', 0):+.2f}, "
            f"spike {i.get('spike', 0):+.2f} ({i['seats_good']}/{i['seats_total']} seats)"
            if i else "not measured (operator or fault)")
    how = "fallback" if d.get("fallback") else f"p = {d.get('propensity', 1.0):.2f}"
    reward = f"{d['reward']:.2f}" if d.get("reward") is not None else "—"
    return (f"<tr><td>{d['at_s']:.1f} s</td><td>{html.escape(d['decision'])}</td>"
            f"<td><b>{html.escape(d['chosen'])}</b></td><td>{html.escape(seen)}</td><td>"
            + ", ".join(f"{html.escape(o)} {v:+.2f}" for o, v in d["scores"].items())
            + f"</td><td>{html.escape(d['reason'])}</td><td>{how}</td><td>{reward}</td></tr>")


def _baseline_text(b: dict | None, ended: dict | None = None) -> str:
    """When the seats' resting baselines were ready against the start of the film."""
    if not b:
        return "not recorded"
    if ended and not ended["at_s"]:  # cut short before any film: no start to be ready for
        ready = sum(t is not None for t in b["seats"].values())
        return f"{ready} of {len(b['seats'])} seats heard had theirs when the run ended"
    times = [t for t in b["seats"].values() if t is not None]
    late = len(b["seats"]) - sum(t <= 0 for t in times)
    text = ("every seat ready before the film" if b["all_calibrated_before_film"] else
            f"{late} of {len(b['seats'])} seats not ready when the film started")
    if times:
        text += f" (ready {min(times):+.1f} .. {max(times):+.1f} s from its start"
        text += f"; waited {b['waited_s']:.1f} s" if "waited_s" in b else ""
        text += ")"
    return text + ("; timed out, film started anyway" if b.get("fallback") else "")


def _exited_text(gone: dict) -> str:
    """Every seat unit gone (the demo's UnitsWatch): when, how, and what it cost."""
    from empathy.host.demo_units import exits

    when = "before the film" if gone["before_film"] else f"{gone['at_s']:.1f} s into the film"
    return (f"every seat unit had exited {when} ({exits(gone['units'])}): nobody was measured "
            "after it and every decision took the director's default")


def _spans(summary: dict) -> list[tuple[dict, float | None]]:
    """Each segment as it played with its end, on the show clock as its start: the next
    one's start; the last one's, when its last frame left the screen (not ended_early's
    or duration_s's seconds of film, which fall behind it after late frames or a freeze)."""
    segs = summary.get("segments") or []
    return list(zip(segs, [s["at_s"] for s in segs[1:]] + [summary.get("shown_until_s")]))


def _timeline_html(summary: dict) -> str:
    """The segments as they played, each with the decision that led to it."""
    by = {}
    for d in summary.get("decisions", []):
        by.setdefault(d["chosen"], []).append(d)
    rows = []
    for s, end in _spans(summary):
        why = next((d for d in by.get(s["segment"], []) if d["at_s"] <= s["at_s"]), None)
        if why:
            by[s["segment"]].remove(why)
        rows.append(f"<tr><td>{s['at_s']:.1f} s</td><td>{'' if end is None else f'{end:.1f} s'}"
                    f"</td><td><b>{html.escape(s['segment'])}</b></td><td>"
                    + (html.escape(f"{why['decision']} (at {why['at_s']:.1f} s)") if why
                       else "") + "</td></tr>")
    return ("<h2>Timeline</h2><table><tr><th>from</th><th>to</th><th>segment</th>"
            f"<th>chosen by</th></tr>{''.join(rows)}</table>") if rows else ""


def _branches_html(branches: dict | None) -> str:
    """Each decision's options and how often each was taken: unwalked branches stand out."""
    if not branches:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(d)}</td><td>" + ", ".join(
            (f"<b>{html.escape(o)}</b> ×{n}" if n else
             f"<span style='color:#b3261e'>{html.escape(o)} (not walked)</span>")
            for o, n in opts.items()) + "</td></tr>" for d, opts in branches.items())
    walked = sum(n > 0 for opts in branches.values() for n in opts.values())
    total = sum(len(opts) for opts in branches.values())
    return (f"<h2>Branches walked: {walked} of {total}</h2><table><tr><th>decision</th>"
            f"<th>options taken (times)</th></tr>{rows}</table>")


def write(out: Path, summary: dict, story, media_root: Path, seats: dict | None = None,
          t0_us: int = 0) -> dict:
    from empathy.plots import pyplot

    plt = pyplot()

    figs, extra = {}, {}
    seats = seats or {}
    # 1. per-seat heart rate and arousal
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    for sid, track in sorted(seats.items()):
        h = list(track.history)
        t = np.array([(s.ts_us - t0_us) / 1e6 for s in h])
        hr = np.array([s.hr_bpm if s.hr_bpm else np.nan for s in h])
        ax1.plot(t, hr, lw=0.8, label=f"seat {sid}")
        ax2.plot(t, [s.arousal for s in h], lw=0.8)
    ready = [t for t in (summary.get("baseline") or {}).get("seats", {}).values()
             if t is not None]
    for t in ready:  # when each seat's resting baseline was ready
        ax2.plot([t], [-0.95], marker="^", color="#59a14f", ms=6, ls="")
    ax1.set_ylabel("heart rate (bpm)")
    ax2.set_ylabel("arousal (seat)")
    ax2.set_xlabel("seconds from the start of the film (negative: resting baseline; "
                   "green marks: a seat's baseline ready)")
    for ax in (ax1, ax2):
        ax.axvline(0, color="k", lw=0.6, ls=":")
    if seats:
        ax1.legend(ncol=8, fontsize=7, loc="upper left")
    figs["seats"] = _png(fig)

    # 2. audience estimate against the simulated truth, with the branch timeline
    ev = estimate_vs_truth(summary.get("timeline", []), t0_us, out / "edge")
    fig, ax = plt.subplots(figsize=(10, 4))
    for s, e in _spans(summary):
        ax.axvspan(s["at_s"], e, color=SEG_COLOURS[list(story.segments).index(s["segment"])
                                                  % len(SEG_COLOURS)], alpha=0.18)
        ax.text(s["at_s"] + 0.2, 0.97, s["segment"], transform=ax.get_xaxis_transform(),
                va="top", fontsize=9)
    for d in summary.get("decisions", []):
        ax.axvline(d["at_s"], color="k", lw=1, ls="--")
        ax.text(d["at_s"], 0.03, f" {d['decision']} → {d['chosen']}",
                transform=ax.get_xaxis_transform(), fontsize=8, rotation=90, va="bottom")
    if ev:
        series = ev.pop("series")
        # One axis for both: arousal on the same -1..1 scale, so a gain or an offset shows.
        ax.plot(series["t_s"], series["estimate"], color="#d62728", lw=2,
                label="audience estimate (from packets)")
        lag = ev.get("latency_s") or 0
        ax.plot(series["t_s"], series["truth"], color="#444", lw=1.2, ls="--",
                label=f"simulated truth (hidden; mean of seats), {lag:g} s earlier: the "
                      "moment the estimate refers to")
        ax.set_title(f"Audience arousal vs simulated truth: Pearson r = {_ci(ev)}")
        extra["truth_correlation"] = ev["r"]
        extra["estimate_vs_truth"] = ev
        ax.legend(loc="upper right", fontsize=8)
        figs["channels"] = _channel_plot(plt, series, ev)
    ax.set_xlabel("seconds into the film")
    ax.set_ylabel("audience arousal (-1..1)")
    figs["audience"] = _png(fig)
    extra.setdefault("truth_correlation", None)

    # 3. graded vs ungraded
    frames = _frames_side_by_side(out, summary, story, media_root)
    if frames:
        raw, graded, seg = frames
        fig, axs = plt.subplots(1, 2, figsize=(10, 3.2))
        for a, img, title in ((axs[0], raw, "ungraded source"),
                              (axs[1], graded, f"as shown: {seg.lut.stem if seg.lut else 'no LUT'}")):
            a.imshow(img)
            a.set_title(f"{seg.id} — {title}")
            a.axis("off")
        figs["grade"] = _png(fig)

    from empathy.host.demo_stop import banner

    rej, ended = summary.get("packets_rejected", {}), summary.get("ended_early")
    rows = "".join(_decision_row(d) for d in summary.get("decisions", []))
    ev = extra.get("estimate_vs_truth")
    facts = [
        ("seats", summary.get("seats")),
        ("packets sent / received", f"{summary.get('packets_sent')} / {summary.get('packets_received')}"),
        ("packets rejected", ", ".join(f"{k}: {v}" for k, v in rej.items()) or "none"),
        ("frames rendered / dropped / late", f"{summary.get('frames_rendered')} / "
                                             f"{summary.get('frames_dropped')} / {summary.get('frames_late')}"),
        ("policy", summary.get("policy")),
        ("estimate vs truth (Pearson r, 95 % CI)",
         f"{_ci(ev)} at its declared latency of {ev.get('latency_s', 0):g} s "
         f"(r {_r(ev.get('r_lag0'))} at 0 s)" if ev else "n/a"),
        ("face model", summary.get("face_model") or "none (no face cameras)"),
        ("resting baselines", _baseline_text(summary.get("baseline"), ended)),
        *([("seat units", _exited_text(summary["units_exited"]))]
          if summary.get("units_exited") else []),
    ]
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>Empathy Engine — {html.escape(story.title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;font-size:14px}}
img{{max-width:100%}}h2{{margin-top:1.6em}}</style></head><body>
<h1>{html.escape(story.title)} — show report</h1>
{banner(ended, f"{summary.get('duration_s', 0):g} s of film")}
<table>{''.join(f'<tr><th align=left>{k}</th><td>{html.escape(str(v))}</td></tr>' for k, v in facts)}</table>
<h2>Audience against the hidden truth, and the branches taken</h2>
<p>The red line is what the host estimated from the seats' packets alone; the dashed line is
the simulated viewers' hidden arousal, which never crossed the wire. Shaded bands are the
segments shown; dashed verticals are decisions.</p>
<img src="{figs['audience']}">
{_truth_section(ev, figs.get('channels'))}
{_timeline_html(summary)}
<h2>Decisions</h2>
<p>Each decision with what the audience was doing when its window closed, every option's
score, the policy's reason, how likely the policy was to pick it (p, for offline evaluation)
and the reward: how the chosen segment then landed (engagement 0..1: synchrony and
closeness to the screenplay's target).</p>
<table><tr><th>at</th><th>decision</th><th>chosen</th><th>audience</th><th>scores</th><th>reason</th><th>how</th><th>reward</th></tr>{rows}</table>
{_branches_html(summary.get("branches"))}
<h2>Seats</h2><img src="{figs['seats']}">
{_faults_html(summary.get("seat_faults"))}
{f'<h2>Grade</h2><img src="{figs["grade"]}">' if 'grade' in figs else '<p>(no frame to compare)</p>'}
</body></html>"""
    (out / "report.html").write_text(page, encoding="utf-8")
    return extra


def _faults_html(spans: dict | None) -> str:
    """Each seat's sensor faults over the show, as its unit said them (wire kind 7)."""
    def row(seat: str, f: dict) -> str:
        end = "still" if f["to_s"] is None else f"{f['to_s']:.1f} s"
        held = "" if f["to_s"] is None else f"{f['to_s'] - f['from_s']:.1f} s"
        return (f"<tr><td>{html.escape(seat)}</td><td>{f['unit']}</td>"
                f"<td>{html.escape(f['text'])}</td><td>{f['from_s']:.1f} s</td>"
                f"<td>{end}</td><td>{held}</td></tr>")

    rows = "".join(row(seat, f) for seat, fs in sorted((spans or {}).items(),
                                                       key=lambda x: int(x[0])) for f in fs)
    return ("<h2>Seat sensor faults</h2><p>Why a seat's sensor was out, as its unit said "
            "(seconds on the film's clock; negative: before it).</p><table><tr><th>seat</th>"
            "<th>unit</th><th>fault</th><th>from</th><th>to</th><th>for</th></tr>"
            f"{rows or '<tr><td colspan=6>none</td></tr>'}</table>")


def _ci(a: dict | None) -> str:
    if not a or a.get("r") is None:
        return "n/a"
    lo, hi = a["ci95"]
    return f"{a['r']:.2f} [{lo:.2f}, {hi:.2f}]"


def _r(r: float | None) -> str:
    return "n/a" if r is None else f"{r:.2f}"


def _channel_plot(plt, series: dict, ev: dict) -> str:
    """Each channel alone against the truth, all on the truth's scale."""
    fig, axs = plt.subplots(1, len(CHANNELS), figsize=(12, 3), sharey=True)
    for ax, c in zip(axs, CHANNELS):
        ax.plot(series["t_s"], series["truth"], color="#444", lw=1, ls="--", label="truth")
        ax.plot(series["t_s"], series[c], color="#4e79a7", lw=1.2, label=f"{c} alone")
        ax.plot(series["t_s"], series[f"no_{c}"], color="#f28e2b", lw=1, alpha=0.8,
                label=f"without {c}")
        ax.set_title(f"{c}: r = {_ci(ev['channels'][c])}", fontsize=9)
        ax.set_xlabel("seconds into the film")
    axs[0].set_ylabel("arousal (-1..1)")
    axs[0].legend(fontsize=7, loc="lower left")
    return _png(fig)


def _truth_section(ev: dict | None, plot: str | None) -> str:
    """The table of how well each channel, and the estimate without each, follows truth."""
    if not ev:
        return "<p>(no simulated truth to compare with)</p>"

    def row(name: str, a: dict) -> str:
        ch = a.get("r_changes_1s")
        changes = (f"{ch:.2f} [{a['ci95_changes_1s'][0]:.2f}, {a['ci95_changes_1s'][1]:.2f}]"
                   if ch is not None else "n/a")
        n_eff = "n/a" if a.get("effective_n") is None else f"{a['effective_n']:.1f} of {a['n']}"
        cover = f"{100 * a['coverage']:.0f} %" if "coverage" in a else "100 %"
        return (f"<tr><td>{html.escape(name)}</td><td>{_ci(a)}</td><td>{changes}</td>"
                f"<td>{n_eff}</td><td>{cover}</td></tr>")

    rows = [row("all channels (the show's estimate)", ev)]
    rows += [row(f"{c} alone", ev["channels"][c]) for c in CHANNELS]
    rows += [row(f"all but {c}", ev["ablations"][f"without_{c}"]) for c in CHANNELS]
    img = f'<img src="{plot}">' if plot else ""
    return f"""<h3>Per channel, and with each channel off</h3>
<p>Pearson r against the hidden truth with its 95 % interval (moving-block bootstrap over
time, blocks of {ev.get('block_s', '?')} s), the same for 1-s changes (does the estimate move
when the truth moves), and the effective number of independent samples behind r (the
series are strongly autocorrelated, so it is far below the sample count). Channels come
from the edge units' channel logs (each seat's estimate with one channel alone, or all but
one), fused over seats like the show's estimate. The edge declares that its estimate
refers to the body {ev.get('latency_s', 0):g} s before it is sent (each signal is aligned
on that moment by its response time), so each is judged against the truth of that moment;
against the truth of the moment it is sent, the estimate's r is {_r(ev.get('r_lag0'))}.
Method: docs/evaluation.md.</p>
<table><tr><th>estimate</th><th>r [95 % CI]</th><th>r of 1-s changes</th>
<th>effective n</th><th>time with signal</th></tr>{''.join(rows)}</table>
{img}"""
