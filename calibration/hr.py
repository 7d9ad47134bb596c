"""Heart-rate sensor validation: a sensor under test against a reference, judged by a rig profile.

1. Both recordings become heart-rate traces on a common 20 Hz grid: a beat's rate over the
   interval it measured, a device's own figure from when it came to the next (`_on_grid`).
2. Cross-correlation finds how late the sensor is (lag), refined below a grid step.
3. With the lag taken out, heart rate averaged over short windows gives the pairs for
   mean absolute error, bias (% as the ratio of the window means: a scale, as the edge
   undoes it) and Bland-Altman limits of agreement (bias +/- 1.96 SD).
4. When both give beats, each reference beat is looked for in the sensor (beat agreement),
   and gaps in the sensor's stream count as dropouts.
The rig profile (TOML, `profiles/*.toml`) holds the limits; any limit broken fails the rig.
5. The correction stored from it: calibration/hr_correction.py.

The search reaches LAG_MAX_MS by default: a watch's or an armband's own figure is averaged
over several seconds (often 5-10 s) and sent a second or two after, so it lags the heart by
its average's centre, delay + window / 2 + half an interval, and half its report spacing
more as shown: 4.5-8 s for those, up to 12 s leaves room for a 15-s average sent 3 s late
(sim/hr_watch.py; bench/hr_lag_range.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from empathy.config import ConfigError, from_toml
from empathy.edge.profile import LAG_MAX_MS

from .recording import HeartTrace
from .report import Check, Result

GRID_HZ = 20.0
# an interval that steps by over this from the one before is irregular (hr_correction.py)
STEP = 0.2
PROFILES = Path(__file__).resolve().parent / "profiles"
MIN_OVERLAP_S = 10.0  # the lag search compares at least this much of both


@dataclass
class HrLimits:
    max_abs_bias_bpm: float = 1.0
    max_mae_bpm: float = 2.0
    max_loa_bpm: float = 5.0          # half-width of the limits of agreement (1.96 SD)
    max_abs_lag_ms: float = 100.0
    min_beat_agreement_pct: float = 95.0
    max_dropout_pct: float = 2.0

    def validate(self):
        for k, v in vars(self).items():
            if not v >= 0:
                raise ValueError(f"{k} must be >= 0, got {v}")
        if self.min_beat_agreement_pct > 100:
            raise ValueError("min_beat_agreement_pct cannot exceed 100")


@dataclass
class RigProfile:
    name: str = "unnamed rig"
    window_s: float = 5.0           # heart rate is compared as means over windows this long
    max_search_lag_s: float = LAG_MAX_MS / 1000  # how far apart the recordings may be in time
    beat_tolerance_ms: float = 60.0  # a sensor beat this close to a reference beat matches it
    # A PPG pulse reaches the finger or ear this long after the heart's electrical beat
    # (pulse arrival time): lag in this range is physiology, not the sensor, when the
    # device is PPG and the reference sees the electrical beat (ECG, a strap's RR).
    pulse_arrival_ms: list[float] = field(default_factory=lambda: [0.0, 0.0])
    limits: HrLimits = field(default_factory=HrLimits)

    def validate(self):
        lo_hi = self.pulse_arrival_ms
        if len(lo_hi) != 2 or not 0 <= lo_hi[0] <= lo_hi[1] <= 1000:
            raise ValueError(f"pulse_arrival_ms {lo_hi} must be [low, high] within 0..1000")
        if not 1.0 <= self.window_s <= 60.0:
            raise ValueError(f"window_s {self.window_s} must be within 1..60")
        if not 0.1 <= self.max_search_lag_s <= 30.0:
            raise ValueError(f"max_search_lag_s {self.max_search_lag_s} must be within 0.1..30")
        if not 5.0 <= self.beat_tolerance_ms <= 300.0:
            raise ValueError(f"beat_tolerance_ms {self.beat_tolerance_ms} must be within 5..300")


def load_profile(spec: str) -> RigProfile:
    """A profile by name (`profiles/NAME.toml`) or by path."""
    path = Path(spec)
    if not path.suffix and not path.exists():
        path = PROFILES / f"{spec}.toml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in PROFILES.glob("*.toml")))
            raise ConfigError(f"no rig profile {spec!r} (shipped: {known}; or a TOML path)")
    return from_toml(RigProfile, path)


def _on_grid(trace: HeartTrace, grid: np.ndarray, shift_s: float = 0.0) -> np.ndarray:
    """Heart rate at each grid time, NaN in gaps. A device's own figure is held from when it
    came to the next (how a display shows it). A beat's rate is held over the interval it
    measured, the one its beat ended: held on over the next instead, an irregular rhythm's
    time mean is wrong (bigeminy's short interval's high rate held over the long one and
    vice versa read MIT-BIH 106 about 25 % fast), and over its own it is beats over time."""
    t = trace.t_s - shift_s
    if trace.beat_s is None:
        idx = np.searchsorted(t, grid, side="right") - 1  # the value last come
        age = grid - t[np.clip(idx, 0, None)]
        stale = idx < 0
    else:
        idx = np.searchsorted(t, grid, side="left")  # the interval that ends next
        age = t[np.clip(idx, None, len(t) - 1)] - grid
        # within an interval left out (a pause or beats lost) is a gap, not the next's rate
        ends = np.searchsorted(trace.beat_s - shift_s, grid, side="left")
        left_out = ~np.isin(trace.beat_s, trace.t_s)
        stale = (idx >= len(t)) | ((ends < len(left_out))
                                   & left_out[np.clip(ends, None, len(left_out) - 1)])
    idx = np.clip(idx, 0, len(t) - 1)
    out = trace.hr_bpm[idx].astype(float)
    out[stale | (age > _gap_limit(trace))] = np.nan
    return out


def irregular_pct(trace: HeartTrace, lo: float, hi: float) -> float | None:
    """Share (%) of the beats within lo..hi that end an interval over STEP longer or shorter
    than the one before, or one no heart makes (left out of the trace); None without beats."""
    if trace.beat_s is None:
        return None
    beats = int(((trace.beat_s >= lo) & (trace.beat_s <= hi)).sum())
    rr = 60.0 / trace.hr_bpm[(trace.t_s >= lo) & (trace.t_s <= hi)]
    steps = int((np.abs(np.diff(rr)) > STEP * rr[:-1]).sum())
    return 100.0 * (steps + max(beats - len(rr), 0)) / max(beats, 1)


def _gap_limit(trace: HeartTrace) -> float:
    """A value older than this means the sensor has stopped reporting (a dropout)."""
    step = float(np.median(np.diff(trace.t_s))) if len(trace.t_s) > 2 else 1.0
    return max(2.0, 2.5 * step)


def hr_lag(ref: HeartTrace, dev: HeartTrace,
           max_lag_s: float) -> tuple[float, np.ndarray, np.ndarray]:
    """How late `dev` is behind `ref` (s), by normalised cross-correlation of heart rate.
    Also returns the lags tried and their correlation, for the report."""
    lo = max(ref.t_s[0], dev.t_s[0]) + max_lag_s
    hi = min(ref.t_s[-1], dev.t_s[-1]) - max_lag_s
    if hi - lo < MIN_OVERLAP_S:
        raise ValueError(f"the recordings overlap by less than {MIN_OVERLAP_S:g} s (after "
                         f"the lag search of ±{max_lag_s:g} s)")
    grid = np.arange(lo, hi, 1 / GRID_HZ)
    r = _on_grid(ref, grid)
    n = int(round(max_lag_s * GRID_HZ))
    lags = np.arange(-n, n + 1)
    corr = np.full(len(lags), np.nan)
    for i, k in enumerate(lags):
        d = _on_grid(dev, grid + k / GRID_HZ)
        ok = np.isfinite(r) & np.isfinite(d)
        if ok.sum() > 0.5 * len(grid) and np.std(r[ok]) > 0 and np.std(d[ok]) > 0:
            corr[i] = np.corrcoef(r[ok], d[ok])[0, 1]
    if not np.isfinite(corr).any():
        raise ValueError("heart rate does not vary in one of the recordings: cannot align them")
    # a rate that repeats exactly matches as well a period away: the match nearest 0
    tied = np.flatnonzero(corr >= np.nanmax(corr) - 1e-9)
    best = int(tied[np.argmin(np.abs(lags[tied]))])
    frac = 0.0
    if 0 < best < len(lags) - 1 and np.isfinite(corr[best - 1:best + 2]).all():
        a, b, c = corr[best - 1:best + 2]  # parabola through the peak and its neighbours
        den = a - 2 * b + c
        frac = 0.5 * (a - c) / den if den < 0 else 0.0
    return (lags[best] + frac) / GRID_HZ, lags / GRID_HZ, corr


def _cut(trace: HeartTrace, lo: float, hi: float) -> HeartTrace:
    """The trace within lo..hi, its beats kept: a half's rates cover the intervals they
    measured, as the whole's do (without them each was held over the next, its lag found an
    interval early)."""
    keep = (trace.t_s >= lo) & (trace.t_s < hi)
    beats = None if trace.beat_s is None else \
        trace.beat_s[(trace.beat_s >= lo) & (trace.beat_s < hi)]
    return HeartTrace(trace.name, trace.t_s[keep], trace.hr_bpm[keep], beat_s=beats,
                      kind=trace.kind)


def lag_halves(ref: HeartTrace, dev: HeartTrace, max_lag_s: float) -> list[float] | None:
    """The lag found in each half of the recordings' overlap on its own; None where a half
    is too short to search (`hr_lag`)."""
    a, b = max(ref.t_s[0], dev.t_s[0]), min(ref.t_s[-1], dev.t_s[-1])
    out = []
    for lo, hi in ((a, (a + b) / 2), ((a + b) / 2, b)):
        try:
            out.append(hr_lag(_cut(ref, lo, hi), _cut(dev, lo, hi), max_lag_s)[0])
        except ValueError:
            return None
    return out


def beat_agreement(ref_beats: np.ndarray, dev_beats: np.ndarray, tol_s: float) -> dict:
    """Share of reference beats the sensor also saw (within tol_s), and its extra beats."""
    j = np.clip(np.searchsorted(dev_beats, ref_beats), 1, len(dev_beats) - 1)
    nearest = np.minimum(np.abs(dev_beats[j] - ref_beats), np.abs(dev_beats[j - 1] - ref_beats))
    matched = int((nearest <= tol_s).sum())
    inside = dev_beats[(dev_beats >= ref_beats[0] - tol_s) & (dev_beats <= ref_beats[-1] + tol_s)]
    return {"ref_beats": len(ref_beats), "matched_beats": matched,
            "beat_agreement_pct": 100.0 * matched / len(ref_beats),
            "extra_beats": int(max(0, len(inside) - matched)),
            "beat_timing_sd_ms": float(np.std(nearest[nearest <= tol_s]) * 1000) if matched else
            float("nan")}


def _silent(ref: HeartTrace, dev: HeartTrace) -> str:
    """Which recording started late or went silent, and when (a strap out of range, a board
    unplugged mid-run); where neither did, the run was short."""
    t0, t1 = min(ref.t_s[0], dev.t_s[0]), max(ref.t_s[-1], dev.t_s[-1])
    said = []
    for tr in (ref, dev):
        if tr.t_s[0] - t0 > _gap_limit(tr):
            said.append(f"{tr.name} began {tr.t_s[0] - t0:.0f} s into the {t1 - t0:.0f}-s "
                        "recording")
        if t1 - tr.t_s[-1] > _gap_limit(tr):
            said.append(f"{tr.name} went silent {tr.t_s[-1] - t0:.0f} s into the "
                        f"{t1 - t0:.0f}-s recording")
    if said:
        return ": " + "; ".join(said) + " (its contact, link, battery?)"
    return " (record longer: --duration)"


def hr_validate(ref: HeartTrace, dev: HeartTrace, profile: RigProfile) -> Result:
    """Compare `dev` (sensor under test) with `ref`; the Result carries figures and checks."""
    lim = profile.limits
    res = Result("hr", f"Heart-rate validation: {dev.name} against {ref.name} ({profile.name})")
    # a short record searches only as far as leaves MIN_OVERLAP_S to compare (a tester's
    # half-minute check: the full ±LAG_MAX_MS search needs 34 s)
    overlap_s = min(ref.t_s[-1], dev.t_s[-1]) - max(ref.t_s[0], dev.t_s[0])
    search_s = min(profile.max_search_lag_s, max((overlap_s - MIN_OVERLAP_S) / 2, 0.1))
    if overlap_s < MIN_OVERLAP_S + 0.2:  # (hr_lag's least search, 0.1 s each way)
        raise ValueError(f"the recordings overlap by {max(overlap_s, 0):.0f} s; need "
                         f"{MIN_OVERLAP_S:g}{_silent(ref, dev)}")
    if search_s < profile.max_search_lag_s:
        res.notes.append(f"a {overlap_s:.0f}-s record: lags searched within ±{search_s:.1f} s, "
                         f"not ±{profile.max_search_lag_s:g} s (record longer to search further)")
    lag_s, lags, corr = hr_lag(ref, dev, search_s)
    lo = max(ref.t_s[0], dev.t_s[0] - lag_s)
    hi = min(ref.t_s[-1], dev.t_s[-1] - lag_s)
    grid = np.arange(lo, hi, 1 / GRID_HZ)
    r, d = _on_grid(ref, grid), _on_grid(dev, grid, lag_s)
    per = int(profile.window_s * GRID_HZ)
    nwin = len(grid) // per
    rw = r[: nwin * per].reshape(nwin, per)
    dw = d[: nwin * per].reshape(nwin, per)
    full = np.isfinite(rw).all(axis=1) & np.isfinite(dw).all(axis=1)  # windows without a gap
    if full.sum() < 5:
        raise ValueError(f"only {int(full.sum())} {profile.window_s:g}-s windows with both "
                         f"sensors reporting; need 5{_silent(ref, dev)}")
    rm, dm = rw[full].mean(axis=1), dw[full].mean(axis=1)
    diff = dm - rm
    bias, sd = float(diff.mean()), float(diff.std(ddof=1))
    dropout_pct = 100.0 * float(np.mean(np.isnan(d[np.isfinite(r)])))
    lo_ms, hi_ms = (profile.pulse_arrival_ms if dev.kind == "ppg" and ref.kind in ("ecg", "rr")
                    else (0.0, 0.0))
    excess_ms = lag_s * 1000 - min(max(lag_s * 1000, lo_ms), hi_ms)
    halves = lag_halves(ref, dev, search_s)
    res.figures.update({
        "duration_s": round(float(hi - lo), 1),
        "lag_halves_ms": halves and [round(float(h) * 1000, 1) for h in halves],
        "lag_ms": round(lag_s * 1000, 1),
        "lag_search_ms": round(search_s * 1000, 1),  # a lag this far is not found
        "lag_correlation": round(float(np.nanmax(corr)), 3),
        "windows": int(full.sum()),
        "ref_mean_bpm": round(float(rm.mean()), 2),
        "mae_bpm": round(float(np.abs(diff).mean()), 3),
        "bias_bpm": round(bias, 3),
        "bias_pct": round(float(dm.mean() / rm.mean() - 1) * 100, 2),
        "loa_low_bpm": round(bias - 1.96 * sd, 3),
        "loa_high_bpm": round(bias + 1.96 * sd, 3),
        "pearson_r": round(float(np.corrcoef(rm, dm)[0, 1]), 4),
        "dropout_pct": round(dropout_pct, 2),
    })
    irregular = irregular_pct(ref, lo, hi)
    if irregular is not None:
        res.figures["ref_irregular_pct"] = round(irregular, 1)
    # a BLE strap's beats, stamped on arrival, are 0-1 s late (a plain strap against a board:
    # 7 of 47 beats matched, its delay read as the board's lag): its rate alone is compared
    untimed = ref.untimed or dev.untimed
    if hi_ms and not untimed:
        res.figures["pulse_arrival_allowed_ms"] = [lo_ms, hi_ms]
        res.figures["lag_beyond_pulse_arrival_ms"] = round(excess_ms, 1)
        res.notes.append(f"PPG against the electrical beat: {lo_ms:g}-{hi_ms:g} ms of lag is "
                         "pulse arrival (physiology); only lag beyond it is judged")
    res.checks += [
        Check("|bias|", abs(bias), lim.max_abs_bias_bpm, "bpm",
              hint=f"the sensor reads {'high' if bias > 0 else 'low'}"),
        Check("mean absolute error", float(np.abs(diff).mean()), lim.max_mae_bpm, "bpm"),
        Check("limits of agreement (half-width)", 1.96 * sd, lim.max_loa_bpm, "bpm"),
        Check("dropouts", dropout_pct, lim.max_dropout_pct, "%", hint="check contact and link"),
    ]
    if untimed:
        res.figures["lag_judged"] = False
        res.notes.append(untimed)
    else:
        res.checks.insert(3, Check("|lag|", abs(excess_ms), lim.max_abs_lag_ms, "ms",
                                   hint="the sensor's values arrive late" if lag_s > 0
                                   else "the reference is late"))
    if ref.beat_s is not None and dev.beat_s is not None and not untimed:
        inside = (ref.beat_s >= lo) & (ref.beat_s <= hi)
        beats = beat_agreement(ref.beat_s[inside], dev.beat_s - lag_s,
                               profile.beat_tolerance_ms / 1000)
        res.figures.update({k: round(v, 2) if isinstance(v, float) else v
                            for k, v in beats.items()})
        res.checks.append(Check("beat agreement", beats["beat_agreement_pct"],
                                lim.min_beat_agreement_pct, "%", kind="min",
                                hint="the sensor misses beats"))
    elif not untimed:
        res.notes.append("beat agreement not checked: one of the recordings gives no beats")
    res.plot = lambda: _plots(ref, dev, lag_s, lags, corr, rm, dm, bias, sd)
    return res


def _plots(ref, dev, lag_s, lags, corr, rm, dm, bias, sd) -> dict:
    from empathy.plots import pyplot

    plt = pyplot()

    plots = {}
    fig, ax = plt.subplots(figsize=(7, 5))
    mean = (rm + dm) / 2
    ax.scatter(mean, dm - rm, s=14, color="#4e79a7")
    for y, label, ls in ((bias, f"bias {bias:+.2f}", "-"),
                         (bias + 1.96 * sd, f"+1.96 SD {bias + 1.96 * sd:+.2f}", "--"),
                         (bias - 1.96 * sd, f"-1.96 SD {bias - 1.96 * sd:+.2f}", "--")):
        ax.axhline(y, color="#c62828", ls=ls, lw=1)
        ax.text(mean.max(), y, f" {label}", va="bottom", ha="right", fontsize=8)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("mean of sensor and reference (bpm)")
    ax.set_ylabel("sensor - reference (bpm)")
    plots["Bland-Altman plot (window means, lag removed)"] = fig

    fig, (a1, a2) = plt.subplots(2, 1, figsize=(10, 6))
    t0 = ref.t_s[0]
    a1.plot(ref.t_s - t0, ref.hr_bpm, lw=1, color="k", label=f"reference {ref.name}")
    a1.plot(dev.t_s - lag_s - t0, dev.hr_bpm, lw=1, color="#4e79a7",
            label=f"sensor {dev.name}, shifted by {-lag_s * 1000:+.0f} ms")
    mid = (ref.t_s[0] + ref.t_s[-1]) / 2 - t0  # a close-up, where a lag is visible
    for trace, shift, colour, label in ((ref, 0.0, "k", "reference"),
                                        (dev, 0.0, "#f28e2b", "sensor as recorded"),
                                        (dev, lag_s, "#4e79a7", "sensor aligned")):
        a2.step(trace.t_s - shift - t0, trace.hr_bpm, where="post", color=colour, lw=1.2,
                label=label)
    a2.set_xlim(mid, mid + 8)
    near = np.concatenate([t.hr_bpm[(t.t_s - t0 > mid - 2) & (t.t_s - t0 < mid + 10)]
                           for t in (ref, dev)])
    if len(near):
        a2.set_ylim(near.min() - 2, near.max() + 2)
    a1.set_xlabel("seconds")
    a2.set_xlabel("seconds (8 s close-up)")
    for a in (a1, a2):
        a.set_ylabel("heart rate (bpm)")
        a.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    plots["Heart rate traces, before and after alignment"] = fig

    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(lags * 1000, corr, color="#4e79a7")
    ax.axvline(lag_s * 1000, color="#c62828", lw=1)
    ax.set_xlabel("sensor lag (ms)")
    ax.set_ylabel("correlation")
    plots[f"Cross-correlation: lag {lag_s * 1000:.0f} ms"] = fig
    return plots
