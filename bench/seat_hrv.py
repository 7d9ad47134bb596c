"""A seat's streamed HRV (the wire's HRV_OK and RMSSD) on real ECG against the annotation's
NN RMSSD over the same window. `python -m empathy.bench.seat_hrv RECORD ... [--every 1]`.

Each record's ECG goes through `SeatFeatures` in 0.1 s Waveform chunks, as the runtime
feeds it; an estimate every `--every` s once the HRV window (30 s) is full. The reference
at each estimate: the expert's beats in the same span as the seat's window (its first
interval's start to its last interval's end), NN = an interval between two consecutive
beats both of normal type (AAMI N: N, L, R, e, j), RMSSD over successive NN intervals that
share a beat; undefined with under 5 NN intervals or 2 such pairs. Prints per record: the
share of estimates with HRV_OK, of those where the reference is undefined (HRV sent where
a heart holds none to speak of), and the median and 90th percentile of |seat - ref| / ref
where both are defined (`--span 0 60`: a viewer's first minute, while the seat learns
the baseline). `--spikes N`: N seconds of random-spike noise (the grid of
tests/test_heart_hrv.py) instead: the (seed, rate) cases with HR_OK or HRV_OK at any estimate.
`--cost`: the time of the seat's heart part of an estimate (`SeatFeatures._heart`), 4 a
second, on each record fed as above (detection not counted). `--ectopic`: the seat's ectopic
labels scored against the annotation's as edge/ectopic_validation scores `signal hr`'s
(`seat_ectopic` says which beats count as labelled). `--strap`: the annotation's beats as a
chest strap's RR intervals instead of the ECG (a perfect strap: timing only), an estimate
every other beat.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from empathy.cli import number_in

NORMAL = set("NLRej")
CHUNK_S = 0.1
T0_US = 10**9


def reference_rmssd(ann_s: np.ndarray, labels: np.ndarray, t0: float, t1: float) -> float:
    """RMSSD (ms) of the annotation's NN intervals between t0 and t1; NaN if too few."""
    k = (ann_s >= t0) & (ann_s <= t1)
    t, lab = ann_s[k], labels[k]
    nn = np.array([a in NORMAL and b in NORMAL for a, b in zip(lab[:-1], lab[1:])], bool)
    rr = np.diff(t) * 1000.0
    pair = nn[1:] & nn[:-1]
    d = np.diff(rr)[pair]
    return float(np.sqrt(np.mean(d * d))) if nn.sum() >= 5 and len(d) >= 2 else float("nan")


def seat_stream(x: np.ndarray, fs: float, every_s: float, kind: str = "ecg",
                acc_mg: np.ndarray | None = None):
    """Yields (now_us, estimate, the seat's HeartWindow or None) through a seat fed in chunks;
    `acc_mg`: an accelerometer's magnitude (mG) at fs, fed with each chunk as kind "acc"."""
    from empathy.edge.features import SeatFeatures
    from empathy.sensors.base import Waveform

    f = SeatFeatures(baseline_s=10)
    n = max(1, int(round(CHUNK_S * fs)))
    per = max(1, int(round(every_s / CHUNK_S)))
    for k, i in enumerate(range(0, len(x), n)):
        f.add(Waveform(T0_US + int(i * 1e6 / fs), kind, fs, x[i:i + n]))
        if acc_mg is not None:
            f.add(Waveform(T0_US + int(i * 1e6 / fs), "acc", fs, acc_mg[i:i + n]))
        now = T0_US + int((i + n) * 1e6 / fs)
        if (k + 1) % per == 0:
            e = f.estimate(now)
            w = f.waves.get(kind)
            yield now, e, (w.heart if w else None)


