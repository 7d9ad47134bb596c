"""The ectopic-beat labeller scored against the annotation's ectopic labels (V A a S J E F).

Our detected beats (the corpus's detector, as `signal hr` runs it) are paired with the
annotated beats within ±150 ms (nearest, one to one); a flagged beat on an ectopic label is
found, one on any other label (or on no annotated beat) false; an ectopic annotated beat is
missed when the beat paired with it is not flagged, undetected when none is paired (the
detector's miss, counted in Se's denominator all the same). Se and +P are pooled over the
records, with a 95 % CI from resampling records (a record's beats are not independent).

`--rate HZ` resamples each record first (as edge/ecg_rate_validation does: a strap's
130 Hz); `--why` breaks the missed ectopic beats down by label and by what the rules saw
(`miss_causes`).

    python -m empathy.edge.ectopic_validation [--held-out] [--rate HZ] [--why]
"""

from __future__ import annotations

import sys

import numpy as np

from empathy.edge.beat_score import TOL_S, resampled
from empathy.edge.ectopic_beats import (EARLY, LIKE, UNLIKE, UNLIKE_EARLY, ectopic_beats,
                                        normal_interval, shape_match)
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import (RECORDS, annotated_beats, available, beat_labels,
                                       record_data)

ECTOPIC = "VAaSJEF"  # the WFDB labels of ectopic (premature or escape, fused) beats
COUNTS = ("found", "missed", "undetected", "false")


def labelled_cases(held_out: bool, rate: float | None = None) -> list[dict]:
    """Per ECG record of one set whose annotation keeps the beat labels: our beats (s),
    their shape match, the annotated beats (s) and their labels; at `rate` Hz if given."""
    out = []
    for rec in RECORDS:
        if rec.kind != "ecg" or rec.held_out != held_out or not available(rec):
            continue
        x, fs = record_data(rec)
        lab = beat_labels(rec, len(x))
        if lab is None:
            continue
        ann = annotated_beats(rec, len(x), fs)
        if rate:
            x, fs = resampled(x, fs, rate), rate
        b = waveform_peaks(x, fs, "ecg")
        out.append({"name": rec.name, "t": b.idx / fs, "shape": shape_match(x, fs, b.idx),
                    "ann": ann, "lab": lab})
    return out


def pair(t: np.ndarray, ann: np.ndarray) -> np.ndarray:
    """Per annotated beat, the index of the detected beat paired with it (-1: none)."""
    out = np.full(len(ann), -1)
    if not len(t) or not len(ann):
        return out
    d = np.abs(ann[:, None] - t[None, :])  # a few hundred beats: the full matrix is fine
    cand = np.argwhere(d <= TOL_S)
    used_t = np.zeros(len(t), bool)
    for a, k in cand[np.argsort(d[cand[:, 0], cand[:, 1]], kind="stable")]:
        if out[a] < 0 and not used_t[k]:
            out[a], used_t[k] = k, True
    return out


def score(case: dict, flagged: np.ndarray) -> dict[str, dict[str, int]]:
    """label -> {found, missed, undetected, false}; flagged: indices into case['t']."""
    ann, lab = case["ann"], case["lab"]
    p = pair(case["t"], ann)
    is_flag = np.zeros(len(case["t"]), bool)
    is_flag[np.asarray(flagged, int)] = True
    out: dict[str, dict[str, int]] = {}
    for a, k in enumerate(p):
        c = out.setdefault(str(lab[a]), dict.fromkeys(COUNTS, 0))
        if lab[a] in ECTOPIC:
            c["undetected" if k < 0 else "found" if is_flag[k] else "missed"] += 1
        elif k >= 0 and is_flag[k]:
            c["false"] += 1
    unpaired = is_flag.copy()
    unpaired[p[p >= 0]] = False
    out.setdefault("-", dict.fromkeys(COUNTS, 0))["false"] += int(unpaired.sum())
    return out


def totals(s: dict) -> tuple[int, int, int]:
    """(found, ectopic annotated, flagged) of one record's score."""
    f = sum(c["found"] for c in s.values())
    n = sum(c["found"] + c["missed"] + c["undetected"] for c in s.values())
    return f, n, f + sum(c["false"] for c in s.values())


def pooled_ci(scores: list, n_boot: int = 2000, seed: int = 0) -> dict[str, tuple]:
    """Pooled Se and +P with their 95 % CI from resampling records."""
    t = np.array([totals(s) for s in scores], float)
    rng = np.random.default_rng(seed)
    boot = t[rng.integers(0, len(t), (n_boot, len(t)))].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        se, pp = boot[:, 0] / boot[:, 1], boot[:, 0] / boot[:, 2]
    f, n, m = t.sum(axis=0)
    return {"Se": (f / n, *np.nanpercentile(se, [2.5, 97.5])),
            "+P": (f / m, *np.nanpercentile(pp, [2.5, 97.5]))}


def by_label(scores: list) -> dict[str, dict[str, int]]:
    """The records' scores summed per annotation label."""
    by: dict[str, dict[str, int]] = {}
    for s in scores:
        for k, c in s.items():
            d = by.setdefault(k, dict.fromkeys(COUNTS, 0))
            for q in COUNTS:
                d[q] += c[q]
    return by


