"""How well the audience estimate follows a hidden truth, with honest uncertainty.

Both series are smooth (lag-1 autocorrelation near 1 at 2 Hz), so their samples are far
from independent and a plain Pearson r with n = samples overstates how much is known:

* effective sample size of a correlation between two autocorrelated series (Bartlett
  1935; Bayley & Hammersley 1946; in the form of Pyper & Peterman 1998, Can. J. Fish.
  Aquat. Sci. 55:2127):  1/n_eff = 1/n + (2/n) * sum_k (n - k)/n * rho_x(k) * rho_y(k),
  summed over lags k = 1 .. n/5;
* a 95 % interval for r from the moving-block bootstrap over time (Künsch 1989): pairs
  are resampled in blocks of consecutive samples, each block as long as the samples one
  independent sample is worth (n / n_eff, at least 2 s), circularly, B = 2000 times; the
  2.5 and 97.5 percentiles of r;
* the correlation of 1-s changes: whether the estimate moves when the truth moves, not
  only that both drift the same way over the film.

The same is done per sensing channel (each alone) and for ablations (all but one), from
the channel logs the demo's edge units write (`edge.channel_log.ChannelLog`), so the report
says what each channel contributes. Nothing here knows how the truth was made.

The edge declares its estimate's latency (`estimate_latency_s` in each unit's stats: the
fused arousal refers to the body that long ago, each signal aligned on it by its
published response time and filter delay). The estimate at t is judged against the
truth at t - latency; `r_lag0` (against the truth at t) is given beside it.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from empathy.host.audience import trimmed_mean

log = logging.getLogger("empathy.host")
BOOTSTRAP = 2000
TRUTH_LIMIT = 3.0  # |hidden arousal| a readable truth row may have
CHANNELS = ("heart", "pupil", "face")
CHANGE_S = 1.0


def autocorr(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation at lags 1..max_lag."""
    x = np.asarray(x, float) - np.mean(x)
    den = float(np.dot(x, x))
    if den == 0:
        return np.zeros(max_lag)
    return np.array([np.dot(x[:-k], x[k:]) / den for k in range(1, max_lag + 1)])


