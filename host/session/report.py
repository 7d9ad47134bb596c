"""A recorded session as one HTML page for review: the audience against the segments, every
seat, every unit's losses and health, each seat's sensor faults (which stretch of its data
is no body's), and each decision and operator control explained."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from empathy.host.report import SEG_COLOURS, _decision_row, _png
from empathy.host.session import faults, store
from empathy.host.session.reading import event_docs


def _events(path: Path) -> tuple[dict[str, list[tuple[int, dict]]], list[faults.FaultSpan]]:
    """The events by kind, and the seats' fault spans from the same reading."""
    out, spans = defaultdict(list), faults.FaultSpans(path)
    for ts, kind, doc in event_docs(store.read(path, "events")[1]):
        out[kind].append((ts, doc))
        spans.add(ts, kind, doc)
    return out, spans.spans()


def _plots(samples: np.ndarray, ev: dict, t0: int) -> list[str]:
    from empathy.plots import pyplot

    plt = pyplot()

    t = lambda us: (np.asarray(us, dtype=np.int64) - t0) / 1e6  # noqa: E731
    figs = []
    fig, ax = plt.subplots(figsize=(10, 3.2))
    segs = ev.get("segment", [])
    for i, (_, s) in enumerate(segs):
        end = segs[i + 1][1]["start_us"] if i + 1 < len(segs) else None
        x1 = t(end) if end else (t(samples[:, 0].max()) if len(samples) else 0)
        ax.axvspan(t(s["start_us"]), x1, color=SEG_COLOURS[i % len(SEG_COLOURS)], alpha=0.15)
        # a segment id's length: a name from a file (drawn as written: empathy.plots)
        ax.text(t(s["start_us"]), 0.92, str(s["segment"])[:24], fontsize=8)
    st = ev.get("state", [])
    if st:
        ax.plot(t([s["ts_us"] for _, s in st]), [s["arousal"] for _, s in st], "k-",
                label="audience arousal")
    for ts, d in ev.get("decision", []):
        ax.axvline(t(ts), color="#e15759", ls="--", lw=1)
    for ts, c in ev.get("control", []):
        ax.axvline(t(ts), color="#4e79a7", ls=":", lw=1.5)
    ax.set(ylim=(-1, 1), xlabel="s", ylabel="arousal",
           title="Audience (segments shaded; decisions red dashed; operator controls blue)")
    figs.append(_png(fig))

    if len(samples):
        fig, ax = plt.subplots(figsize=(10, 3.2))
        for seat in np.unique(samples[:, 2]):
            m = samples[:, 2] == seat
            ax.plot(t(samples[m, 0]), samples[m, 7], lw=0.8, label=f"seat {int(seat)}")
        ax.set(ylim=(-1, 1), xlabel="s", ylabel="arousal", title="Every seat")
        if len(np.unique(samples[:, 2])) <= 12:
            ax.legend(fontsize=7, ncol=6)
        figs.append(_png(fig))

    units = ev.get("units", [])
    if units:
        # The intake's own loss (every packet kind counts, so sample seq gaps would not do).
        fig, ax = plt.subplots(figsize=(10, 2.6))
        for unit in sorted({u["unit"] for _, rep in units for u in rep}):
            pts = [(ts, u["loss"]) for ts, rep in units for u in rep if u["unit"] == unit]
            ax.plot(t([p[0] for p in pts]), [100 * p[1] for p in pts], "o-", ms=3,
                    label=f"unit {unit}")
        for ts, h in ev.get("health", []):
            ax.axvline(t(ts), color="#e15759", lw=0.8)
        ax.set(xlabel="s", ylabel="loss %", title="Packet loss per unit (red: health events)")
        figs.append(_png(fig))
    return figs


def write(path: Path, out: Path) -> Path:
    try:
        return _write(path, out)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as e:
        # each value was checked as read (reading.py); the events' JSON is shaped by kind
        raise store.SessionError(f"{path}: its events are not a show's ({type(e).__name__}: "
                                 f"{e})"[:300]) from None


def _write(path: Path, out: Path) -> Path:
    info = store.info(path)
    cols, rows = store.read(path, "samples")
    samples = np.array(rows, dtype=float).reshape(-1, len(cols))
    ev, fault_spans = _events(path)
    # Time 0 is when the film started (as the show's own at_s); a baseline comes before it.
    if ev.get("segment"):
        t0 = ev["segment"][0][1]["start_us"]
    else:
        t0 = int(samples[:, 0].min()) if len(samples) else 0
    imgs = "".join(f'<img src="{p}">' for p in _plots(samples, ev, t0))
    decisions = "".join(_decision_row(d) for _, d in ev.get("decision", []))
    controls = "".join(f"<tr><td>{(ts - t0) / 1e6:.1f} s</td><td>{html.escape(c['action'])}"
                       f"</td><td>{html.escape(json.dumps(c['value']))}</td>"
                       f"<td>{html.escape(c['by'])}</td></tr>"
                       for ts, c in ev.get("control", []))
    spans = "".join(
        f"<tr><td>{f.seat_id}</td><td>{html.escape(f.fault)}</td><td>{html.escape(f.text)}</td>"
        f"<td>{(f.start_us - t0) / 1e6:.1f} s</td><td>"
        + ("" if f.end_us is None else f"{(f.end_us - t0) / 1e6:.1f} s")
        + f"</td><td>{html.escape(f.ended)}</td></tr>" for f in fault_spans)
    health = "".join(f"<tr><td>{(ts - t0) / 1e6:.1f} s</td><td>{html.escape(json.dumps(h))}"
                     "</td></tr>" for ts, h in ev.get("health", []))
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>Session {html.escape(info['session'])}</title>
<style>body{{font:14px system-ui;margin:2em;max-width:1100px}} td,th{{padding:2px 8px;
text-align:left;vertical-align:top}} img{{display:block;margin:1em 0}}</style></head><body>
<h1>Session {html.escape(info['session'])}</h1>
<p>{html.escape(str(info.get('story', '')))}: started
{html.escape(str(info.get('started_utc', '?')))}, {'ended ' + html.escape(str(info['ended_utc']))
 if info.get('ended_utc') else '<b>not closed (the host stopped '
 'without closing it)</b>'}; {info['samples']} samples from {info['seats']} seats over
{info['span_s']} s.</p>{imgs}
<h2>Decisions</h2><table><tr><th>at</th><th>decision</th><th>chosen</th><th>audience</th>
<th>scores</th><th>reason</th><th>how</th><th>reward</th></tr>{decisions}</table>
<h2>Operator controls</h2><table><tr><th>at</th><th>control</th><th>value</th><th>by</th></tr>
{controls or '<tr><td>none</td></tr>'}</table>
<h2>Sensor faults</h2><table><tr><th>seat</th><th>fault</th><th>what</th><th>from</th>
<th>to</th><th>ended</th></tr>{spans or '<tr><td>none</td></tr>'}</table>
<h2>Health events</h2><table>{health or '<tr><td>none</td></tr>'}</table></body></html>"""
    out.mkdir(parents=True, exist_ok=True)
    dest = out / f"{info['session']}.html"
    dest.write_text(page)
    return dest
