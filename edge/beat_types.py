"""Sensitivity by beat type on the labelled MIT-BIH excerpts, EC57-style (the corpus page's
section; `heart_validation` scores the records, this splits what it found by label).

A beat counts as found when `beat_score.matched_ref` pairs it with a detection, the same
one-to-one ±150 ms pairing behind every Se on the page, so a detector's found beats over
all labels are its TP against the annotation.
"""

from __future__ import annotations

import numpy as np

from empathy.edge.beat_score import Match, matched_ref

# WFDB's names for the beat labels that occur in the corpus's excerpts
NAMES = {"N": "normal", "L": "left bundle-branch block", "R": "right bundle-branch block",
         "V": "ventricular premature", "A": "atrial premature", "/": "paced",
         "F": "fusion of ventricular and normal", "f": "fusion of paced and normal",
         "j": "junctional escape", "J": "junctional premature", "E": "ventricular escape",
         "S": "supraventricular premature", "a": "aberrated atrial premature",
         "e": "atrial escape", "Q": "unclassifiable"}
ORDER = "NLR/VFfAaJSjeEQ"  # column order: the common kinds first


def type_counts(ann_s: np.ndarray, labels: np.ndarray, beats_s) -> dict[str, tuple[int, int]]:
    """label -> (beats of that label the detection found, beats of that label)."""
    order = np.argsort(ann_s, kind="stable")  # matched_ref answers in sorted order
    found = np.zeros(len(ann_s), bool)
    found[order] = matched_ref(ann_s, np.asarray([] if beats_s is None else beats_s, float))
    return {k: (int(found[labels == k].sum()), int(np.sum(labels == k)))
            for k in np.unique(labels).tolist()}


def _kinds(counts) -> list[str]:
    seen = {k for c in counts for k in c}
    return [k for k in ORDER if k in seen] + sorted(seen - set(ORDER))


def _pool(per_record: list[dict]) -> dict[str, dict[str, tuple[int, int]]]:
    """detector -> label -> (found, n), summed over records."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for rec in per_record:
        for det, counts in rec.items():
            d = out.setdefault(det, {})
            for k, (f, n) in counts.items():
                f0, n0 = d.get(k, (0, 0))
                d[k] = (f0 + f, n0 + n)
    return out


def _se(f: int, n: int) -> str:
    return f"{f / n:.3f} ({f}/{n})" if n else ""


def _summary_line(title: str, rs: list[dict], pooled: dict) -> str:
    """EC57's headline figures: pooled QRS Se / +P, pooled V Se; ours beside the best peer."""
    qrs = {d: sum((r["rows"][d][0] if d in r["rows"] else Match(0, 0, len(r["annotated"]))
                   for r in rs), start=Match(0, 0, 0)) for d in pooled}
    peers = [d for d in pooled if d != "ours"]
    best_qrs = max(peers, key=lambda d: qrs[d].f1)
    v = {d: pooled[d].get("V", (0, 0)) for d in pooled}
    best_v = max(peers, key=lambda d: v[d][0])
    n = qrs["ours"].tp + qrs["ours"].fn
    return (f"**{title}** ({len(rs)} records, {n} beats, {v['ours'][1]} V): QRS Se / +P ours "
            f"{qrs['ours'].se:.4f} / {qrs['ours'].ppv:.4f}, best peer by pooled F1 {best_qrs} "
            f"{qrs[best_qrs].se:.4f} / {qrs[best_qrs].ppv:.4f}; V-beat Se ours "
            f"{_se(*v['ours'])}, best peer by V Se {best_v} {_se(*v[best_v])}.")


def page_section(results: list[dict]) -> list[str]:
    """Pooled tables for the tuning and the held-out set, then every record, every
    detector; `results`: heart_validation.score_record's, those with labels are used."""
    rs = [r for r in results if r.get("labels") is not None]
    if not rs:
        return []
    counts = [{d: type_counts(r["annotated"], r["labels"], b) for d, b in r["beats"].items()}
              for r in rs]
    lines = ["## ECG: sensitivity by beat type (EC57)", "",
             "Every labelled excerpt (MIT-BIH and QT Database): those cut from tpcp's copy "
             "(labels from `edge/heart_reference/mitdb-labels.txt`, checked beat for beat "
             "against the excerpts), the Kaggle-format V1 excerpts, the first minutes from ATM "
             "exports, the Noise Stress Test and QT Database excerpts (labels in the excerpt) "
             "and mitdb-208 (`208.atr`). A beat is found when the one-to-one ±150 ms pairing "
             "behind Se pairs it with a detection, so a row's found beats over all labels are "
             "its TP. Labels: "
             + ", ".join(f"{k} {NAMES[k]}" for k in _kinds(c for cs in counts for c in cs.values())
                         if k in NAMES) + ". "
             "The labels of the tpcp excerpts and of mitdb-208 came after every detector "
             "change on this page: this section reports, nothing was tuned on it; the held-out "
             "records (102, 114, 121, 208, fifteen first minutes and eleven QT Database "
             "excerpts) are pooled apart. A peer "
             "that failed on a record "
             "counts as finding none of its beats. Beats of one record are not independent: "
             "read the counts, not only the fractions.", ""]
    for held, title in ((False, "Tuning records"), (True, "Held-out records")):
        part = [(r, c) for r, c in zip(rs, counts) if r["rec"].held_out == held]
        if not part:
            continue
        pooled = _pool([c for _, c in part])
        kinds = _kinds([pooled["ours"]])
        lines += [_summary_line(title, [r for r, _ in part], pooled), "",
                  "| detector | all | " + " | ".join(kinds) + " |",
                  "|---|---|" + "---|" * len(kinds)]
        for d, c in pooled.items():
            total = [sum(f for f, _ in c.values()), sum(n for _, n in c.values())]
            lines.append(f"| {d} | {_se(*total)} | " +
                         " | ".join(_se(*c.get(k, (0, 0))) for k in kinds) + " |")
        lines.append("")
    kinds = _kinds(c for cs in counts for c in cs.values())
    lines += ["Per record (found / annotated):", "",
              "| record | held out | detector | all | " + " | ".join(kinds) + " |",
              "|---|---|---|---|" + "---|" * len(kinds)]
    for r, cs in zip(rs, counts):
        for d, c in cs.items():
            f, n = sum(f for f, _ in c.values()), sum(n for _, n in c.values())
            lines.append(f"| {r['rec'].name} | {'yes' if r['rec'].held_out else ''} | {d} | "
                         f"{f} / {n} | " + " | ".join(
                             f"{c[k][0]} / {c[k][1]}" if k in c else "" for k in kinds) + " |")
    return lines + [""]
