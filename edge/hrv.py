"""Inter-beat intervals -> heart rate, HRV (RMSSD, SDNN, pNN50) and a quality per window.

One code path for beats found in a waveform (`heart.BeatStream`, each with a shape
quality) and for RR intervals straight from a BLE strap (quality 1: the strap did the
detection). The intervals first go through the RR artefact corrector (`rr_artefacts`:
ectopic beats moved to where the rhythm puts them, missed beats split, extra beats merged,
long/short intervals replaced). An interval is then *normal* (NN) when it is physiological
(300-2000 ms) and both its beats have a pulse-shaped waveform; HRV uses the corrected
normal intervals and only the successive differences of two adjacent ones.

The labels are kept apart, because they mean different things to whoever reads them:
`ectopic` beats (the heart's own rhythm: `ectopic_beats`, by timing and an ECG's shapes,
not the corrector's adapted thresholds), `artefacts_corrected` (missed, extra or misplaced
beats: the detector's or sensor's errors, mended), `low_quality_beats` (a waveform that
does not look like a pulse: motion, clipping) and `lost_contact_s` (stretches with no beat
at all). `rr_normal` (the 20 %-of-the-median rule) stays for callers that only need NN. The rate
shown (`rated`) is of a PPG's corrected intervals, of an ECG's as found.
A seat streams the same through `heart_window.HeartWindow`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from empathy.edge.ectopic_beats import doubtful_beats, ectopic_beats
from empathy.edge.rr_artefacts import rr_correct

RR_RANGE_MS = (300.0, 2000.0)
ECTOPIC_FRAC = 0.2
BIGEMINY_FRAC = 0.1  # an interval within this of the one two back keeps a two-beat cycle
BIGEMINY_RUN = 2  # ... where so many in a row do (see steady)
REF_INTERVALS = 8
SQI_MIN = 0.5
WINDOW_S = 10.0  # quality and HR windows of the batch summary
MIN_QUALITY = 0.15  # a whole recording below this holds no heartbeat (noise: ~0.02)
EVIDENCE_BELOW = 0.6  # ... below this, the waveform's own evidence must agree (heart_summary)
LOST_GAP_S = 3.0  # no beat for this long: the sensor is not on a pulse
MAX_SHORT = 0.03  # a share of intervals under RR_RANGE_MS[0] above this is no heart (see
# heartbeat_found)
SPIKY_BELOW = 0.6  # ... in a recording or window of quality under this (see heartbeat_found)
# artefacts (ectopic beats are physiology); "misplaced": a beat the corrector moved as
# ectopic that ectopic_beats does not call so
CORRECTED = ("missed", "extra", "longshort", "misplaced")
WITHHELD = {"rmssd_ms": None, "sdnn_ms": None, "pnn50": None}  # no NN HRV (a paced rhythm)


class Intervals(NamedTuple):
    t_s: np.ndarray  # time of the beat that ends each interval
    rr_ms: np.ndarray
    normal: np.ndarray  # bool: NN interval
    sqi: np.ndarray  # the worse of its two beats' shape quality


def rr_normal(rr_ms: np.ndarray, sqi: np.ndarray, before: np.ndarray = np.zeros(0)) -> np.ndarray:
    """Which intervals are normal. `before` = the intervals just before these (streaming)."""
    rr = np.asarray(rr_ms, dtype=float)
    pad = np.concatenate((np.full(REF_INTERVALS - len(before[-REF_INTERVALS:]), np.nan),
                          before[-REF_INTERVALS:], rr))
    rows = np.arange(len(rr))
    ref = np.sort(pad[rows[:, None] + np.arange(REF_INTERVALS)], axis=1)
    n = REF_INTERVALS - np.isnan(ref).sum(axis=1)  # NaN padding sorts last
    lo, hi = np.maximum(n - 1, 0) // 2, n // 2
    med = np.where(n > 0, (ref[rows, lo] + ref[rows, np.minimum(hi, REF_INTERVALS - 1)]) / 2, rr)
    ok = (rr >= RR_RANGE_MS[0]) & (rr <= RR_RANGE_MS[1])
    ok &= np.abs(rr - med) <= ECTOPIC_FRAC * med
    return ok & (np.asarray(sqi) >= SQI_MIN)


def intervals(beat_s, sqi=None) -> Intervals:
    """Intervals between consecutive beats of a recording (batch)."""
    t = np.asarray(beat_s, dtype=float)
    q = np.ones(len(t)) if sqi is None else np.asarray(sqi, dtype=float)
    rr = np.diff(t) * 1000.0
    qi = np.minimum(q[1:], q[:-1])
    return Intervals(t[1:], rr, rr_normal(rr, qi), qi)


def hrv_time(rr_ms: np.ndarray, normal: np.ndarray) -> dict:
    """RMSSD, SDNN (ms) and pNN50 (%) over normal intervals; 0 where too few."""
    nn = rr_ms[normal]
    pair = normal[1:] & normal[:-1]
    d = np.diff(rr_ms)[pair]
    return {"rmssd_ms": float(np.sqrt(np.mean(d * d))) if len(d) >= 2 else 0.0,
            "sdnn_ms": float(np.std(nn, ddof=1)) if len(nn) >= 3 else 0.0,
            "pnn50": float(100.0 * np.mean(np.abs(d) > 50)) if len(d) >= 2 else 0.0}


def steady(iv: Intervals) -> np.ndarray:
    """Which intervals a heart keeps: the normal ones, and those of a steady two-beat cycle
    (bigeminy: BIGEMINY_RUN intervals in a row each within BIGEMINY_FRAC of the one two back)
    between beats of good shape. Ectopy is physiology, not a lost signal: by normal
    intervals alone (after RR correction) MIT-BIH 106's V1 read 0.12, under MIN_QUALITY
    ('no heartbeat found'), and 119's bigeminy and trigeminy 0.26, under the seats' heart
    gate (0.3); 0.15 and 0.59 so. The cost, on ECG noise at 100-360 Hz (white, pink, mains
    with drift, random spikes; 40 seeds each): random spikes said 'heartbeat' in 18 of 120
    cases, not 12 (0.15 of the one two back: 32; three in a row: 106's V1 0.14)."""
    rr, ok = iv.rr_ms, iv.normal.copy()
    n = BIGEMINY_RUN
    if len(rr) >= n + 2:
        two = np.abs(rr[2:] - rr[:-2]) <= BIGEMINY_FRAC * rr[2:]  # two[j]: rr[j+2] ~ rr[j]
        run = np.ones(len(two) - n + 1, bool)  # run[j]: two[j .. j+n-1] all hold
        for k in range(n):
            run &= two[k:len(two) - n + 1 + k]
        cycle = np.zeros(len(rr), bool)
        for k in range(n + 2):  # the intervals such a run spans: rr[j .. j+n+1]
            cycle[k:len(run) + k] |= run
        ok |= cycle & (rr >= RR_RANGE_MS[0]) & (rr <= RR_RANGE_MS[1]) & (iv.sqi >= SQI_MIN)
    return ok


def window_quality(iv: Intervals, window_ms: float, cycles: bool = False) -> float:
    """0..1: how much of the window is covered by normal intervals (with `cycles`, steady
    ones: an ECG's), times beat shape. Not a PPG's: there motion's peaks alternating with
    the pulses make such a cycle too (the simulated motion PPG's artefact windows: 0.22 ->
    0.40)."""
    if not len(iv.rr_ms):
        return 0.0
    cover = min(1.0, float(_sum(iv.rr_ms[steady(iv) if cycles else iv.normal])) / window_ms)
    return cover * _mean(iv.sqi)


def corrected_intervals(beat_s, sqi=None, correction=None) -> tuple[Intervals, list]:
    """Batch: intervals after RR artefact correction, and the artefacts [(index, type)].
    `correction`: rr_correct's of these beats' intervals, where already made."""
    iv = intervals(beat_s, sqi)
    c = rr_correct(iv.rr_ms) if correction is None else correction
    idx = c.index
    rr = c.rr_ms
    q = iv.sqi[idx] if len(idx) else np.zeros(0)
    # NN: the corrected series, less guessed (long/short) intervals and those the 20 %
    # rule still rejects (ectopy so frequent that the corrector's thresholds take it in)
    normal = rr_normal(rr, q) & (c.label != "longshort")
    return Intervals(iv.t_s[idx] if len(idx) else np.zeros(0), rr, normal, q), c.artefacts


def labelled_artefacts(beat_s, artefacts: list, shape=None, sqi=None) -> list:
    """[(raw interval index, type)]: one ("ectopic") per beat ectopic_beats finds, at the
    interval that ends at it, then the corrector's artefacts that touch none of those beats
    (an ectopic beat and the pause it leaves count once, as ectopic). The corrector's own
    'ectopic' label follows its adapted thresholds (on the tuning records' ECG, 29 of its
    142 were ectopic by the annotation; 7 on the clean sinus QT Database sel117): where
    ectopic_beats disagrees, the beat it moved is 'misplaced'."""
    ect = ectopic_beats(beat_s, shape, None if sqi is None else np.asarray(sqi) >= SQI_MIN)
    seen = set(ect.tolist())
    rest = [(int(i), "misplaced" if k == "ectopic" else k) for i, k in artefacts
            if i not in seen and i + 1 not in seen]
    return sorted([(int(b) - 1, "ectopic") for b in ect] + rest)


def nn(iv: Intervals, beat_s, artefacts: list, doubt=None) -> np.ndarray:
    """The NN intervals: normal ones that neither begin nor end at a labelled ectopic beat
    (`labelled_artefacts`), whatever the 20 % rule says (in bigeminy the rule's median sits
    between the coupling interval and the pause, and lets some of both through: MIT-BIH
    106's V1 read SDNN 217 ms), nor at a beat of `doubt` (an ECG's or an RR file's
    `doubtful_beats`, as a seat's NN: edge/heart_labels.py)."""
    if doubt is not None:
        artefacts = list(artefacts) + [(int(b) - 1, "ectopic") for b in doubt]
    return iv.normal & ~_touching(iv, beat_s, artefacts)


def _touching(iv: Intervals, beat_s, artefacts: list) -> np.ndarray:
    """Intervals that begin or end at a beat labelled ectopic."""
    bt = np.asarray(beat_s, float)
    ect = np.sort([bt[i + 1] for i, k in artefacts if k == "ectopic" and i + 1 < len(bt)])
    if not len(ect) or not len(iv.t_s):
        return np.zeros(len(iv.t_s), bool)
    ends = np.stack((iv.t_s, iv.t_s - iv.rr_ms / 1000.0))  # each interval's end and start
    at = np.searchsorted(ect, ends)
    near = np.minimum(np.abs(ends - ect[np.clip(at - 1, 0, len(ect) - 1)]),
                      np.abs(ends - ect[np.clip(at, 0, len(ect) - 1)]))
    return np.any(near < 0.02, axis=0)


def lost_contact_s(beat_s, duration_s: float) -> float:
    """Seconds of the recording in stretches of LOST_GAP_S or more without a beat."""
    edges = np.concatenate(([0.0], np.asarray(beat_s, float), [duration_s]))
    gaps = edges[1:] - edges[:-1]
    return float(_sum(gaps[gaps >= LOST_GAP_S]))


def heartbeat_found(beat_s, sqi, duration_s: float, quality: float = 0.0) -> bool:
    """Whether the recording holds a heartbeat at all: at least 4 beats, in a rhythm that
    covers half of it, whose shapes resemble each other (noise makes 'beats' that don't),
    and seldom closer than a heart can beat (RR_RANGE_MS[0]). Random spikes in an ECG
    band-pass into beats of one shape (the filter's impulse response) at Poisson intervals,
    which have no refractory gap: 5-11 % of them were under 300 ms where such noise said
    'heartbeat' (18 of 120 cases, 60 s at 100-360 Hz); in the tuning records, ECG and PPG
    (moving wrists, AF, noise stress), at most 1.4 % (1 of 70; HeartPy's data3 2 of 1099).
    One is let through whatever the count (an extra detection in a short recording), and any
    number where the rhythm's `quality` is SPIKY_BELOW or more: electrode motion's extra
    beats, each splitting one interval, made 5 of 157 intervals short in 120 s of a clean
    lead (quality 0.85-0.88: 'no heartbeat'), where every spike case the rule decides reads
    0.40 at most (140 seeds x 100, 250, 360 Hz, spikes bare or given a front end's slope)."""
    if len(beat_s) < 4 or duration_s <= 0:
        return False
    covered = duration_s - lost_contact_s(beat_s, duration_s)
    return (covered >= 0.5 * duration_s and float(np.median(sqi)) >= 0.3
            and (quality >= SPIKY_BELOW or not spiky(np.diff(np.asarray(beat_s, float)) * 1000.0)))


def spiky(rr_ms) -> bool:
    """More of the intervals under RR_RANGE_MS[0] than a heart makes (see heartbeat_found:
    over MAX_SHORT of them, one let through whatever the count)."""
    short = int(np.sum(np.asarray(rr_ms, float) < RR_RANGE_MS[0]))
    return short > 1 and short > MAX_SHORT * len(rr_ms)


class Rated(NamedTuple):
    """The intervals a shown HR counts (`rated`), each one's first and last beat (s)."""
    rr_ms: np.ndarray
    t0_s: np.ndarray
    t_s: np.ndarray


def rated(beat_s, ecg: bool, mended: bool, correction=None) -> Rated:
    """The intervals the summary's rate counts (so `signal hr`'s headline, and each
    window's; the corpus page's shown HR, `beat_score.shown_rate`). `mended`: a PPG's,
    after RR artefact correction, as a seat's PPG rate (`heart_window`): a missed pulse
    merged two intervals (split back), a motion peak split one (merged): on the 14 PPG
    tuning records, against the reference beats' rate, bidmc-04 -1.8 -> -0.3 bpm, median
    |error| 0.90 -> 0.38, mean 2.82 -> 2.64 (worse by 0.3 or more: systole-ppg +0.0 ->
    -0.3). An ECG's and a device's beats (an RR file: a strap's detector) count as found,
    as a seat's do: the corrector mends real intervals (from the annotated beats, MIT-BIH
    203's AF +1.0 bpm, 207's bigeminy +1.5, QT sel232's sinus pauses +9.8; a PPG whose
    every pulse is found reads so high in such a rhythm: none among the PPG tuning
    records). A PPG's of LOST_GAP_S or more as found span lost contact (a
    lifted finger: systole-ppg lifted 3 s every 20 s read 59.5 bpm for 68.6, a lift's
    window 23 bpm low), not the heart's rhythm, and are left out, mended or not; an ECG's
    are the heart's own pauses (QT Database sel232's sick sinus: 2-5 s) and stay."""
    b = np.asarray(beat_s, float)
    raw = np.diff(b) * 1000.0
    c = (rr_correct(raw) if correction is None else correction) if mended else None
    at = c.index if c is not None else np.arange(len(raw))
    rr = c.rr_ms if c is not None else raw
    keep = np.ones(len(at), bool) if ecg else raw[at] < LOST_GAP_S * 1000.0
    return Rated(rr[keep], b[at][keep], b[at + 1][keep])


def mean_rate(rr_ms: np.ndarray) -> float:
    """60000 / the mean interval (bpm); 0 where there is none."""
    return 60000.0 / _mean(rr_ms) if len(rr_ms) else 0.0


# np.sum and np.mean of a 1-d float array, the same bits (the same pairwise sum), without
# their argument handling: an hour's summary takes them for each of its 360 windows
_sum = np.add.reduce


def _mean(v: np.ndarray) -> float:
    return float(_sum(v) / len(v))


def heart_summary(beat_s, sqi, duration_s: float, window_s: float = WINDOW_S,
                  shape=None, cycles: bool = False, evidence: bool = True,
                  paced: tuple[bool, int] | None = None, found: bool = False,
                  timing=None) -> dict:
    """Whole-recording figures plus one row per window (the `signal hr` report). `shape`:
    ectopic_beats.shape_match of an ECG's beats, where the samples are at hand; `cycles`:
    the beats are an ECG's (steady two-beat cycles count as covered, see window_quality;
    long pauses count in the rate, see `rated`); `found`: beats a device found (an RR
    file's), whose rate, as an ECG's, is of the intervals as found (`rated`; `bpm_raw`
    is that rate whatever the beats). `evidence`:
    heart_evidence.waveform_evidence,
    where the samples are at hand; a recording of quality under EVIDENCE_BELOW without it
    holds no heartbeat (random ECG spikes read 0.15-0.21 with 'beats' of good shape, given
    a front end's slope up to 0.37; the tuning records' poorest heart, MIT-BIH 106's V1,
    0.15; a random walk as a PPG board's counts 0.15-0.22). `paced`: edge.paced.paced of an
    ECG's samples (a paced rhythm, its beats with a pacing spike), where they are at hand:
    a pacemaker's intervals are no NN intervals, so HRV is withheld (None; `paced` is None
    where nothing was judged). `timing`: a PPG's beats timed at the middle of their rise
    (ppg_timing.rise_times, where the samples are at hand), whose intervals the HRV figures
    and `rr_ms` read; the rate, labels and quality stay the peaks'."""
    # one correction for both the HRV's intervals and the headline's (`rated`)
    c = rr_correct(np.diff(np.asarray(beat_s, float)) * 1000.0)
    iv, artefacts = corrected_intervals(beat_s, sqi, c)
    artefacts = labelled_artefacts(beat_s, artefacts, shape, sqi)
    shown = rated(beat_s, cycles, not (cycles or found), c)
    kinds = [k for _, k in artefacts]
    windows = []
    bt = np.asarray(beat_s, float)
    t0s = np.arange(0.0, max(duration_s - window_s, 0.0) + 1e-9, window_s)
    # both series are in time order: each window is a slice (a mask per window was
    # quadratic in an hour's beats)
    iv_at = np.searchsorted(iv.t_s, np.concatenate((t0s, t0s + window_s)), "left")
    sh_at = np.searchsorted(shown.t_s, np.concatenate((t0s, t0s + window_s)), "left")
    bt_at = np.searchsorted(bt, np.concatenate((t0s, t0s + window_s)), "left")
    for k, t0 in enumerate(t0s):
        w = Intervals(*(a[iv_at[k]:iv_at[k + len(t0s)]] for a in iv))
        inside = bt[bt_at[k]:bt_at[k + len(t0s)]]
        lost = lost_contact_s(inside - t0, window_s) if len(inside) else window_s
        low = bool(len(w.sqi) and _mean(w.sqi) < SQI_MIN)
        windows.append({"t0_s": round(float(t0), 3),
                        "bpm": round(mean_rate(shown.rr_ms[sh_at[k]:sh_at[k + len(t0s)]]), 2),
                        "quality": round(window_quality(w, window_s * 1000.0, cycles), 3),
                        "issue": "lost contact" if lost >= window_s / 2 else
                                 "low shape quality" if low else ""})
    quality = float(np.mean([w["quality"] for w in windows])) if windows else 0.0
    hv, at = (iv, beat_s) if timing is None else (corrected_intervals(timing, sqi)[0], timing)
    normal = nn(hv, at, artefacts,
                doubtful_beats(beat_s, shape) if cycles or found else None)  # (not a PPG's)
    return {"bpm": mean_rate(shown.rr_ms),
            "bpm_raw": mean_rate(rated(beat_s, cycles, False).rr_ms),
            "beats_s": [round(float(t), 4) for t in beat_s],
            **(WITHHELD if paced and paced[0] else hrv_time(hv.rr_ms, normal)),
            "paced": paced[0] if paced else None, "paced_beats": paced[1] if paced else 0,
            "heartbeat": (heartbeat_found(beat_s, sqi, duration_s, quality) and quality >= MIN_QUALITY
                          and (evidence or quality >= EVIDENCE_BELOW)),
            "ectopic": kinds.count("ectopic"),
            "artefacts_corrected": sum(kinds.count(k) for k in CORRECTED),
            "low_quality_beats": int(np.sum(np.asarray(sqi) < SQI_MIN)),
            "lost_contact_s": round(lost_contact_s(beat_s, duration_s), 2),
            "artefacts": [[int(i), k] for i, k in artefacts],
            "rr_ms": [round(float(r), 1) for r in hv.rr_ms],
            "quality": quality, "windows": windows}


def sample_error_bpm(nn: np.ndarray, lost_ms: float, cv: float = 0.0) -> float:
    """The standard error of the rate 60000 / mean(nn) where nn are what is left of a
    window's intervals after lost_ms of them were lost: about lost_ms / mean of them,
    missing at random (a sample without replacement of the window's intervals). Their
    spread: nn's own, or `cv` (a relative SD) times their mean where that is more."""
    if len(nn) < 2 or lost_ms <= 0:
        return 0.0
    mean = float(np.mean(nn))
    m, n = lost_ms / mean, len(nn)
    sd = max(float(np.std(nn, ddof=1)), cv * mean)
    return 60000.0 / mean * sd / mean * np.sqrt(m / (n * (n + m)))
