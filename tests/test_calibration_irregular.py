"""`calibrate hr --sensor-id` on a heart that does not beat steadily. The reference's rate
was each beat's held on over the next interval (how a display shows it): in bigeminy the
short interval's high rate sat over the long one and the long one's low rate over the
short, so the reference read fast (MIT-BIH 106: about 25 %) and a watch truly 4 % high was
measured 17 % low, a wrong correction for every later viewer of that seat's sensor. Now
each interval's rate covers that interval (its time mean is beats over time, what a device
counts), and a reference heart too irregular to trust a bias from stores none.

Real annotated beats of the corpus's tuning records (bigeminy 106, 119; ventricular ectopy
200; AF 203; sinus arrhythmia 123), worn under sim/hr_watch.py's devices (no code or
constant of calibration/hr.py's): a watch's 8-s average sent 1 s late, a strap's own HR
field, a PPG seat's beats; each 4 % high. Through the CLI's main (its own argument
parsing and error boundary) with CSV files, in this process: 15 runs in their own
processes cost ~30 s of CPU in interpreter and import start-up alone."""

import functools
import json

import numpy as np
import pytest

from corpus_records import need
from empathy.bench.hr_lag_range import record_rr
from empathy.calibration import store
from empathy.cli import main
from empathy.sim.hr_watch import ppg_beats, strap_figures, watch_figures

BIAS = 1.04
T0_US = 1_000_000
IRREGULAR = ("mitdb-106", "mitdb-119", "mitdb-200", "mitdb-203")
# how near the true 4 % the bias measured must be (points): AF's figure devices still read
# 1.8 high (each averages irregular intervals its own way; why nothing is stored)
NEAR = {"mitdb-203": 2.0}


def _csv(path, column: str, t_s, values) -> str:
    path.write_text(f"ts_us,{column}\n" + "".join(
        f"{T0_US + int(round(t * 1e6))},{v:.3f}\n" for t, v in zip(t_s, values) if v > 0))
    return str(path)


@functools.cache  # one read of a record for its three devices
def _rr(name: str) -> np.ndarray:
    return record_rr(name, 300.0)


def _calibrate(tmp_path, capsys, name: str, kind: str) -> tuple[dict, dict]:
    """(the stored correction or {}, the run's JSON) of a `kind` device on `name`'s heart."""
    need(name)
    rr = _rr(name)
    ref = _csv(tmp_path / "ref.csv", "rr_ms", np.cumsum(rr) / 1e3, rr)
    if kind == "ppg":
        dev = _csv(tmp_path / "dev.csv", "rr_ms", *ppg_beats(rr, BIAS))
    elif kind == "strap":
        dev = _csv(tmp_path / "dev.csv", "hr_bpm", *strap_figures(rr, BIAS))
    else:
        dev = _csv(tmp_path / "dev.csv", "hr_bpm", *watch_figures(rr, 8.0, 1.0, BIAS))
    capsys.readouterr()
    main(["calibrate", "hr", "--device", dev, "--reference", ref, "--sensor-id", "seat-3",
          "--store", str(tmp_path / "store"), "--json", "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert "unexpected error" not in err, err[-800:]  # (the boundary's word for a traceback)
    doc = json.loads(out)
    stored = (tmp_path / "store").exists()
    return (store.load_sensor(tmp_path / "store", "seat-3")["hr"] if stored else {}), doc


@pytest.mark.parametrize("kind", ["watch", "strap", "ppg"])
@pytest.mark.parametrize("name", IRREGULAR + ("mitdb-123",))
def test_the_bias_found_on_an_irregular_heart_is_the_devices(tmp_path, capsys, name, kind):
    """Before: 106 -17.9 % (watch), -16.6 (strap); 119 -17.1, -16.2; 200 -7.1, -6.6;
    203 -3.8, -1.2; a device truly 4 % high. Beats against beats were right already (both
    held the same wrong way). Now 4.3-4.9 % (203: 5.8); 123 3.7-4.5 either way."""
    fix, doc = _calibrate(tmp_path, capsys, name, kind)
    f = doc["figures"]
    assert abs(f["bias_pct"] - (BIAS - 1) * 100) < NEAR.get(name, 1.0), f
    if name in IRREGULAR:  # a correction comes from a steady heart
        assert not fix, fix
        assert f["ref_irregular_pct"] > 20, f
        assert any(n.startswith("no correction stored") and "irregular reference rhythm" in n
                   for n in doc["notes"]), doc["notes"]
    else:  # sinus arrhythmia: steady enough, stored, near the truth
        assert f["ref_irregular_pct"] < 10, f
        assert fix and abs(fix["bias_pct"] - (BIAS - 1) * 100) < 0.6, (fix, doc["notes"])


def test_each_half_of_the_record_finds_the_lag_the_whole_does():
    """The halves' lags (whether a lag is stored at all) held each beat's rate over the
    next interval: the whole record found a watch 2.93 s late, each half 2.07 and 2.06 s, an
    interval (0.86 s) early; now 2.97 and 2.93. A heart swinging 55-85 bpm every 23 s, a
    watch's 2-s average sent 1 s late (sim/hr_watch.py)."""
    from empathy.calibration.hr import hr_lag, lag_halves
    from empathy.calibration.recording import HeartTrace, trace_from_beats

    rr, t = [], 0.0
    while t < 300:
        rr.append(60e3 / (70 + 15 * np.sin(2 * np.pi * t / 23.0)))
        t += rr[-1] / 1e3
    rr = np.array(rr)
    ref = trace_from_beats("strap", np.cumsum(rr) / 1e3, rr)
    ts, fig = watch_figures(rr, 2.0, 1.0, 1.0)
    dev = HeartTrace("watch", ts[fig > 0], fig[fig > 0], kind="hr")
    whole = hr_lag(ref, dev, 6.0)[0]
    assert lag_halves(ref, dev, 6.0) == pytest.approx([whole, whole], abs=0.15)
