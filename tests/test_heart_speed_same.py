"""Speed passes leave the heart path's outputs as they were: a few corpus records' beats
(batch, and streamed in 1-s chunks), corrected RR series with their artefact labels and the
summary figures, digested and pinned as main computed them before session 35's speed pass
(edge/heart_passes.md). A change that only makes the path cheaper keeps these digests; one
that moves a beat, a label or a figure must say so and pin the new ones (running this file
prints them).

Floats enter the digest at 9 significant digits: a CPU whose SIMD paths differ in the last
bit must not fail it; any real change moves a figure far more than that."""

import hashlib

import numpy as np
import pytest

from corpus_records import need
from empathy.edge.heart import BeatStream, waveform_peaks
from empathy.edge.heart_beats import _join
from empathy.edge.heart_corpus import record_data
from empathy.edge.hrv import heart_summary
from empathy.edge.rr_artefacts import rr_correct

# name -> digest of its outputs (outputs() below), computed on main at 285a278
PINNED = {
    "mitdb-208": "c67262b742608146e9cd",  # ECG, PVCs: the corrector's ectopic and long/short paths
    "systole-ecg": "a53fab0c3a8131a06859",  # ECG, 30 min
    "wrist-s1-walk": "2d37a9cb5e5c6453a821",  # PPG under motion: rise gate, search-back
    "bidmc-02": "c1f60271172c05394575",  # PPG at rest
    "heartpy-data3": "2fb83069b1b79e41e55d",  # PPG, 1,100 beats
    "systole-rr": "d0dde7de80fbcfc366c7",  # a strap's RR series
}


def _canon(o) -> str:
    if isinstance(o, dict):
        return "{" + ",".join(f"{k}:{_canon(o[k])}" for k in sorted(o, key=str)) + "}"
    if isinstance(o, np.ndarray):
        return f"{o.dtype.kind}{o.shape}" + _canon(o.tolist())
    if isinstance(o, (list, tuple)):
        return "[" + ",".join(_canon(v) for v in o) + "]"
    if isinstance(o, (float, np.floating)):
        return f"{float(o):.9g}"
    return repr(o)


def outputs(name: str) -> dict:
    rec = need(name)
    x, fs = record_data(rec)
    if rec.kind == "rr":
        rr = np.asarray(x, float)
        t = np.concatenate(([0.0], np.cumsum(rr) / 1000.0))
        return {"rr": rr_correct(rr), "summary": heart_summary(t, np.ones(len(t)), float(t[-1]),
                                                               found=True)}
    kind = rec.kind
    b = waveform_peaks(x, fs, kind)
    st = BeatStream(fs, kind)
    streamed = _join([st.push(x[i:i + int(fs)]) for i in range(0, len(x), int(fs))]
                     + [st.finish()])
    assert all(np.array_equal(u, v) for u, v in zip(b, streamed)), "streaming != batch"
    out = {"beats": b, "rr": rr_correct(np.diff(b.idx / fs) * 1000.0),
           "summary": heart_summary(b.idx / fs, b.sqi, len(x) / fs)}
    if kind == "ecg":
        out["cycles"] = heart_summary(b.idx / fs, b.sqi, len(x) / fs, cycles=True)
    return out


def digest(name: str) -> str:
    return hashlib.sha256(_canon(outputs(name)).encode()).hexdigest()[:20]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_outputs_as_pinned(name):
    assert digest(name) == PINNED[name]


if __name__ == "__main__":  # `python tests/test_heart_speed_same.py`: the digests to pin
    for n in PINNED:
        print(f'    "{n}": "{digest(n)}",')


def test_recent_keeps_the_median_of_what_it_holds_through_every_change():
    """The gates' recent heights/intervals/steepness keep their median between changes
    (thirty-fifth pass, ECG speed): every way the detector changes them must forget it."""
    from empathy.edge.heart_beats import Recent, _median

    r, rng = Recent(8), np.random.default_rng(3)
    for step in range(400):
        how = step % 5
        if how == 0 or len(r) < 2:
            r.append(float(rng.normal()))
        elif how == 1:
            r[-1] += float(rng.normal())
        elif how == 2:
            r[-1] = float(rng.normal())
        elif how == 3:
            r.pop()
        else:
            r.extend(rng.normal(size=3).tolist())
        assert r.median() == _median(list(r))
        if step % 97 == 96:
            r.clear()
            r.append(1.0)
            assert r.median() == 1.0
