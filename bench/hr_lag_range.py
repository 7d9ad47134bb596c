"""`calibrate hr` on a watch that averages its own figure: the lag and bias it stores against
the truth, and a seat's HR error with that correction and without.
`python -m empathy.bench.hr_lag_range [--device watch|strap|ppg] [--windows 2,5,8,10,15]
[--delay 1] [--bias 1.04] [--span 300] [--records A,B] [--held-out] [--json]`

The heart: a corpus record's real RR series (its first `span` s, as `calibrate hr
--duration 300` records it), the reference its beats (a chest strap's intervals). The
device (sim/hr_watch.py, nothing of calibration/hr.py's), `bias` high: a watch's moving
average of `window` s sent `delay` s late, once a second in whole bpm; a strap's own HR
field; or a PPG seat's beats. Truth: its bias, and the lag of the watch's figure (the
centre of what it counted behind the figure shown) or the seat's pulse arrival. The
calibration: `hr_validate` and `correction` with the seat PPG rig, as `calibrate hr
--sensor-id` runs them. The seat, for a device's figure: a `SeatFeatures` reading the
figures (edge/device_hr.py) with the stored correction, with none (what a unit has where
none is stored), and with the bias alone (the lag's own part); its HR an estimate a second
from FROM_S against the true rate of the heart's beats over the seat's HR window at that
moment (bench/seat_hr.window_rate)."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from empathy.bench.seat_hr import window_rate
from empathy.calibration.hr import hr_validate, load_profile
from empathy.calibration.hr_correction import correction
from empathy.calibration.recording import HeartTrace, trace_from_beats
from empathy.cli import number_in, numbers_in
from empathy.edge.features import SeatFeatures
from empathy.edge.latency import HR_WINDOW_S
from empathy.edge.profile import HeartCorrection, SeatProfile
from empathy.sensors.base import HeartRate
from empathy.sim.hr_watch import (PULSE_ARRIVAL_S, ppg_beats, strap_figures, true_lag_s,
                                  watch_figures)
from empathy.wire import Flag

T0_US = 1_000_000_000
FROM_S = 20.0
TUNING = ("systole-rr", "pyhrv-nni-long", "mitdb-100", "mitdb-123", "mitdb-106")
DEVICES = ("watch", "strap", "ppg")  # its own averaged figure, a strap's HR field, beats


def record_rr(name: str, span_s: float) -> np.ndarray | None:
    """A corpus record's RR series (ms): every beat's, its first span_s; None where absent."""
    from empathy.edge.heart_corpus import annotated_beats, available, record, record_data
    rec = record(name)
    if not available(rec):
        return None
    x, fs = record_data(rec)
    beats = None if rec.kind == "rr" else annotated_beats(rec, len(x), fs)
    if rec.kind != "rr" and beats is None:
        return None
    rr = np.asarray(x, float) if rec.kind == "rr" else np.diff(beats) * 1e3
    return rr[np.cumsum(rr) <= span_s * 1e3]


def seat_error(t_s, figures, ends, fix: dict | None) -> tuple[float, float]:
    """(median signed, median absolute) error of a seat's HR_OK estimates, bpm."""
    heart = HeartCorrection(fix["bias_pct"], fix["lag_ms"]) if fix else HeartCorrection()
    f, err = SeatFeatures(baseline_s=10, profile=SeatProfile(heart=heart)), []
    for t, bpm in zip(t_s, figures):
        now = T0_US + int(t * 1e6)
        f.add(HeartRate(now, float(bpm), True))
        e = f.estimate(now + 1000)
        if t >= FROM_S and e["flags"] & Flag.HR_OK:
            err.append(e["hr_bpm"] - window_rate(ends, t, HR_WINDOW_S))
    err = np.array(err)
    return float(np.median(err)), float(np.median(np.abs(err)))


def device(rr: np.ndarray, kind: str, window_s: float, delay_s: float, bias: float):
    """(trace, figures' times and values or None, true lag s or None) of a `kind` device."""
    if kind == "ppg":
        t, iv = ppg_beats(rr, bias)
        return trace_from_beats("ppg seat", t, iv, kind="ppg"), None, PULSE_ARRIVAL_S
    if kind == "strap":
        t, fig = strap_figures(rr, bias)
        lag = None  # its smoothing's delay is not a window's
    else:
        t, fig = watch_figures(rr, window_s, delay_s, bias)
        lag = true_lag_s(rr, window_s, delay_s)
    return HeartTrace(kind, t[fig > 0], fig[fig > 0], kind="hr"), (t, fig), lag


