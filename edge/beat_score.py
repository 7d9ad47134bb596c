"""Beat detection scored the ANSI/AAMI EC57 way, and the peer detectors it is scored beside.

`beat_match` pairs detected with reference beats within ±150 ms (each beat pairs once,
nearest first), giving sensitivity (Se), positive predictivity (+P) and F1; counts add up
over records for the pooled (gross) figures. Where a recording ships without published beat
annotations, the reference is the peers' consensus: a beat that a majority of the peer
detectors found within the window. A peer is scored against the consensus of the *other*
peers (it never votes on its own reference); our detector never votes at all.
"""

from __future__ import annotations

import hashlib
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

TOL_S = 0.15  # EC57's match window
# a consensus interval is implausible under this (200 bpm) or over this many times the
# record's median consensus interval (a beat the peers missed)
MIN_RR_S, GAP_X = 0.3, 2.0


class Match(NamedTuple):
    tp: int
    fp: int
    fn: int

    @property
    def se(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def ppv(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def f1(self) -> float:
        n = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / n if n else 1.0

    def __add__(self, other: "Match") -> "Match":  # pooled: counts add up
        return Match(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def beat_match(ref_s, test_s, tol_s: float = TOL_S) -> Match:
    """Pair beats within tol_s, closest pairs first, each beat at most once. As EC57's
    comparator (WFDB's bxb) does at a record's start, a first test beat within tol_s of it
    that pairs with nothing, the next one lying nearer the first reference beat, is not
    counted: the reference beat it marks may lie before the record (QT Database sele0203's
    annotation sits 20-32 ms before its R peaks, so its cut first beat's lies before 0)."""
    ref, test = np.sort(np.asarray(ref_s, float)), np.sort(np.asarray(test_s, float))
    used_r, used_t = _pairs(ref, test, tol_s)
    tp = int(used_r.sum())
    start = (len(ref) > 0 and len(test) > 1 and 0 <= test[0] <= tol_s and not used_t[0]
             and abs(ref[0] - test[1]) < abs(ref[0] - test[0]))
    return Match(tp, len(test) - tp - int(start), len(ref) - tp)


def matched_ref(ref_s, test_s, tol_s: float = TOL_S) -> np.ndarray:
    """Which reference beats (in sorted order) beat_match pairs with a test beat: the
    pairing behind its counts, for scoring by beat type."""
    return _pairs(np.sort(np.asarray(ref_s, float)), np.sort(np.asarray(test_s, float)), tol_s)[0]


def _pairs(ref: np.ndarray, test: np.ndarray, tol_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Which of the sorted reference and test beats pair, closest pairs first."""
    used_r, used_t = np.zeros(len(ref), bool), np.zeros(len(test), bool)
    if not len(ref) or not len(test):
        return used_r, used_t
    j = np.clip(np.searchsorted(test, ref), 1, len(test) - 1)
    cand = []  # (distance, ref index, test index) for the two neighbours of each ref beat
    for k in (j - 1, j):
        d = np.abs(test[k] - ref)
        ok = d <= tol_s
        cand.append(np.stack([d[ok], np.flatnonzero(ok), k[ok]], axis=1))
    pairs = np.concatenate(cand)
    pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
    for _, r, t in pairs.tolist():
        r, t = int(r), int(t)
        if not used_r[r] and not used_t[t]:
            used_r[r] = used_t[t] = True
    return used_r, used_t


# R peak to a pulse's peak: where it is looked for. A finger's travel time is 0.2-0.45 s, but
# a bedside monitor's PLETH output comes later still: BIDMC's 0.58-0.72 s (tuning bidmc-04
# and -10, the median R peak to the next pulse 0.15 s or more after it), past the 0.6 s
# searched before, paired each pulse with the next R peak, and a premature beat's pulse
# found then scored one miss and one extra (bench/ppg_pulse_deficit.py)
PULSE_LAGS_S = np.arange(0.0, 1.0001, 0.005)


def in_spans(beats_s, spans) -> np.ndarray:
    """The beats that lie inside any of the (start, end) spans."""
    b = np.asarray(beats_s, float)
    keep = np.zeros(len(b), bool)
    for a, e in spans:
        keep |= (b >= a) & (b <= e)
    return b[keep]


def lagged_match(ref_s, test_s, spans, lags_s=PULSE_LAGS_S) -> tuple[Match, float]:
    """PPG beats against an ECG's R peaks (Charlton et al. 2022): the test beats shifted
    back by the lag in `lags_s` that pairs most of them (the pulse's travel time, which
    differs by site, person and detector: foot, slope or peak), then paired within the
    match window, both counted inside `spans` only. Returns (match, lag in s)."""
    ref = in_spans(ref_s, spans)
    test = np.asarray(test_s, float)
    best = max(((beat_match(ref, in_spans(test - lag, spans)), -lag) for lag in lags_s),
               key=lambda m: (m[0].tp, -m[0].fp, m[1]))
    return best[0], -best[1]


TRUST = (0.75, 1.25)  # a plausible reference interval, of the median of the 9 around it


def plausible_spans(beats_s: np.ndarray, tol_s: float = TOL_S) -> np.ndarray:
    """(start, end) in s of the runs of a reference's plausible beats (both intervals beside
    the beat within TRUST of the median of the 9 intervals around each), widened by the
    match window at both ends: where an ECG-derived reference is scored (a beat next to an
    implausible interval may be the false one, or the one before a missed beat)."""
    iv = np.diff(beats_s)
    med = np.array([np.median(iv[max(0, i - 4):i + 5]) for i in range(len(iv))])
    ok = (iv >= TRUST[0] * med) & (iv <= TRUST[1] * med)
    good = np.zeros(len(beats_s), bool)
    good[1:-1] = ok[:-1] & ok[1:]
    spans, i = [], 0
    while i < len(good):
        if not good[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(good) and good[j + 1]:
            j += 1
        if j > i:  # a run of one beat has no interval to score
            spans.append((beats_s[i] - tol_s, beats_s[j] + tol_s))
        i = j + 1
    return np.array(spans, float).reshape(-1, 2)


# Pan & Tompkins (1985)'s T-wave rule: a complex within this of the last QRS whose steepest
# slope is under SLOPE_X of that QRS's is its T wave (a QRS, PVCs included, is steep; a T
# wave is not). An early atrial beat conducted aberrantly is twice as wide as the sinus QRS
# and half as steep, so the rule alone takes it for a T wave; but a T wave recurs after
# every beat, so a wave over USUAL_X as steep as the lead is at that lag after the
# USUAL_BEATS beats before is no T wave (cinc15-v102s's 41: 0.89-1.38; tests/redteam)
T_WAVE_S, SLOPE_X, SLOPE_HALF_W_S = 0.36, 0.5, 0.075
USUAL_X, USUAL_BEATS = 2.0, 8


def t_wave_free(beats_s, ecg, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """An ECG-derived reference (s) less the beats that are the last kept beat's T wave by
    Pan-Tompkins' rule, the slopes read on the lead itself, unfiltered, within
    ±SLOPE_HALF_W_S of each beat, and no steeper than USUAL_X times what the lead does at
    that lag after the beats before. Returns (kept, dropped)."""
    d = np.abs(np.diff(np.asarray(ecg, float))) * fs
    w = int(round(SLOPE_HALF_W_S * fs))

    def slope(t: float) -> float:
        i = int(round(t * fs))
        return float(d[max(i - w, 0):i + w + 1].max())

    def usual(lag: float) -> float:
        """The lead's slope at `lag` after the last beats kept (whose next beat is later
        than that window); infinite where none is (the slope rule alone judges)."""
        v = [slope(a + lag) for a, b in zip(keep[-USUAL_BEATS - 1:-1], keep[-USUAL_BEATS:])
             if b - a > lag + 2 * SLOPE_HALF_W_S]
        return float(np.median(v)) if v else float("inf")

    keep: list[float] = []
    drop: list[float] = []
    for t in np.sort(np.asarray(beats_s, float)):
        gone = (keep and t - keep[-1] < T_WAVE_S and slope(t) < SLOPE_X * slope(keep[-1])
                and slope(t) < USUAL_X * usual(t - keep[-1]))
        (drop if gone else keep).append(float(t))
    return np.array(keep), np.array(drop)


def span_rate(beats_s, spans) -> float:
    """Beats per minute inside the spans (count over their total length)."""
    dur = float(np.sum(np.asarray(spans)[:, 1] - np.asarray(spans)[:, 0])) if len(spans) else 0.0
    return 60.0 * len(in_spans(beats_s, spans)) / dur if dur > 0 else 0.0


def shown_rate(beats_s, spans, ecg: bool, truth: bool = False) -> float:
    """The HR `empathy signal hr` shows for these beats (`hrv.rated`, its headline's
    intervals: a PPG's after RR artefact correction, its intervals of 3 s or more as found
    left out as lost contact; an ECG's as found), over the intervals between consecutive
    beats inside one span (`spans` None: the whole record); an interval that leaves a span
    does not count. `truth`: reference beats, whose rate is what the heart did: their
    intervals as found (the corrector mends a detector's errors, and would mend some of a
    heart's: hrv.rated), a PPG record's lost-contact rule alike."""
    from empathy.edge.hrv import mean_rate, rated

    r = rated(np.sort(np.asarray(beats_s, float)), ecg, not (ecg or truth))
    keep = np.ones(len(r.rr_ms), bool) if spans is None else np.zeros(len(r.rr_ms), bool)
    for a, e in [] if spans is None else spans:
        keep |= (r.t0_s >= a) & (r.t_s <= e)
    return mean_rate(r.rr_ms[keep])


def consensus(beat_lists: list, tol_s: float = TOL_S, votes: int | None = None) -> np.ndarray:
    """Beats found by at least `votes` of the lists (default: a majority) within tol_s of
    each other; each beat's time is the median of its votes."""
    n = len(beat_lists)
    need = votes if votes is not None else n // 2 + 1
    times = np.concatenate([np.asarray(b, float) for b in beat_lists] or [np.zeros(0)])
    who = np.concatenate([np.full(len(b), i) for i, b in enumerate(beat_lists)] or [np.zeros(0)])
    order = np.argsort(times, kind="stable")
    times, who = times[order], who[order]
    out, i = [], 0
    while i < len(times):
        j = i
        seen: dict[int, float] = {}
        while j < len(times) and times[j] - times[i] <= tol_s:
            seen.setdefault(int(who[j]), times[j])  # one vote per detector
            j += 1
        if len(seen) >= need:
            out.append(float(np.median(list(seen.values()))))
            i = j
        else:
            i += 1
    return np.array(out)


PULSE_LAG_S = (0.15, 0.40)  # a finger pulse follows each real heartbeat by this much


def reference(peers: dict, leave_out: str = "") -> np.ndarray:
    """Beats that more than half of the working peers (less `leave_out`) found."""
    votes = [b for k, b in peers.items() if b is not None and k != leave_out]
    return consensus(votes, votes=len(votes) // 2 + 1) if votes else np.zeros(0)


def pulse_checked(ecg_ref: np.ndarray, pulse_peers: dict, end_s: float) -> np.ndarray:
    """The ECG consensus less the beats that no PPG peer found a finger pulse after, within
    PULSE_LAG_S: an independent, physiological check of which consensus beats are real.
    Any PPG peer's pulse counts (a peer missing a pulse on a moving finger is no evidence
    that the heart did not beat), a beat whose pulse would come after the recording's end
    (`end_s`) can't be checked and stays; ours never takes part."""
    pulses = np.sort(np.concatenate([b for b in pulse_peers.values() if b is not None]))
    lo = np.searchsorted(pulses, ecg_ref + PULSE_LAG_S[0], "left")
    hi = np.searchsorted(pulses, ecg_ref + PULSE_LAG_S[1], "right")
    return ecg_ref[(hi > lo) | (ecg_ref + PULSE_LAG_S[1] > end_s)]


def consensus_rows(peers: dict, ours: np.ndarray, check=lambda r: r, annotated=None,
                   tested: dict | None = None) -> dict:
    """Ours against the (checked) consensus, every peer against that of the others; or,
    given an expert annotation, everyone against it. `tested`: the peers' beats scored, where
    they are not those that make the consensus (the same record at another rate)."""
    ref = check(reference(peers)) if annotated is None else annotated
    rows = {"ours": (beat_match(ref, ours), bpm(ours), bpm(ref))}
    for name, b in (peers if tested is None else tested).items():
        if b is not None:
            r = check(reference(peers, leave_out=name)) if annotated is None else annotated
            rows[name] = (beat_match(r, b), bpm(b), bpm(r))
    return rows


def plausible_rate(ref: np.ndarray, beats: np.ndarray) -> tuple[float, float, float]:
    """(HR of the reference, HR of `beats`, share of the reference's span) over the
    stretches between consecutive reference beats at most GAP_X medians apart, neither of
    them one of a pair closer than MIN_RR_S (a reference that holds second waves or misses
    beats). A beat counts for the interval it starts (within the match window of its first
    beat); the stretches are chosen from the reference alone."""
    iv = np.diff(ref)
    odd = np.zeros(len(ref), bool)  # both beats of a too-short interval: which is real?
    odd[:-1] |= iv < MIN_RR_S
    odd[1:] |= iv < MIN_RR_S
    ok = ~odd[:-1] & ~odd[1:] & (iv <= GAP_X * np.median(iv))
    a, b = ref[:-1][ok] - TOL_S, ref[1:][ok] - TOL_S
    n = np.searchsorted(beats, b, "left") - np.searchsorted(beats, a, "left")
    dur = float(np.sum(b - a))
    return 60 * ok.sum() / dur, 60 * n.sum() / dur, dur / (ref[-1] - ref[0])


def bpm(beats_s) -> float:
    """Mean heart rate over a beat list (0 with fewer than 3 beats)."""
    b = np.sort(np.asarray(beats_s, float))
    return 60.0 * (len(b) - 1) / float(b[-1] - b[0]) if len(b) > 2 else 0.0


# --- the peers, each called the way its documentation shows -----------------------------
def neurokit_beats(x, fs: float, kind: str, method: str = "") -> np.ndarray:
    """NeuroKit2's default cleaning and peak finding (or `method` of ppg_findpeaks)."""
    import neurokit2 as nk

    if kind == "ecg":
        _, info = nk.ecg_peaks(nk.ecg_clean(x, sampling_rate=int(fs)), sampling_rate=int(fs))
        return np.asarray(info["ECG_R_Peaks"], float) / fs
    clean = nk.ppg_clean(x, sampling_rate=fs)
    if not method:
        found = nk.ppg_findpeaks(clean, sampling_rate=fs)
    else:  # MSPTDfast counts windows with the rate: it needs an integer one
        found = nk.ppg_findpeaks(clean, sampling_rate=int(round(fs)), method=method)
    return np.asarray(found["PPG_Peaks"], float) / fs


def heartpy_beats(x, fs: float) -> np.ndarray:
    import heartpy as hp

    wd, _ = hp.process(np.asarray(x, float), fs)
    return np.asarray(wd["peaklist"], float) / fs  # every peak, rejected ones too


def _ecgdetector(name: str) -> Callable:
    def run(x, fs):
        from ecgdetectors import Detectors

        return np.asarray(getattr(Detectors(fs), name)(np.asarray(x, float)), float) / fs
    return run


PEERS = {
    "ecg": {"NeuroKit2": lambda x, fs: neurokit_beats(x, fs, "ecg"),
            "Pan-Tompkins": _ecgdetector("pan_tompkins_detector"),
            "Hamilton": _ecgdetector("hamilton_detector"),
            "Engzee": _ecgdetector("engzee_detector"),
            "Christov": _ecgdetector("christov_detector"),
            "two-average": _ecgdetector("two_average_detector"),
            "SWT": _ecgdetector("swt_detector")},
    # NeuroKit2's default (Elgendi), its MSPTDfast finder (Charlton 2024; Bishop's original
    # MSPTD is quadratic in the record's length: gigabytes on ten minutes) and HeartPy:
    # three voters, so one tool's blind spot doesn't make the reference
    "ppg": {"NeuroKit2": lambda x, fs: neurokit_beats(x, fs, "ppg"),
            "NK2 MSPTDfast": lambda x, fs: neurokit_beats(x, fs, "ppg", "charlton"),
            "HeartPy": heartpy_beats},
}
PEER_DISTS = ("neurokit2", "py-ecg-detectors", "heartpy", "numpy", "scipy")


def _peer_key(x: np.ndarray, fs: float, kind: str, name: str) -> str:
    """What a peer's beats depend on: the samples, the rate and the tools' versions."""
    from importlib import metadata

    h = hashlib.sha1(np.ascontiguousarray(x, float).tobytes())
    h.update(f"{fs!r} {kind} {name}".encode())
    for d in PEER_DISTS:
        try:
            h.update(f" {d}={metadata.version(d)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f" {d}=none".encode())
    return h.hexdigest()[:20]


def peer_beats(x, fs: float, kind: str, cache_dir: Path | None = None) -> dict:
    """Every peer's beats (seconds); None for a peer that fails on the record (its own
    failure is its score, not ours). With cache_dir, each result is kept there, keyed by
    the samples, rate and tools' versions (some peers take minutes on a long record)."""
    x = np.asarray(x, float)
    out = {}
    for name, fn in PEERS[kind].items():
        path = None
        if cache_dir is not None:
            path = Path(cache_dir) / f"{_peer_key(x, fs, kind, name)}.npy"
            if path.is_file():
                got = np.load(path)
                out[name] = None if got.size == 1 and np.isnan(got[0]) else got
                continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out[name] = np.sort(np.asarray(fn(x, fs), float))
            except Exception:  # noqa: BLE001 - any failure of a peer's own code
                out[name] = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, out[name] if out[name] is not None else np.array([np.nan]))
            tmp.replace(path)
    return out


def resampled(x: np.ndarray, fs: float, to_hz: float) -> np.ndarray:
    """x at to_hz (polyphase, the rates' ratio as a fraction; its anti-alias filter does
    what a board's or a strap's averaging does): a record as another device samples it."""
    from scipy import signal

    q = Fraction(to_hz).limit_denominator(1000) / Fraction(fs).limit_denominator(1000)
    return signal.resample_poly(np.asarray(x, float), q.numerator, q.denominator)