def miss_causes(case: dict, flagged: np.ndarray) -> list[tuple[str, str]]:
    """(label, cause) per missed ectopic beat: where its timing (to the local normal
    interval) and shape (shape_match) left it, as the rules see it."""
    t, sh = case["t"], case["shape"]
    rr = np.diff(t)
    ref = normal_interval(rr)
    is_flag = np.zeros(len(t), bool)
    is_flag[np.asarray(flagged, int)] = True
    out = []
    for a, k in enumerate(pair(t, case["ann"])):
        if case["lab"][a] not in ECTOPIC or k < 0 or is_flag[k]:
            continue
        if k == 0 or k == len(t) - 1:
            out.append((str(case["lab"][a]), "first or last beat"))
            continue
        early, like = rr[k - 1] / ref[k - 1], sh[k] >= UNLIKE
        if early >= UNLIKE_EARLY:
            why = "on time, " + ("like on-time beats" if like else "unlike them")
        elif early < EARLY:
            why = "early, no pause or on-time beat after"
        elif like:
            why = "a little early, like on-time beats"
        elif min(sh[k - 1], sh[k + 1]) <= LIKE:
            why = "a little early, unlike, a neighbour unlike too"
        else:
            why = "a little early, unlike, no longer interval after"
        out.append((str(case["lab"][a]), why))
    return out


def why_lines(cases: list, labeller=lambda c: ectopic_beats(c["t"], c["shape"])) -> list[str]:
    """The missed ectopic beats counted by label and cause, as text lines."""
    n: dict[str, dict[str, int]] = {}
    for c in cases:
        for lab, why in miss_causes(c, labeller(c)):
            d = n.setdefault(why, {})
            d[lab] = d.get(lab, 0) + 1
    labs = sorted({k for d in n.values() for k in d})
    lines = [f"{'missed because':48s}" + "".join(f"{k:>6s}" for k in labs) + "   all"]
    for why, d in sorted(n.items(), key=lambda kv: -sum(kv[1].values())):
        lines.append(f"{why:48s}" + "".join(f"{d.get(k, 0):6d}" for k in labs)
                     + f"{sum(d.values()):6d}")
    return lines


def report(cases: list, labeller=lambda c: ectopic_beats(c["t"], c["shape"])) -> list[str]:
    """Per record, per label and pooled, as text lines."""
    scores = [score(c, labeller(c)) for c in cases]
    lines = [f"{'record':16s} found/ectopic  false"]
    for c, s in zip(cases, scores):
        f, n, m = totals(s)
        lines.append(f"{c['name']:16s} {f:4d}/{n:<4d}     {m - f:4d}")
    lines.append("label  " + "  ".join(f"{k:>10s}" for k in COUNTS))
    by = by_label(scores)
    for k in sorted(by, key=lambda k: (k not in ECTOPIC, k)):
        lines.append(f"{k:5s}  " + "  ".join(f"{by[k][q]:10d}" for q in COUNTS))
    ci = pooled_ci(scores)
    lines.append("pooled " + ", ".join(f"{k} {v:.3f} ({lo:.2f}-{hi:.2f})"
                                       for k, (v, lo, hi) in ci.items()))
    return lines


def page_section() -> list[str]:
    """The corpus page's section: by label and pooled, tuning and held-out records apart."""
    lines = ["## ECG: ectopic-beat labels against the annotation", "",
             "What `signal hr` counts as ectopic (edge/ectopic_beats.py) on our detected "
             "beats, against the annotation's ectopic labels (V A a S J E F), paired within "
             "±150 ms: an ectopic label is found, missed (its beat not flagged) or undetected "
             "(no beat of ours there); a flag on any other label (or on no annotated beat, "
             "'-') is false. `python -m empathy.edge.ectopic_validation [--held-out]` gives the "
             "per-record rows. Se and +P with a 95 % CI from resampling records.", ""]
    for held, title in ((False, "tuning"), (True, "held out")):
        scores = [score(c, ectopic_beats(c["t"], c["shape"])) for c in labelled_cases(held)]
        by = by_label(scores)
        ci = pooled_ci(scores)
        lines += [f"**{title.capitalize()} ({len(scores)} records):** " + ", ".join(
            f"{k} {v:.3f} ({lo:.2f}-{hi:.2f})" for k, (v, lo, hi) in ci.items()), "",
            "| label | " + " | ".join(COUNTS) + " |", "|---" * (len(COUNTS) + 1) + "|"]
        lines += [f"| {k} | " + " | ".join(str(by[k][q]) for q in COUNTS) + " |"
                  for k in sorted(by, key=lambda k: (k not in ECTOPIC, k))
                  if any(by[k].values())]
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    rate = None
    if "--rate" in args:
        i = args.index("--rate")
        try:
            rate = float(args[i + 1])
        except (IndexError, ValueError):
            rate = -1.0
        args = args[:i] + args[i + 2:]
    if set(args) - {"--held-out", "--why"} or (rate is not None and not 50 <= rate <= 5000):
        print("usage: python -m empathy.edge.ectopic_validation [--held-out] [--rate HZ "
              "(50-5000)] [--why]", file=sys.stderr)
        return 2
    cases = labelled_cases("--held-out" in args, rate)
    print("\n".join(report(cases) + (why_lines(cases) if "--why" in args else [])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
