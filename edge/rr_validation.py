"""The RR artefact corrector judged on real RR series with known artefacts laid in.

Following Lipponen & Tarvainen (2019): artefacts of each kind (ectopic, missed, extra,
misplaced long/short beats) are injected at random places into a real RR series; detection
sensitivity is the share of injected artefacts flagged within one interval of where they
were put, specificity the share of untouched intervals left unflagged (a real ectopic beat
of the recording counts against it), and the RMSSD/SDNN error is that of the corrected
series against the series before injection. NeuroKit2's `signal_fixpeaks` (its Kubios /
Lipponen-Tarvainen implementation, non-causal) gets the same series.
"""

from __future__ import annotations

import warnings

import numpy as np

from empathy.edge.rr_artefacts import rr_correct

KINDS = ("ectopic", "missed", "extra", "longshort")


def _artefact(rr: list, i: int, rng) -> tuple[list, int]:
    """An artefact of a random kind made of rr[i] (and rr[i+1]): (its intervals, how many
    base intervals it takes)."""
    kind = KINDS[int(rng.integers(len(KINDS)))]
    f = rng.uniform(0.25, 0.45)
    if kind == "ectopic":  # early beat and compensatory pause
        return [rr[i] * (1 - f), rr[i + 1] + rr[i] * f], 2
    if kind == "missed":
        return [rr[i] + rr[i + 1]], 2
    if kind == "extra":
        a = rr[i] * rng.uniform(0.25, 0.6)
        return [a, rr[i] - a], 1
    return [rr[i] * (1 + f), rr[i + 1] - rr[i] * f], 2  # a beat placed late: long then short


def inject(rr: np.ndarray, rng, every: int = 40) -> tuple[np.ndarray, list[int], np.ndarray]:
    """About one artefact per `every` intervals, of random kinds, at least 10 apart.
    Returns the new series, where each artefact landed in it, and for each new interval
    the base interval it is (-1: made by an artefact)."""
    out, where, i, origin = [], [], 0, []
    rr = list(rr)
    while i < len(rr):
        if i > 20 and i < len(rr) - 3 and rng.random() < 1.0 / every and \
                (not where or len(out) - where[-1] > 10):
            where.append(len(out))
            made, took = _artefact(rr, i, rng)
            out += made
            origin += [-1] * len(made)
            i += took
            continue
        out.append(rr[i])
        origin.append(i)
        i += 1
    return np.array(out), where, np.array(origin)


def inject_at(rr: np.ndarray, rng, at: int) -> tuple[np.ndarray, int]:
    """One artefact of a random kind at base interval `at` (a series' first intervals,
    which `inject` leaves alone): the new series and where it landed (= at)."""
    made, took = _artefact(list(rr), at, rng)
    return np.concatenate((rr[:at], made, rr[at + took:])), at


def rmssd(rr) -> float:
    d = np.diff(np.asarray(rr, float))
    return float(np.sqrt(np.mean(d * d))) if len(d) else 0.0


def _scores(flagged: set, where: list[int], n: int, skip: set = frozenset()) -> tuple:
    """(TP, injected, FP, TN): an injected artefact counts as found when flagged within one
    interval; FP/TN are over the untouched intervals, less those in `skip`."""
    near = set(skip)
    for w in where:
        near.update((w - 1, w, w + 1, w + 2))
    near &= set(range(n))
    tp = sum(1 for w in where if flagged & {w - 1, w, w + 1})
    fp = len(flagged - near)
    tn = n - len(near) - fp
    return tp, len(where), fp, tn


