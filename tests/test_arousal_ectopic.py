"""The heart's part of a seat's arousal reads the heart's own drive, not its ectopic beats: a
real NN series with real premature beats laid in (their timing taken from the annotated
ectopic beats of ECG tuning records), fed as a strap's intervals. The reference is the rate
of the series' own normal-to-normal intervals over the HR window (the generator knows which
beats it made premature; the seat does not), z'd on the seat's own baseline. The wire's HR
stays every beat's rate."""

import numpy as np

from empathy.bench.arousal_heart import NORMAL, nn_rate, strap_case
from empathy.edge.features import SeatFeatures
from empathy.edge.heart_corpus import annotated_beats, beat_labels, record_data
from empathy.edge.latency import HR_WINDOW_S
from empathy.sensors.base import Beat
from empathy.wire import Flag
from corpus_records import need

T0_US = 10**12
BURST_S = (60.0, 240.0)  # after the seat's 30-s baseline and 30 s to settle
EVERY = 5  # a premature beat every this many sinus beats in the burst
SOURCES = ("mitdb-116", "mitdb-123", "qtdb-sele0114", "mitdb-118", "qtdb-sel821")


def ectopic_timings() -> list[tuple[float, float]]:
    """(coupling, pause) of each lone annotated ectopic beat (a normal beat each side) of
    SOURCES, in units of the nearest six normal-to-normal intervals' median."""
    out = []
    for name in SOURCES:
        rec = need(name)
        x, fs = record_data(rec)
        b, lab = annotated_beats(rec, len(x), fs), beat_labels(rec, len(x))
        normal = np.isin(lab, NORMAL)
        rr, nn = np.diff(b), np.flatnonzero(normal[1:] & normal[:-1])
        for i in np.flatnonzero(~normal[1:-1]) + 1:
            near = nn[np.argsort(np.abs(nn - i))][:6]
            if normal[i - 1] and normal[i + 1] and len(near) == 6:
                out.append((rr[i - 1] / np.median(rr[near]), rr[i] / np.median(rr[near])))
    return out


def with_ectopics(rr: np.ndarray, timings) -> tuple[np.ndarray, np.ndarray]:
    """The NN series with an ectopic beat every EVERY beats inside BURST_S, the timings in
    turn: it takes the place of the sinus intervals its coupling and pause add up to (one
    for an interpolated beat, two for a compensatory pause), on their mean. Returns the
    intervals and, per beat they end at, whether it is normal."""
    out, normal, t, i, k, n = [], [], 0.0, 0, 0, 0
    while i < len(rr) - 2:
        if BURST_S[0] <= t < BURST_S[1] and k % EVERY == EVERY - 1:
            c, p = timings[n % len(timings)]
            span = 1 if c + p < 1.5 else 2
            ref = float(np.mean(rr[i:i + span]))
            out += [c * ref, p * ref]
            normal += [False, True]
            i, n = i + span, n + 1
        else:
            out.append(rr[i])
            normal.append(True)
            i += 1
        t = sum(out) / 1000.0
        k += 1
    return np.array(out), np.array(normal)


def heart_z_errors(rr: np.ndarray, normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per estimate (a second) in the burst's last 150 s with HR_OK: the heart's z less the
    reference's, and the wire's HR less the reference rate (bpm)."""
    beats = np.concatenate(([0.0], np.cumsum(rr) / 1000.0))
    ok = np.concatenate(([True], normal))
    f, j, dz, dhr = SeatFeatures(baseline_s=30), 0, [], []
    for now in np.arange(1.0, BURST_S[1]):
        while j < len(rr) and beats[j + 1] <= now:
            f.add(Beat(T0_US + int(beats[j + 1] * 1e6), float(rr[j])))
            j += 1
        e = f.estimate(T0_US + int(now * 1e6))
        ref = nn_rate(beats, ok, now, HR_WINDOW_S)
        if now < BURST_S[0] + 30 or not e["flags"] & Flag.HR_OK or np.isnan(ref):
            continue
        z = f.signals.get("hr")
        dz.append(np.nan if z is None else z[0] - f.base["hr"].z(ref, True))
        dhr.append(e["hr_bpm"] - ref)
    return np.array(dz), np.array(dhr)


def test_ectopic_beats_leave_the_heart_s_arousal_on_the_sinus_rate():
    """pyHRV's real NN series (tuning) with one beat in five premature for 3 minutes, the
    timing of 5 tuning records' annotated ectopic beats (ventricular with compensatory
    pauses, interpolated, atrial resetting the sinus node). The heart's z read them (every
    beat's rate); now the intervals at the beats labelled ectopic are out of it."""
    timings = ectopic_timings()
    assert len(timings) >= 40
    rr, normal = with_ectopics(record_data(need("pyhrv-nni-long"))[0][:600], timings)
    assert (~normal).sum() >= 40
    dz, dhr = heart_z_errors(rr, normal)
    assert len(dz) > 100 and np.isfinite(dz).all(), "the heart stays in the arousal"
    assert np.percentile(np.abs(dhr), 50) > 1.0  # the wire's HR is every beat's rate
    # before: p50 0.40, p90 1.08 (every beat's rate); now 0.07 and 0.78. What is left is
    # the beats barely early (sele0114's and sel821's atrial ones, 0.8-0.98 of the normal
    # interval) that timing alone can't label, as the batch summary can't
    assert np.median(np.abs(dz)) < 0.2 and np.percentile(np.abs(dz), 90) < 0.9, dz


def test_atrial_fibrillation_and_bigeminy_keep_every_beat_s_rate_in_the_arousal():
    """A strap's AF-like and bigeminal rhythms (bench/strap_loss.py's own generators): AF's
    short-long pairs, labelled by timing alone, are no ectopy (its intervals' steps are too
    irregular: sinus_rate.IRREGULAR), and bigeminy leaves no interval clear of its PVCs;
    both read every beat's rate, as before (AF-like |z error| p90 0.8-1.1 without the rule)."""
    for rhythm in ("af", "bigeminy"):
        for seed in range(2):
            gaps, _, felt = strap_case(rhythm, seed)
            assert len(gaps) > 150 and felt == 1.0
            assert np.max(gaps) < 1e-6, (rhythm, seed, np.percentile(gaps, 90))
