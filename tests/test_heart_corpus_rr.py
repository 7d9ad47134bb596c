"""What issue 19 found on real RR series and the `signal` command: no heartbeat said so,
RR artefacts found and mended, causally, and `signal hrv`'s JSON."""

import json

import numpy as np
import pytest

from empathy.edge.heart_corpus import record_data
from empathy.edge.rr_artefacts import RRCorrector, rr_correct
from empathy.edge.rr_validation import injection_trial
from corpus_records import need
from heart_corpus_common import signal_cli


@pytest.mark.parametrize("what", ["flat", "noise", "pupil"])
def test_no_heartbeat_is_said_and_exits_non_zero(tmp_path, what):
    f = tmp_path / "x.csv"
    if what == "flat":
        np.savetxt(f, np.full(3000, 512.0))
    elif what == "noise":
        np.savetxt(f, np.random.default_rng(0).normal(0, 1, 3000))
    else:
        t = np.arange(0, 60, 1 / 30)
        np.savetxt(f, np.column_stack([t, 4 + 0.3 * np.sin(t / 5)]), delimiter=",",
                   header="time_s,pupil_mm", comments="")
    for kind in ("ppg", "ecg"):
        r = signal_cli("hr", str(f), "--fs", "100" if kind == "ppg" else "250", "--kind", kind)
        if what == "pupil":  # its column is named: refused before any beat is sought
            assert r.returncode == 1 and "pupil diameter" in r.stderr, (kind, r.stderr)
        else:
            assert r.returncode == 3 and "no heartbeat found" in r.stderr, (kind, r.stderr)
        assert "Traceback" not in r.stderr and r.stdout == ""


def test_injected_artefacts_in_a_real_rr_series_are_found_and_mended():
    rr, _ = record_data(need("pyhrv-nni-long"))
    out = injection_trial(rr, seed=1)
    ours = out["ours"]
    assert ours["tp"] / ours["pos"] >= 0.96
    assert ours["rmssd_err"] < 0.05 < out["raw_rmssd_err"]


def test_corrector_is_causal_streaming_equals_batch_and_never_revises():
    rng = np.random.default_rng(3)
    rr = 800 + 30 * np.sin(np.arange(400) / 4) + rng.normal(0, 10, 400)
    rr[100], rr[101] = 500, 1100  # an ectopic beat
    rr[200] = 1600  # a missed beat
    c = RRCorrector()
    streamed = []
    for k, v in enumerate(rr):
        got = c.push(v)
        # decided two intervals later, not before (an ectopic pair's second goes out with
        # its first: both become their mean)
        assert all(o.index <= k - 2 or (o.index == k - 1 and o.label == "ectopic") for o in got)
        streamed += got
    streamed += c.finish()
    batch = rr_correct(rr)
    assert np.allclose([o.rr_ms for o in streamed], batch.rr_ms)
    assert {i for i, _ in batch.artefacts} & {100, 101} and (200, "missed") in batch.artefacts
    assert len(batch.rr_ms) == len(rr) + 1


def test_signal_hrv_json_from_rr_and_from_a_waveform(tmp_path):
    rr = np.array([800, 810, 790, 805, 795, 800, 790, 805, 815, 800, 795, 805, 790, 800,
                   520, 1080, 800, 805, 795, 810, 800, 790, 805, 1610, 800, 790,
                   805, 800, 810, 795, 800, 805.0])
    f = tmp_path / "rr.csv"
    np.savetxt(f, rr, header="rr_ms", comments="", fmt="%.0f")
    r = signal_cli("hrv", str(f), "--kind", "rr", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {"rr_ms", "artefacts", "rmssd_ms", "sdnn_ms", "pnn50", "ectopic"} <= set(out)
    assert {a["index"] for a in out["artefacts"]} & {14, 15}  # the premature beat
    assert {"index": 23, "type": "missed"} in out["artefacts"]
    assert len(out["rr_ms"]) == len(rr) + 1 and max(out["rr_ms"]) < 1000
    text = signal_cli("hrv", str(f), "--kind", "rr")
    assert text.returncode == 0 and "RMSSD" in text.stdout and "missed" in text.stdout
    g = tmp_path / "bad.csv"
    g.write_text("rr_ms\n800\n-5\n810\n")
    bad = signal_cli("hrv", str(g), "--kind", "rr")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "200..10000" in bad.stderr
