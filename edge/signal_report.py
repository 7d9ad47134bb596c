"""`empathy signal hr|hrv|pupil FILE --report PATH.html`: the figures `--json` prints, as a page
a tester can review and file (calibration/report.py's page: plots inline, PATH.json beside it).

The page's figures ARE the `--json` object (one computation, two renderings); the plots only
add what a person needs to see: the waveform with each beat's label, HR over time, the RR
tachogram, the pupil before and after cleaning. Every line is cut to MAX_POINTS (a min/max
envelope, so spikes stay visible) and every plot is a fixed-size PNG, so an hour at 1 kHz
makes a page of the same size as a minute.
"""

from __future__ import annotations

import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from empathy.calibration.report import Result, write
from empathy.edge.hrv import CORRECTED, LOST_GAP_S, SQI_MIN

MAX_POINTS = 4000  # per line of a plot
ZOOM_S = 10.0
CROWDED = 400  # more beats than this in a plot: the normal ones would hide the rest
# each beat's label: colour, marker (a beat with several labels shows the first that fits)
LABELS = {"ectopic": ("#c62828", "^"), "artefact corrected": ("#ef6c00", "s"),
          "moving (accelerometer)": ("#1565c0", "D"), "low shape quality": ("#6a1b9a", "x"),
          "normal": ("#2e7d32", "o")}
LOST = "#9e9e9e"
RR_ARTEFACTS = {"ectopic": ("#c62828", "^"), "extra": ("#ef6c00", "s"),
                "missed": ("#00838f", "D"), "longshort": ("#5d4037", "v"),
                "misplaced": ("#6a1b9a", "x")}


class ReportPathError(ValueError):
    pass


def check_path(path: str) -> Path:
    """Refuse a report path before the work, not after an hour's file has been read."""
    p = Path(path)
    if p.suffix.lower() != ".html":
        raise ReportPathError(f"--report {path}: give a file name ending in .html")
    d = p.parent
    while not d.exists() and d != d.parent:
        d = d.parent
    if not d.is_dir() or not os.access(d, os.W_OK):
        raise ReportPathError(f"--report {path}: {d} is not a folder that can be written")
    return p


def save(result: Result, path: Path) -> Path:
    """PATH.html and PATH.json (each written aside, then renamed)."""
    try:
        return write(result, path.parent, path.stem)[0]
    except OSError as e:
        raise ReportPathError(f"--report {path}: {e.strerror or e}") from None


@contextmanager
def stages(on: bool, total: int):
    """A rich progress bar on stderr (an hour at 1 kHz takes ~15 s to read): step(text)
    names the next stage. Off unless a report was asked for and stderr is a terminal."""
    if not (on and sys.stderr.isatty()):
        yield lambda text: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=total)
        started = []

        def step(text: str) -> None:
            bar.update(task, description=text, advance=1 if started else 0)
            started.append(text)

        yield step