def effective_n(x, y) -> float:
    """Effective number of independent pairs behind corr(x, y) (see the module doc)."""
    n = len(x)
    k = max(1, n // 5)
    lags = np.arange(1, k + 1)
    s = float(np.sum((n - lags) / n * autocorr(x, k) * autocorr(y, k)))
    return float(min(n, max(2.0, n / (1 + 2 * s))))


def pearson(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def block_bootstrap_ci(x, y, block: int, b: int = BOOTSTRAP, seed: int = 0) -> list[float]:
    """95 % interval of Pearson r by the circular moving-block bootstrap."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    rng = np.random.default_rng(seed)
    blocks = int(np.ceil(n / block))
    starts = rng.integers(0, n, (b, blocks))
    idx = ((starts[:, :, None] + np.arange(block)) % n).reshape(b, -1)[:, :n]
    xs, ys = x[idx], y[idx]
    xs = xs - xs.mean(axis=1, keepdims=True)
    ys = ys - ys.mean(axis=1, keepdims=True)
    den = np.sqrt((xs * xs).sum(axis=1) * (ys * ys).sum(axis=1))
    r = np.where(den > 0, (xs * ys).sum(axis=1) / np.where(den > 0, den, 1), np.nan)
    r = r[np.isfinite(r)]
    if len(r) < b // 2:
        return [float("nan"), float("nan")]
    return [float(v) for v in np.percentile(r, [2.5, 97.5])]


def agreement(est, truth, rate_hz: float) -> dict:
    """r, its 95 % CI, effective n, and the same r for 1-s changes."""
    est, truth = np.asarray(est, float), np.asarray(truth, float)
    ok = np.isfinite(est) & np.isfinite(truth)
    est, truth = est[ok], truth[ok]
    n = len(est)
    r = pearson(est, truth)
    if n < 10 or not np.isfinite(r):
        return {"r": None, "ci95": None, "effective_n": None, "n": n}
    n_eff = effective_n(est, truth)
    block = int(min(n // 2, max(round(2 * rate_hz), round(n / n_eff))))
    out = {"r": round(r, 3), "ci95": [round(v, 3) for v in block_bootstrap_ci(est, truth, block)],
           "effective_n": round(n_eff, 1), "n": n, "block_s": round(block / rate_hz, 1)}
    k = max(1, round(CHANGE_S * rate_hz))
    de, dt = est[k:] - est[:-k], truth[k:] - truth[:-k]
    rc = pearson(de, dt)
    if np.isfinite(rc):
        n_eff_c = effective_n(de, dt)
        bc = int(min(len(de) // 2, max(k, round(len(de) / n_eff_c))))
        out["r_changes_1s"] = round(rc, 3)
        out["ci95_changes_1s"] = [round(v, 3) for v in block_bootstrap_ci(de, dt, bc, seed=1)]
    return out


# -- the demo's run folder -----------------------------------------------------------------
def bounded(lo: float, hi: float) -> Callable[[str], float]:
    """A truth column's reader: a number within [lo, hi] (NaN is not), else ValueError."""
    def read(text: str) -> float:
        x = float(text)
        if not lo <= x <= hi:
            raise ValueError(text)
        return x
    return read


def _lines(f: Path) -> tuple[list[str], bool]:
    """A CSV file's lines as text whatever bytes they hold (NUL bytes where two writers
    met: each line is judged by its reader), and whether the last was cut (no line end: a
    kill mid-line). OSError where it cannot be read."""
    with open(f, encoding="utf-8", errors="replace", newline="") as fh:
        *lines, cut = fh.read().split("\n")  # `cut`: what follows the last line end
    return lines, bool(cut)


def _said(f: Path, bad: int, good: int, used: bool, why: str) -> None:
    """One line for a damaged file: its unreadable rows, and whether the rest is used."""
    if bad:
        log.warning("%s: %d of its %d rows unreadable (damaged: %s): %s", f, bad, bad + good,
                    why, "the rest used" if used else "not used")


def _rows(f: Path, parse: dict[str, Callable[[str], float]]) -> tuple[list[tuple], int]:
    """The columns `parse` names (ts_us first), each read by its reader, and how many lines
    were unreadable: NUL bytes where two writers met (one truncating under the other), a
    line cut short by a kill (no line end, too few fields), a value a reader refuses, a
    time not after the last row's. No header naming them all: every line unreadable."""
    lines, cut = _lines(f)
    head = lines[0].split(",") if lines else []
    if not set(parse) <= set(head):
        return [], len(lines) + cut
    at, rows, bad = [(head.index(k), read) for k, read in parse.items()], [], int(cut)
    for line in lines[1:]:
        fields = line.split(",")
        try:
            if len(fields) != len(head):
                raise ValueError
            row = tuple(read(fields[i]) for i, read in at)
            if row[0] <= (rows[-1][0] if rows else 0):
                raise ValueError
        except ValueError:
            bad += 1
            continue
        rows.append(row)
    return rows, bad


def truth_rows(f: Path, parse: dict[str, Callable[[str], float]],
               min_rows: int = 1) -> list[tuple]:
    """A simulated seat's truth file (sim/seat.py), the columns `parse` names: its readable
    rows, if at least `min_rows`. A damaged file's unreadable rows are left out and said,
    one line a file."""
    try:
        rows, bad = _rows(f, parse)
    except OSError as e:
        log.warning("%s: cannot be read (%s): not used", f, e.strerror or e)
        return []
    used = len(rows) >= min_rows
    _said(f, bad, len(rows), used, "two writers, or a kill mid-line")
    return rows if used else []


def read_truth(edge_dir: Path) -> list[np.ndarray]:
    """Each simulated seat's hidden arousal, (ts_us, arousal) rows (a seat with under two
    readable rows left out). Its scale is the simulator's (-1..1.5, docs/simulation.md):
    TRUTH_LIMIT, wider, catches garbage without judging."""
    parse = {"ts_us": int, "arousal": bounded(-TRUTH_LIMIT, TRUTH_LIMIT)}
    rows = [truth_rows(f, parse, 2) for f in sorted(Path(edge_dir).glob("truth_seat*.csv"))]
    return [np.array(r, dtype=float) for r in rows if r]


def read_channels(edge_dir: Path) -> list[dict[str, np.ndarray]]:
    """Each seat's channel log: column -> values (NaN where a channel had no signal). A
    damaged file's unreadable rows (a unit killed mid-line, NUL bytes) are left out and
    said, one line a file."""
    out = []
    for f in sorted(Path(edge_dir).glob("unit*.channels.csv")):
        try:
            lines, cut = _lines(f)
        except OSError as e:
            log.warning("%s: cannot be read (%s): not used", f, e.strerror or e)
            continue
        head = lines[0].split(",") if lines else []
        seat_at = head.index("seat_id") if "seat_id" in head else None
        seats, bad = {}, int(cut)
        for line in lines[1:] if seat_at is not None else lines:
            fields = line.split(",")
            try:
                if seat_at is None or len(fields) != len(head):
                    raise ValueError
                row = [float(v) if v != "" else np.nan for v in fields]
            except ValueError:
                bad += 1
                continue
            seats.setdefault(fields[seat_at], []).append(row)
        _said(f, bad, sum(map(len, seats.values())), bool(seats), "a unit killed mid-line")
        for seat in sorted(seats):
            if len(seats[seat]) > 1:
                cols = np.array(seats[seat]).T
                out.append({k: cols[i] for i, k in enumerate(head) if i != seat_at})
    return out


def declared_latency_s(edge_dir: Path) -> float:
    """The estimate's latency the edge units declare (their stats); 0 when none does.
    Units that disagree (mixed software) are judged at the largest."""
    lat = []
    for f in sorted(Path(edge_dir).glob("unit*.stats.json")):
        try:
            v = json.loads(f.read_text()).get("estimate_latency_s")
        except (OSError, ValueError):
            continue
        if isinstance(v, (int, float)) and 0 <= v <= 60:
            lat.append(float(v))
    return max(lat, default=0.0)


def truth_on(grid_us: np.ndarray, truths: list[np.ndarray]) -> np.ndarray:
    """The seats' mean hidden arousal at each grid time (inside each seat's recording)."""
    cols = [np.where((grid_us >= t[0, 0]) & (grid_us <= t[-1, 0]),
                     np.interp(grid_us, t[:, 0], t[:, 1]), np.nan) for t in truths]
    if not cols:
        return np.full(len(grid_us), np.nan)
    with warnings.catch_warnings():  # a time before every seat's recording: NaN, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(cols, axis=0)


def channel_on(grid_us: np.ndarray, logs: list[dict], key: str) -> np.ndarray:
    """The audience's value of one channel column at each grid time: each seat's latest
    value (within 1 s, where it had signal), trimmed mean over seats, as the host fuses."""
    per_seat = []
    for log in logs:
        t, v = log["ts_us"], log[key]
        i = np.searchsorted(t, grid_us, side="right") - 1
        ok = (i >= 0) & (grid_us - t[np.clip(i, 0, None)] <= 1e6)
        per_seat.append(np.where(ok, v[np.clip(i, 0, None)], np.nan))
    out = np.full(len(grid_us), np.nan)
    if per_seat:
        m = np.array(per_seat)
        for j in range(m.shape[1]):
            col = m[:, j][np.isfinite(m[:, j])]
            if len(col):
                out[j] = trimmed_mean(col)
    return out


def estimate_vs_truth(timeline: list[dict], t0_us: int, edge_dir: Path,
                      rate_hz: float = 2.0, latency_s: Optional[float] = None
                      ) -> Optional[dict]:
    """The summary's `estimate_vs_truth` (None without a truth to compare with), plus the
    series for the report's plots under `series` (not for summary.json). The estimate at
    t is judged against the truth at t - `latency_s` (default: what the edge declares)."""
    truths = read_truth(edge_dir)
    est = np.array([(s["ts_us"], s["arousal"]) for s in timeline
                    if s["seats_good"] > 0 and s["ts_us"] >= t0_us])
    if not truths or len(est) < 10:
        return None
    lat = declared_latency_s(edge_dir) if latency_s is None else latency_s
    grid = est[:, 0]
    truth = truth_on(grid - lat * 1e6, truths)
    out = agreement(est[:, 1], truth, rate_hz)
    out["latency_s"] = round(lat, 2)
    out["r_lag0"] = agreement(est[:, 1], truth_on(grid, truths), rate_hz)["r"]
    logs = read_channels(edge_dir)
    series = {"t_s": (grid - t0_us) / 1e6, "estimate": est[:, 1], "truth": truth}
    out["channels"], out["ablations"] = {}, {}
    for c in CHANNELS:
        for key, table in ((c, out["channels"]), (f"no_{c}", out["ablations"])):
            v = channel_on(grid, logs, key) if logs else np.full(len(grid), np.nan)
            series[key] = v
            a = agreement(v, truth, rate_hz)
            a["coverage"] = round(float(np.mean(np.isfinite(v))), 3)
            table[c if key == c else f"without_{c}"] = a
    out["series"] = series
    return out