def score_record(name: str, every_s: float, t_from: float = 30.0,
                 t_to: float = float("inf"), strap: bool = False) -> dict | None:
    from empathy.edge.heart_corpus import annotated_beats, beat_labels, record, record_data
    from empathy.edge.latency import HRV_WINDOW_S
    from empathy.wire import Flag

    rec = record(name)
    x, fs = record_data(rec)
    ann, lab = annotated_beats(rec, len(x), fs), beat_labels(rec, len(x))
    if lab is None:  # no labels kept (svdb-800): no NN reference to score against
        return None
    ok, hr_ok, undefined_ok, err = [], [], 0, []
    if strap:  # (the strap's clock starts at the first beat)
        ann = ann - ann[0]
    stream = (strap_stream(ann) if strap else
              seat_stream(x[:int(min(t_to + 1, len(x) / fs) * fs)], fs, every_s))
    for now, e, heart in stream:
        if not t_from <= (now - T0_US) / 1e6 <= t_to:
            continue
        iv = heart and heart.window(now, HRV_WINDOW_S)
        sent = bool(e["flags"] & Flag.HRV_OK)
        ok.append(sent)
        hr_ok.append(bool(e["flags"] & Flag.HR_OK))
        if iv is None or not len(iv.rr_ms):
            ref = float("nan")
        else:  # the seat's window in record seconds
            t1 = iv.t_s[-1] - T0_US / 1e6 + 0.05
            t0 = iv.t_s[0] - iv.rr_ms[0] / 1000.0 - T0_US / 1e6 - 0.05
            ref = reference_rmssd(ann, lab, t0, t1)
        if sent and np.isnan(ref):
            undefined_ok += 1
        elif sent:
            err.append(abs(e["rmssd_ms"] - ref) / ref)
    err = np.array(err)
    return {"record": name, "estimates": len(ok), "hrv_ok": float(np.mean(ok)) if ok else 0.0,
            "hr_ok": float(np.mean(hr_ok)) if ok else 0.0,
            "ok_ref_undefined": undefined_ok,
            "err_median": float(np.median(err)) if len(err) else float("nan"),
            "err_p90": float(np.percentile(err, 90)) if len(err) else float("nan")}


def strap_stream(ann_s: np.ndarray):
    """Yields (now_us, estimate, the seat's strap HeartWindow) with the beats ann_s (s) as
    a strap's RR intervals, from its first beat, an estimate every other beat."""
    from empathy.edge.features import SeatFeatures
    from empathy.sensors.base import Beat

    f, t = SeatFeatures(baseline_s=10), T0_US
    for k, rr in enumerate(np.diff(ann_s) * 1000.0):
        t += int(round(rr * 1000))
        f.add(Beat(t, float(rr)))
        if k % 2 == 0:
            yield t, f.estimate(t), f.strap


def seat_ectopic(name: str, every_s: float = 1.0) -> dict:
    """The seat's ectopic labels on a record as an ectopic_validation case: every beat the
    seat's HeartWindow holds, flagged where `hrv_window` labelled it ectopic at half or more
    of the estimates that could label it (those after the beat that followed it: a beat's
    label may change as the window moves)."""
    from empathy.edge.heart_corpus import annotated_beats, beat_labels, record, record_data
    from empathy.edge.latency import HRV_WINDOW_S

    rec = record(name)
    x, fs = record_data(rec)
    votes: dict[float, list[int]] = {}  # beat (µs) -> [estimates labelling it, ectopic]
    for now, _, heart in seat_stream(x, fs, every_s):
        if heart is None:
            continue
        heart.hrv_window(now, HRV_WINDOW_S)
        t = heart.beats[0]
        ect = {g - heart.beats0 for g, k in heart.labelled if k == "ectopic"}
        for i in range(len(t) - 1):  # (the newest can't be labelled yet)
            v = votes.setdefault(float(t[i]), [0, 0])
            v[0] += 1
            v[1] += i in ect
    beat_us = np.array(sorted(votes))
    flagged = [k for k, b in enumerate(beat_us) if 2 * votes[b][1] >= votes[b][0]]
    return {"name": name, "t": (beat_us - T0_US) / 1e6, "flagged": np.array(flagged, int),
            "ann": annotated_beats(rec, len(x), fs), "lab": beat_labels(rec, len(x))}


