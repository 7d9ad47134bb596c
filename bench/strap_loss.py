"""A chest strap over a lossy BLE link, through a seat: how often the seat's HR has HR_OK on,
and how often an HR_OK value is over BIG_BPM off the rate of the beats the heart made.
`python -m empathy.bench.strap_loss [--loss 0,0.05,0.1,0.2,0.4] [--seeds 3] [--step S]
[--device rr|hr] [--held-out] [--json]`

The rhythms are this module's own (no constant shared with edge/): sinus, sinus arrhythmia,
an irregularly irregular AF-like series and ventricular bigeminy; and the corpus's tuning RR
series (systole-rr, pyhrv-nni-long's first SPAN_S) and the annotated beats of MIT-BIH
tuning records (every beat, ectopic ones too: a strap's detector counts them). The link:
- "beat": a notification per beat, sent LATENCY_MS after it;
- "second": a notification a second (as Polar's and Garmin's straps send, and sim/strap.py),
  carrying the intervals that ended since the last one and the strap's own bpm;
each lost with probability `loss`. The strap's own bpm is a device's (sim/hr_device.py);
`--device hr`: a device that sends that alone, once a second, no RR intervals (a watch
broadcasting heart rate, an optical armband), its figure read by the seat
(edge/device_hr.py). `--held-out`: the corpus's held-out ECG records' annotated beats.
Every notification is encoded as the Heart Rate Measurement characteristic
(sensors/firmware/hrs.py), parsed and stamped by the BLE driver's own code (`beats_from`),
and its readings go to a `SeatFeatures`, an estimate a second from FROM_S. Truth: the
mean-interval rate of the true beats over the seat's HR window (bench/seat_hr.window_rate)."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from empathy.bench.hr_lag_range import record_rr
from empathy.bench.seat_hr import window_rate
from empathy.cli import number_in, numbers_in
from empathy.edge.features import SeatFeatures
from empathy.edge.latency import HR_WINDOW_S
from empathy.sensors.base import HeartRate
from empathy.sensors.ble.strap import beats_from
from empathy.sensors.firmware import hrs
from empathy.sim.hr_device import HrDevice
from empathy.wire import Flag

T0_US = 1_000_000_000
BIG_BPM = 5.0
FROM_S = 20.0
SPAN_S = 180.0
STEP_AT_S = 60.0
LATENCY_MS = (5.0, 45.0)  # a notification's way through the radio and BlueZ, uniform
LOSSES = (0.0, 0.05, 0.1, 0.2, 0.4)
RECORDS = ("systole-rr", "pyhrv-nni-long", "mitdb-100", "mitdb-123", "mitdb-106",
           "mitdb-119", "mitdb-200", "mitdb-203", "mitdb-210")


def _beats(n_s: float, rng, fn) -> np.ndarray:
    """RR intervals (ms) from fn(t_s, rng) -> next interval, until n_s seconds are made."""
    out, t = [], 0.0
    while t < n_s * 1000.0:
        out.append(fn(t / 1000.0, rng))
        t += out[-1]
    return np.array(out)


def sinus(n_s: float, rng) -> np.ndarray:
    """A resting heart: small breathing swing, beat-to-beat noise."""
    base = rng.uniform(720.0, 980.0)
    return _beats(n_s, rng, lambda t, r: base * (1 + 0.025 * np.sin(2 * np.pi * t / 4.2))
                  + r.normal(0, 9.0))


def arrhythmia(n_s: float, rng) -> np.ndarray:
    """Sinus arrhythmia: a 12 % breathing swing on a slowly drifting rate."""
    base = rng.uniform(850.0, 1150.0)
    return _beats(n_s, rng, lambda t, r: base * (1 + 0.12 * np.sin(2 * np.pi * t / 5.5)
                                                 + 0.05 * np.sin(2 * np.pi * t / 47.0))
                  + r.normal(0, 15.0))


def af(n_s: float, rng) -> np.ndarray:
    """Irregularly irregular: independent intervals, lognormal (CV about 0.22)."""
    mean = rng.uniform(560.0, 800.0)
    return _beats(n_s, rng, lambda t, r: float(np.clip(mean * r.lognormal(-0.024, 0.22),
                                                       300.0, 1900.0)))


def bigeminy(n_s: float, rng) -> np.ndarray:
    """Ventricular bigeminy: every other beat premature (coupling 55-70 % of the sinus
    interval) with a full compensatory pause."""
    base, c = rng.uniform(800.0, 1000.0), rng.uniform(0.55, 0.7)
    n = int(n_s * 1000.0 / base) + 2
    short = base * c + rng.normal(0, 12.0, n)
    pair = 2 * base + rng.normal(0, 15.0, n)
    return np.column_stack((short, pair - short)).ravel()[:n]


RHYTHMS = {"sinus": sinus, "arrhythmia": arrhythmia, "af": af, "bigeminy": bigeminy}


def notifications(rr_ms: np.ndarray, link: str, loss: float, rng, device: str = "rr"):
    """[(arrival µs, Heart Rate Measurement bytes)] that reach the seat. The HR field is the
    device's own figure (sim/hr_device.py); `device` "hr": it sends that alone, no RR
    intervals (a watch broadcasting heart rate, an optical armband)."""
    end_us = T0_US + np.cumsum(rr_ms) * 1e3
    lat = lambda: rng.uniform(*LATENCY_MS) * 1e3  # noqa: E731
    if link == "beat":
        sends = [(e, [i]) for i, e in enumerate(end_us)]
    else:
        ticks = np.arange(T0_US + rng.uniform(0, 1e6), end_us[-1] + 1e6, 1e6)
        k = np.searchsorted(end_us, ticks, "right")
        sends = [(t, list(range(a, b))) for t, a, b in zip(ticks, np.r_[0, k[:-1]], k)]
    out, dev = [], HrDevice("contact")
    for t, idx in sends:
        for i in idx:
            dev.beat(end_us[i] / 1e6, rr_ms[i])
        bpm, contact = dev.tick(t / 1e6)
        rr = [round(rr_ms[i] * 1.024) for i in idx] if device == "rr" else []
        if rng.random() >= loss:
            out.append((int(t + lat()), hrs.measurement_encode(
                bpm, rr[-9:], contact=True if device == "rr" else contact)))
    return sorted(out)


def seat_rows(rr_ms: np.ndarray, link: str, loss: float, seed: int,
              step_s: float = 0.0, device: str = "rr") -> np.ndarray:
    """`step_s`: the host clock steps by that much at STEP_AT_S (NTP, someone setting it):
    later arrivals and estimates are stamped on the new clock (the truth stays on the
    real one). Per estimate from FROM_S: (t s, HR_OK, hr_bpm, the true rate over the HR
    window, and the lowest and highest it was over the link's own delay before: a strap's
    beat reaches the seat up to a notification period after it; in bigeminy one interval
    more or less at the window's edge moves the rate 5-10 %)."""
    rng = np.random.default_rng(seed)
    beats_s = np.concatenate(([0.0], np.cumsum(rr_ms) / 1e3))
    sent = notifications(rr_ms, link, loss, rng, device)
    f, k, last_us, out = SeatFeatures(baseline_s=10), 0, 0, []
    lags = np.linspace(0.0, (1.0 if link == "second" else 0.0) + LATENCY_MS[1] / 1e3, 6)
    step_us = int(step_s * 1e6)
    host = lambda t_us: t_us + step_us * (t_us >= T0_US + STEP_AT_S * 1e6)  # noqa: E731
    for now in np.arange(1.0, beats_s[-1], 1.0):
        now_us = T0_US + int(now * 1e6)
        while k < len(sent) and sent[k][0] <= now_us:
            t, value = host(sent[k][0]), sent[k][1]
            m = hrs.measurement_parse(value)
            f.add(HeartRate(t, float(m["hr_bpm"]), m["contact"]))
            for b in beats_from(m["rr_1024"], t, last_us):
                f.add(b)
                last_us = b.ts_us
            k += 1
        e = f.estimate(host(now_us))
        if now >= FROM_S:
            r = [window_rate(beats_s, now - lag, HR_WINDOW_S) for lag in lags]
            out.append((now, bool(e["flags"] & Flag.HR_OK), e["hr_bpm"], r[0], min(r), max(r)))
    return np.array(out, float).reshape(-1, 6)


def score(rows: list[np.ndarray]) -> dict:
    """Estimates, the share with HR_OK, HR_OK ones over BIG_BPM off (`bad`; `bad_lag`: off
    every rate the truth had over the link's delay), their |error| p90."""
    r = np.concatenate(rows)
    ok = r[:, 1] > 0
    hr, now, lo, hi = r[ok, 2], r[ok, 3], r[ok, 4], r[ok, 5]
    err = np.abs(hr - now)
    lag_err = np.maximum(np.maximum(lo - hr, hr - hi), 0.0)
    return {"n": len(r), "hr_ok": round(float(ok.mean()), 3) if len(r) else 0.0,
            "bad": int((err > BIG_BPM).sum()), "bad_lag": int((lag_err > BIG_BPM).sum()),
            "p90": round(float(np.percentile(err, 90)), 2) if len(err) else 0.0}


def case(rhythm: str, link: str, loss: float, seeds: int = 3, step_s: float = 0.0,
         device: str = "rr") -> dict:
    """One rhythm (a RHYTHMS name or a corpus record) at one loss, over `seeds` draws."""
    rows = []
    for s in range(seeds):
        rr = (RHYTHMS[rhythm](SPAN_S, np.random.default_rng(1000 + s)) if rhythm in RHYTHMS
              else record_rr(rhythm, SPAN_S))
        if rr is None:
            return {}
        rows.append(seat_rows(rr, link, loss, seed=s, step_s=step_s, device=device))
    return score(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m empathy.bench.strap_loss")
    ap.add_argument("--loss", type=numbers_in(float, 0.0, 0.99),
                    default=",".join(map(str, LOSSES)))
    ap.add_argument("--seeds", type=number_in(int, 1, 50), default=3)
    ap.add_argument("--link", choices=("beat", "second", "both"), default="both")
    ap.add_argument("--only", nargs="*", default=None, help="rhythms or records")
    ap.add_argument("--held-out", action="store_true",
                    help="the corpus's held-out ECG records' beats instead (score them once)")
    ap.add_argument("--step", type=number_in(float, -60, 60), default=0.0,
                    help="the host clock steps by this many seconds at STEP_AT_S")
    ap.add_argument("--device", choices=("rr", "hr"), default="rr",
                    help="hr: the device sends its own bpm only, no RR (a notification a second)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    names = a.only or list(RHYTHMS) + list(RECORDS)
    if a.held_out:
        from empathy.edge.heart_corpus import RECORDS as CORPUS
        names = [r.name for r in CORPUS if r.held_out and r.kind in ("ecg", "rr")]
    links = ("beat", "second") if a.link == "both" else (a.link,)
    if a.device == "hr":  # such devices notify once a second
        links = ("second",)
    res = []
    for name in names:
        if name not in RHYTHMS and name not in RECORDS and not a.held_out:
            print(f"unknown rhythm or record: {name}", file=sys.stderr)
            return 2
        for link in links:
            for loss in a.loss:
                s = case(name, link, loss, a.seeds, a.step, a.device)
                if s:
                    res.append({"case": name, "link": link, "loss": loss, "device": a.device,
                                **s})
                    if not a.json:
                        print(f"{name:16s} {link:6s} loss {loss:4.2f}  n {s['n']:4d}  HR_OK "
                              f"{s['hr_ok']:5.3f}  >{BIG_BPM:.0f} bpm {s['bad']:4d} "
                              f"(lag {s['bad_lag']:4d})  p90 {s['p90']:5.2f}", flush=True)
    if a.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