def case(rr: np.ndarray, kind: str, window_s: float, delay_s: float, bias: float) -> dict:
    ends = np.cumsum(rr) / 1e3
    dev, figures, lag = device(rr, kind, window_s, delay_s, bias)
    ref = trace_from_beats("strap", ends, rr)
    res = hr_validate(ref, dev, load_profile("seat_ppg"))
    fix, why = correction(res)
    out = {"true_lag_ms": lag and lag * 1000, "lag_ms": res.figures["lag_ms"],
           "halves_ms": res.figures["lag_halves_ms"],
           "r": res.figures["lag_correlation"], "true_bias_pct": round((bias - 1) * 100, 2),
           "bias_pct": res.figures["bias_pct"], "irregular_pct": res.figures["ref_irregular_pct"],
           "stored": fix is not None, "why_not": why,
           "stored_lag_ms": fix and fix["lag_ms"]}
    if figures is None:  # beats: the seat's beat path (tests/test_calibration_loop.py)
        return out
    out["seat_none"] = seat_error(*figures, ends, None)
    if fix:
        out["seat_stored"] = seat_error(*figures, ends, fix)
        out["seat_bias_only"] = seat_error(*figures, ends, {**fix, "lag_ms": 0.0})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", type=numbers_in(float, 0.5, 30), default="2,5,8,10,15")
    ap.add_argument("--delay", type=number_in(float, 0, 10), default=1.0)
    ap.add_argument("--bias", type=number_in(float, 0.8, 1.2), default=1.04)
    ap.add_argument("--span", type=number_in(float, 60, 3600), default=300.0)
    ap.add_argument("--device", choices=DEVICES, default="watch")
    ap.add_argument("--records", help="comma-separated tuning records (default: %s)"
                    % ",".join(TUNING))
    ap.add_argument("--held-out", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    from empathy.edge.heart_corpus import RECORDS
    beat_records = {r.name: r.held_out for r in RECORDS if r.kind in ("ecg", "rr")}
    names = tuple(a.records.split(",")) if a.records else TUNING
    if a.held_out:
        names = tuple(n for n, held in beat_records.items() if held)
    elif not all(beat_records.get(n) is False for n in names):
        print(f"--records: tuning records with beats only, got {a.records}", file=sys.stderr)
        return 2
    rows = []
    for name in names:
        rr = record_rr(name, a.span)
        if rr is None:
            continue
        for w in a.windows if a.device == "watch" else a.windows[:1]:
            try:
                row = {"record": name, "device": a.device, "window_s": w,
                       **case(rr, a.device, w, a.delay, a.bias)}
            except ValueError as e:  # too short to compare at all
                row = {"record": name, "device": a.device, "window_s": w, "error": str(e)}
            rows.append(row)
            if not a.json:
                print(_line(row), flush=True)
    if a.json:
        print(json.dumps(rows))
    return 0


def _line(r: dict) -> str:
    window = f"W {r['window_s']:4.1f}" if r["device"] == "watch" else " " * 6
    head = f"{r['record']:16s} {r['device']:5s} {window}"
    if "error" in r:
        return f"{head}  {r['error']}"
    true = "?" if r["true_lag_ms"] is None else f"{r['true_lag_ms']:.0f}"
    s = (f"{head}  lag {r['lag_ms']:7.0f} (true {true:>5s})  r {r['r']:.2f}  bias "
         f"{r['bias_pct']:+5.2f} % ({r['true_bias_pct']:+.1f})  irregular "
         f"{r['irregular_pct']:4.1f} %")
    if "seat_none" in r:
        s += f"  none {_e(r['seat_none'])}"
    why = "; ".join(w.split(" (")[0] for w in r["why_not"])
    if r["stored"] and "seat_stored" in r:
        s += (f"  stored lag {r['stored_lag_ms']:+.0f}: {_e(r['seat_stored'])}  bias only "
              f"{_e(r['seat_bias_only'])}")
    elif r["stored"]:
        s += f"  stored {r['bias_pct']:+.2f} %, lag {r['stored_lag_ms']:+.0f}"
    else:
        return s + "  not stored: " + why
    return s + (f"  ({why})" if why else "")


def _e(e) -> str:
    return f"{e[0]:+.2f}/{e[1]:.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