def heart_cost_us(name: str) -> tuple[float, float]:
    """(median, mean) µs of one `SeatFeatures._heart` call, 4 a second through the record."""
    import time

    from empathy.edge.features import SeatFeatures
    from empathy.edge.heart_corpus import record, record_data
    from empathy.edge.seat_heart import seat_heart
    from empathy.sensors.base import Waveform

    x, fs = record_data(record(name))
    f, n, spent = SeatFeatures(baseline_s=10), max(1, int(round(fs / 4))), []
    for i in range(0, len(x), n):
        f.add(Waveform(T0_US + int(i * 1e6 / fs), "ecg", fs, x[i:i + n]))
        now = T0_US + int((i + n) * 1e6 / fs)
        t = time.perf_counter()
        seat_heart(f, now)
        spent.append(time.perf_counter() - t)
    spent = np.array(spent[len(spent) // 4:]) * 1e6  # once the HRV window has filled
    return float(np.median(spent)), float(np.mean(spent))


def spike_noise(seed: int, fs: int, seconds: float) -> np.ndarray:
    """tests/test_heart_hrv.py's random spikes (1 % of samples, 20x the noise)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    rng.normal(0, 1, 5 * 60 * fs)  # that grid drew white, mains and pink noise first
    return rng.normal(0, 1, n) * (rng.random(n) < 0.01) * 20 + rng.normal(0, 1, n)


def sloped_spikes(seeds):
    """(seed, fs, x): the same grid's spikes given a slope as a front end's filter gives it,
    a 3-sample triangle and a 40-Hz low-pass (two cases per seed and rate), 60 s each."""
    from scipy.signal import butter, sosfilt

    for seed in seeds:
        rng = np.random.default_rng(seed)
        for fs in (100, 250, 360):
            n = 60 * fs
            rng.normal(0, 1, 5 * n)  # (as that grid draws)
            sp = rng.normal(0, 1, n) * (rng.random(n) < 0.01) * 20
            noise = rng.normal(0, 1, n)
            for y in (np.convolve(sp, [0.5, 1, 0.5], "same"),
                      2 * sosfilt(butter(2, 40, fs=fs, output="sos"), sp)):
                yield seed, fs, y + noise


def spike_cases(seeds) -> list[tuple[int, int]]:
    """The random-spike grid's (seed, Hz): each seed at 100, 250 and 360 Hz."""
    return [(seed, fs) for seed in seeds for fs in (100, 250, 360)]


def score_spikes(seconds: float, cases, every_s: float) -> dict:
    """`cases`: (seed, Hz) of spike_noise (spike_cases)."""
    from empathy.wire import Flag

    hr, hrv, n = [], [], 0
    for seed, fs in cases:
        flags = [e["flags"] for _, e, _ in seat_stream(spike_noise(seed, fs, seconds), fs,
                                                         every_s)]
        if any(f & Flag.HR_OK for f in flags):
            hr.append((seed, fs))
        if any(f & Flag.HRV_OK for f in flags):
            hrv.append((seed, fs))
        n += 1
    return {"cases": n, "hr_ok": hr, "hrv_ok": hrv}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="*")
    ap.add_argument("--every", type=number_in(float, 0.1, 60), default=1.0)
    ap.add_argument("--span", type=number_in(float, 0, math.inf), nargs=2, default=(30.0, float("inf")),
                    metavar=("FROM", "TO"), help="score the estimates between these seconds "
                    "(default: from 30 s, the HRV window full, to the end)")
    ap.add_argument("--spikes", type=number_in(float, 0, 86400), default=0.0, help="seconds of spike noise")
    ap.add_argument("--seeds", type=number_in(int, 1, 1000), default=40)
    ap.add_argument("--cost", action="store_true", help="time the heart part instead")
    ap.add_argument("--strap", action="store_true",
                    help="the annotation's beats as a strap's RR intervals instead")
    ap.add_argument("--ectopic", action="store_true",
                    help="score the seat's ectopic labels (ectopic_validation) instead")
    a = ap.parse_args(argv)
    if a.ectopic:
        from empathy.edge.ectopic_validation import report

        cases = [seat_ectopic(name, a.every) for name in a.records]
        print("\n".join(report(cases, lambda c: c["flagged"])))
        return
    for name in a.records if a.cost else ():
        print(f"{name:16s} _heart µs per estimate: median %.0f mean %.0f" % heart_cost_us(name))
    for name in () if a.cost else a.records:
        s = score_record(name, a.every, *a.span, strap=a.strap)
        if s is None:
            print(f"{name:16s} skipped: its beat labels are not kept, so it has no NN reference")
            continue
        print(f"{s['record']:16s} n={s['estimates']:4d} HR_OK {s['hr_ok']:.2f} HRV_OK {s['hrv_ok']:.2f}  "
              f"OK with no NN reference {s['ok_ref_undefined']:4d}  |err| median "
              f"{s['err_median']:.3f} p90 {s['err_p90']:.3f}", flush=True)
    if a.spikes:
        print("spikes", score_spikes(a.spikes, spike_cases(range(a.seeds)), a.every))


if __name__ == "__main__":
    main()