def _nk_fix(rr: np.ndarray) -> tuple[set, np.ndarray]:
    import neurokit2 as nk

    peaks = np.concatenate(([0], np.cumsum(np.round(rr).astype(int))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info, _ = nk.signal_fixpeaks(peaks, sampling_rate=1000, iterative=False,
                                     method="Kubios")  # what it finds in the series given
        _, fixed = nk.signal_fixpeaks(peaks, sampling_rate=1000, iterative=True,
                                      method="Kubios")  # its best correction
    flagged = set()
    for k in ("ectopic", "missed", "extra", "longshort"):
        flagged.update(int(i) - 1 for i in info.get(k, []))  # peak i ends interval i-1
    return flagged, np.diff(fixed).astype(float)


def injection_trial(rr: np.ndarray, seed: int, every: int = 40, suspect: set = frozenset()) -> dict:
    """One injection run: our corrector's and NeuroKit2's detection and HRV errors.
    `suspect`: base intervals NeuroKit2 itself finds irregular (see base_suspects): the
    "clean" specificity leaves them out, the plain one counts them."""
    rng = np.random.default_rng(seed)
    bad, where, origin = inject(rr, rng, every)
    odd = {int(n) for n in np.flatnonzero(np.isin(origin, list(suspect)))} if suspect else set()
    ours = rr_correct(bad)
    out = {"injected": len(where), "n": len(bad)}
    nk_flag, nk_rr = _nk_fix(bad)
    for name, flagged, fixed in (("ours", {i for i, _ in ours.artefacts}, ours.rr_ms),
                                 ("nk", nk_flag, nk_rr)):
        tp, pos, fp, tn = _scores(flagged, where, len(bad))
        _, _, fp_c, tn_c = _scores(flagged, where, len(bad), odd)
        out[name] = {"tp": tp, "pos": pos, "fp": fp, "tn": tn, "fp_clean": fp_c, "tn_clean": tn_c,
                     "rmssd_err": abs(rmssd(fixed) / rmssd(rr) - 1),
                     "sdnn_err": abs(np.std(fixed, ddof=1) / np.std(rr, ddof=1) - 1)}
    out["raw_rmssd_err"] = abs(rmssd(bad) / rmssd(rr) - 1)
    return out


def injection_summary(series: dict, trials: int = 20) -> dict:
    """name -> pooled sensitivity/specificity and median/max RMSSD and SDNN errors."""
    res = {}
    for name, rr in series.items():
        odd = base_suspects(rr)
        runs = [injection_trial(rr, seed, suspect=odd) for seed in range(trials)]
        row = {"intervals": len(rr), "trials": trials,
               "injected": sum(r["injected"] for r in runs),
               "raw_rmssd_err": float(np.median([r["raw_rmssd_err"] for r in runs]))}
        for who in ("ours", "nk"):
            tp = sum(r[who]["tp"] for r in runs)
            pos = sum(r[who]["pos"] for r in runs)
            fp = sum(r[who]["fp"] for r in runs)
            tn = sum(r[who]["tn"] for r in runs)
            fp_c = sum(r[who]["fp_clean"] for r in runs)
            tn_c = sum(r[who]["tn_clean"] for r in runs)
            errs = [r[who]["rmssd_err"] for r in runs]
            sd = [r[who]["sdnn_err"] for r in runs]
            row[who] = {"se": tp / pos if pos else 1.0, "sp": tn / (tn + fp) if tn + fp else 1.0,
                        "sp_clean": tn_c / (tn_c + fp_c) if tn_c + fp_c else 1.0,
                        "rmssd_med": float(np.median(errs)), "rmssd_max": float(np.max(errs)),
                        "sdnn_med": float(np.median(sd)), "sdnn_max": float(np.max(sd))}
        row["suspect"] = len(odd)
        res[name] = row
    return res


def artefact_free(rr: np.ndarray) -> np.ndarray:
    """The base series for injection: a real series with what NeuroKit2's corrector finds
    in it corrected by NeuroKit2 (the paper started from verified artefact-free series; an
    independent tool does the cleaning, so our own detector does not pick its test)."""
    return _nk_fix(np.asarray(rr, float))[1]


def base_suspects(rr: np.ndarray) -> set:
    """Base intervals (and their neighbours) that NeuroKit2 still calls artefacts after its
    own correction: the real series keeps some irregular beats NeuroKit2 cannot mend, so
    they are not known to be clean (the paper's base series were verified by hand)."""
    found = _nk_fix(np.asarray(rr, float))[0]
    return {j for i in found for j in (i - 1, i, i + 1)}
