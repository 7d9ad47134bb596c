"""The figures behind test_ecg_spike's xfail: do the lone extra beats of MIT-BIH 106 V1
(the sharp spikes at 73.1 and 76.8 s, the burst's beats alone in a PVC's pause) differ from
true beats by their raw complex or their rhythm? Every ECG tuning record with an annotation;
no held-out record is read. Run: nice .venv/bin/python tests/ecg_spike_sweep.py"""

import collections
import warnings

import numpy as np
from scipy import signal

from empathy.edge.beat_score import matched_ref
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import (RECORDS, annotated_beats, available, beat_labels,
                                       record_data)

warnings.filterwarnings("ignore")


def complex_features(x, fs, i, hf, mid):
    """Width at half height and largest one-sample step (of the height) of the largest raw
    deflection within 60 ms (baseline: the median over +-150 ms); over-40-Hz RMS within
    50 ms, and over 0.1-0.5 s before, against the 5-20 Hz peak."""
    s = lambda t: max(1, int(round(t * fs)))  # noqa: E731
    w = x[max(i - s(.06), 0):i + s(.06)] - np.median(x[max(i - s(.15), 0):i + s(.15)])
    k = int(np.abs(w).argmax())
    a, sg, lo, hi = abs(w[k]), np.sign(w[k]), k, k
    while lo > 0 and w[lo - 1] * sg >= a / 2:
        lo -= 1
    while hi < len(w) - 1 and w[hi + 1] * sg >= a / 2:
        hi += 1
    q = slice(max(i - s(.05), 0), i + s(.05))
    m = np.abs(mid[q]).max()
    return ((hi - lo + 1) / fs, np.abs(np.diff(w)).max() / a, np.sqrt(np.mean(hf[q] ** 2)) / m,
            np.sqrt(np.mean(hf[max(i - s(.5), 0):max(i - s(.1), 1)] ** 2)) / m)


def main():
    rules = {"half height <= 12.5 ms": lambda f: f[0] <= 0.0125,
             "and one-sample step >= 0.5": lambda f: f[0] <= 0.0125 and f[1] >= 0.5,
             "over 40 Hz / 5-20 Hz > 0.25 and noise before > 0.09": lambda f: f[2] > .25 and f[3] > .09}
    hits = {n: (collections.Counter(), collections.Counter()) for n in rules}
    short = collections.defaultdict(list)  # beats before an N beat, early against N's intervals
    for rec in RECORDS:
        if rec.kind != "ecg" or rec.held_out or not available(rec):
            continue
        x, fs = record_data(rec)
        ann = annotated_beats(rec, len(x), fs)
        if ann is None or fs < 100:
            continue
        b = waveform_peaks(x, fs, "ecg")
        got = b.idx / fs
        true = matched_ref(got, ann)
        hf = signal.sosfiltfilt(signal.butter(3, 40, "high", fs=fs, output="sos"), x)
        mid = signal.sosfiltfilt(signal.butter(3, [5, 20], "bandpass", fs=fs, output="sos"), x)
        for j, i in enumerate(b.idx):
            f = complex_features(x, fs, int(i), hf, mid)
            for n, rule in rules.items():
                if rule(f):
                    hits[n][0 if true[j] else 1][rec.name] += 1
        lab = beat_labels(rec, len(x))
        if lab is None:
            continue
        k = np.clip(np.searchsorted(ann, got), 1, len(ann) - 1)
        k = np.where(np.abs(ann[k - 1] - got) < np.abs(ann[k] - got), k - 1, k)
        is_n = true & (np.asarray(lab).astype(str)[k] == "N")
        before_n = collections.deque(maxlen=8)  # the intervals that ended in an N beat
        for j in range(1, len(got) - 1):
            if is_n[j + 1]:
                gap = got[j + 1] - got[j]
                if len(before_n) >= 4 and gap < 0.6 * np.median(before_n):
                    short[rec.name].append((round(float(got[j]), 2), bool(true[j]),
                                            round(float(gap / np.median(before_n)), 2)))
                before_n.append(gap)
    for n, (tp, fp) in hits.items():
        print(f"{n}: true {sum(tp.values())} {dict(tp)}; extra {sum(fp.values())} {dict(fp)}")
    print("a beat under 0.6 of N's usual interval before an annotated N (t, true, ratio):")
    for name, v in short.items():
        print(" ", name, v)


if __name__ == "__main__":
    main()