def envelope(t, y, cap: int = MAX_POINTS):
    """At most `cap` points: each bucket's min and max, in time order."""
    t, y = np.asarray(t, float), np.asarray(y, float)
    if len(y) <= cap:
        return t, y
    size = -(-len(y) // (cap // 2))
    n = -(-len(y) // size)
    pad = n * size - len(y)
    yy = np.concatenate((y, np.full(pad, np.nan))).reshape(n, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a bucket lost entirely (pupil)
        lo, hi = np.nanmin(yy, axis=1), np.nanmax(yy, axis=1)
    tb = t[::size][:n]
    return np.repeat(tb, 2), np.column_stack((lo, hi)).ravel()


def _fig(rows: int = 1, height: float = 2.6):
    from empathy.plots import pyplot

    plt = pyplot()

    return plt.subplots(rows, 1, figsize=(11, height * rows), squeeze=False,
                        constrained_layout=True)


def beat_labels(s: dict, sqi, moving) -> np.ndarray:
    """One label per beat of `s["beats_s"]`, from the same artefacts/qualities as its counts."""
    n = len(s["beats_s"])
    out = np.full(n, "normal", dtype=object)
    out[np.asarray(sqi[:n]) < SQI_MIN] = "low shape quality"
    if moving is not None:
        out[np.asarray(moving[:n], bool)] = "moving (accelerometer)"
    for i, kind in s["artefacts"]:  # raw interval i ends at beat i + 1
        if i + 1 < n:
            out[i + 1] = "ectopic" if kind == "ectopic" else \
                "artefact corrected" if kind in CORRECTED else out[i + 1]
    return out


def _lost_spans(beats, duration: float) -> list[tuple[float, float]]:
    edges = np.concatenate(([0.0], beats, [duration]))
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b - a >= LOST_GAP_S]


def _wave(ax, x, fs, beats, labels, spans, t0: float, t1: float, title: str,
          legend: bool = False) -> None:
    i0, i1 = int(t0 * fs), min(len(x), int(np.ceil(t1 * fs)) + 1)
    ax.plot(*envelope(np.arange(i0, i1) / fs, x[i0:i1]), color="#444", lw=0.6)
    inside = (beats >= t0) & (beats <= t1)
    crowded = int(np.sum(inside)) > CROWDED
    if crowded:
        title += " (normal beats marked in the zooms only)"
    at = np.clip(np.round(beats * fs).astype(int), 0, len(x) - 1)
    for name, (colour, marker) in LABELS.items():
        m = inside & (labels == name) & (not crowded or name != "normal")
        ax.scatter(beats[m], x[at[m]], s=14, color=colour, marker=marker, zorder=3,
                   label=f"{name} ({int(np.sum(labels == name))})")
    for k, (a, b) in enumerate(sp for sp in spans if sp[1] > t0 and sp[0] < t1):
        ax.axvspan(max(a, t0), min(b, t1), color=LOST, alpha=0.3,
                   label=None if k else "lost contact (no beat for 3 s)")
    ax.set_xlim(t0, t1)
    ax.set(title=title, xlabel="time (s)")
    if legend:  # one legend, beside the plot: it must not hide the peaks
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7,
                  title="beats (whole recording)", title_fontsize=7)


def hr_result(path: str, kind: str, s: dict, x, sqi, moving) -> Result:
    fs = s["fs_hz"]
    dur = len(x) / fs
    res = Result("signal-hr", f"Heart rate: {Path(path).name} ({kind}, {fs:.4g} Hz, "
                 f"{dur:.1f} s)", figures=s)
    if not s["heartbeat"]:
        res.errors.append(f"no heartbeat found ({len(s['beats_s'])} pulse-like events, "
                          f"{s['lost_contact_s']:.0f} s without any): the exit status is 3")
    beats = np.asarray(s["beats_s"], float)
    labels = beat_labels(s, sqi, moving)
    issues = [w["issue"] for w in s["windows"]]
    counts = {"ectopic beats": s["ectopic"], "artefacts corrected": s["artefacts_corrected"],
              "low shape quality beats": s["low_quality_beats"],
              "lost contact (s)": s["lost_contact_s"],
              f"windows of {ZOOM_S:.0f} s: lost contact": issues.count("lost contact"),
              f"windows of {ZOOM_S:.0f} s: low shape quality": issues.count("low shape quality")}
    if "motion" in s:
        counts["moving (s)"] = s["motion"]["moving_s"]
        counts["beats left out while moving"] = s["motion"]["beats_rejected_motion"]
    res.tables["Quality labels"] = [{"label": k, "count": v} for k, v in counts.items()]
    res.tables[f"Windows of {ZOOM_S:.0f} s"] = s["windows"]
    res.notes.append("Beat labels: a beat ending an ectopic or corrected interval is marked "
                     "as such; low shape quality: shape quality below "
                     f"{SQI_MIN}; grey: stretches of {LOST_GAP_S:.0f} s or more without a beat. "
                     "A beat with two labels shows the first in the legend's order, so the "
                     "legend's counts can be below the Quality labels table's.")

    def plots() -> dict:
        spans = _lost_spans(beats, dur)
        fig, ax = _fig(3)
        _wave(ax[0, 0], x, fs, beats, labels, spans, 0, dur, "whole recording", True)
        _wave(ax[1, 0], x, fs, beats, labels, spans, 0, min(ZOOM_S, dur), "first 10 s")
        worst = min(s["windows"], key=lambda w: w["quality"], default={"t0_s": 0, "quality": 0})
        w0 = worst["t0_s"]
        _wave(ax[2, 0], x, fs, beats, labels, spans, w0, min(w0 + ZOOM_S, dur),
              f"worst-quality window: {w0:.0f} s, quality {worst['quality']:.2f}")
        out = {"Waveform and beats": fig}
        fig, ax = _fig(2)
        if len(beats) > 1:
            hr = 60.0 / np.diff(beats)
            ax[0, 0].plot(*envelope(beats[1:], hr), ".", ms=2, color="#999",
                          label="beat to beat")
        wt = [w["t0_s"] + ZOOM_S / 2 for w in s["windows"]]
        ax[0, 0].plot(wt, [w["bpm"] for w in s["windows"]], "-o", ms=3, color="#c62828",
                      label=f"per {ZOOM_S:.0f} s window")
        ax[0, 0].set(ylabel="bpm", ylim=(30, 220), title=f"heart rate: {s['bpm']:.1f} bpm")
        ax[0, 0].legend(loc="upper right", fontsize=7)
        colour = {"": "#2e7d32", "lost contact": LOST, "low shape quality": "#6a1b9a"}
        ax[1, 0].bar(wt, [w["quality"] for w in s["windows"]], width=ZOOM_S * 0.9,
                     color=[colour[w["issue"]] for w in s["windows"]])
        ax[1, 0].set(ylabel="quality", xlabel="time (s)", ylim=(0, 1),
                     title="window quality (grey: lost contact, purple: low shape quality)")
        out["Heart rate over time"] = fig
        fig, ax = _fig(1)
        bars = ax[0, 0].barh(list(counts), list(counts.values()), color="#555")
        ax[0, 0].bar_label(bars, fontsize=8, padding=2)  # seconds and counts share the axis
        ax[0, 0].invert_yaxis()
        out["Quality labels"] = fig
        return out

    res.plot = plots
    return res


def hrv_result(path: str, kind: str, out: dict, beat_s, iv, heartbeat: bool) -> Result:
    res = Result("signal-hrv", f"HRV: {Path(path).name} ({kind})", figures=out, verdict=False)
    if not heartbeat:
        res.errors.append("no heartbeat found: these intervals are between noise events "
                          "(the exit status is 3)")
    res.tables["Time-domain HRV (normal intervals, after correction)"] = [
        {**{k: None if out[v] is None else round(out[v], 2) for k, v in  # None: withheld
            (("RMSSD (ms)", "rmssd_ms"), ("SDNN (ms)", "sdnn_ms"), ("pNN50 (%)", "pnn50"))},
         "mean RR (ms)": round(out["mean_rr_ms"], 1),
         "intervals": len(out["rr_ms"]), "normal": sum(out["normal"]),
         "ectopic": out["ectopic"], "artefacts corrected": out["artefacts_corrected"]}]
    beat_s = np.asarray(beat_s, float)
    raw_t, raw = beat_s[1:], np.diff(beat_s) * 1000.0

    def plots() -> dict:
        fig, ax = _fig(1, 3.6)
        a = ax[0, 0]
        a.plot(*envelope(raw_t, raw), color="#bbb", lw=0.8, label="raw")
        a.plot(*envelope(iv.t_s, iv.rr_ms), color="#1565c0", lw=0.8, label="corrected")
        bad = ~np.asarray(iv.normal, bool)
        a.scatter(iv.t_s[bad], iv.rr_ms[bad], s=8, facecolors="none", edgecolors="#555",
                  label="corrected, not normal (left out of HRV)")
        for t in sorted({f["type"] for f in out["artefacts"]}):
            i = np.array([f["index"] for f in out["artefacts"] if f["type"] == t])
            i = i[i < len(raw)]
            colour, marker = RR_ARTEFACTS.get(t, ("#000", "*"))
            a.scatter(raw_t[i], raw[i], s=24, marker=marker, color=colour, zorder=3,
                      label=f"{t} ({len(i)})")
        a.set(xlabel="time (s)", ylabel="RR (ms)", title="RR tachogram")
        a.legend(loc="upper right", fontsize=7, ncol=3)
        return {"RR tachogram: raw and corrected": fig}

    res.plot = plots
    return res


def pupil_result(path: str, out: dict, t, raw, clean, resid) -> Result:
    res = Result("signal-pupil", f"Pupil: {Path(path).name} ({len(t)} samples, "
                 f"{t[-1]:.1f} s)", figures=out, verdict=False)

    def plots() -> dict:
        fig, ax = _fig(2 if resid is not None else 1)
        a = ax[0, 0]
        a.plot(*envelope(t, np.where(raw > 0, raw, np.nan)), color="#bbb", lw=0.7, label="raw")
        a.plot(*envelope(t, clean.mm), color="#1565c0", lw=0.9, label="cleaned")
        tb, mb = envelope(t, clean.bridged.astype(float))
        a.fill_between(tb, 0, 1, where=mb > 0, color="#ef6c00", alpha=0.25, step="mid",
                       transform=a.get_xaxis_transform(),
                       label=f"bridged: {out['blinks']} blinks and outliers")
        a.set(ylabel="pupil (mm)", title="pupil: raw and cleaned")
        a.legend(loc="upper right", fontsize=7)
        if resid is not None:
            ax[1, 0].plot(*envelope(t, resid), color="#2e7d32", lw=0.8)
            ax[1, 0].set(ylabel="residual (mm)", title="less the light response "
                         f"(sd {out['residual_sd_mm']:.3f} mm)")
        ax[-1, 0].set_xlabel("time (s)")
        return {"Pupil": fig}

    res.plot = plots
    return res
