"""Heart-rate validation on a real PPG recording (heartpy's data3) with known injected errors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from empathy.calibration.hr import hr_validate, load_profile
from empathy.calibration.recording import RecordingError, load_csv
from empathy.cli import main

# Only heartpy's data file is read: found, not imported (its import, pyplot's with it, cost
# ~0.6 CPU-s in each of the parallel pass's workers, which all collect this file).
HEARTPY = importlib.util.find_spec("heartpy")
if HEARTPY is None:
    pytest.skip("could not import 'heartpy'", allow_module_level=True)


def write_csv(path: Path, column: str, ts_s, values) -> Path:
    rows = "\n".join(f"{int(round(t * 1e6))},{v:.4f}" for t, v in zip(ts_s, values))
    path.write_text(f"ts_us,{column}\n{rows}\n")
    return path


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The reference: the first 150 s of a PPG recording shipped with heartpy (~100 Hz).
    Its wall-clock stamps tick in 15 ms steps, so samples are placed by their index."""
    d = tmp_path_factory.mktemp("hr")
    lines = (Path(HEARTPY.origin).parent / "data" / "data3.csv").read_text().splitlines()[1:]
    stamps = np.array([ln.split(",")[0] for ln in lines], dtype="datetime64[us]")
    span_s = (stamps[-1] - stamps[0]) / np.timedelta64(1, "s")
    fs = (len(lines) - 1) / span_s
    n = int(150 * fs)
    ppg = np.array([float(ln.split(",")[1]) for ln in lines[:n]])
    ref = write_csv(d / "reference_ppg.csv", "ppg", np.arange(n) / fs, ppg)
    beats = load_csv(ref).beat_s  # the beats the reference shows
    return d, ref, beats


def sensor(path: Path, beats: np.ndarray, scale: float, lag_s: float, seed: int,
           drop: tuple[float, float] | None = None) -> Path:
    """A strap-like sensor under test: RR intervals `scale` times short (reads `scale` high),
    reported `lag_s` late with a few ms of timing jitter; optionally silent for a while."""
    rng = np.random.default_rng(seed)
    b = beats + lag_s + rng.normal(0, 0.004, len(beats))
    ts, rr = b[1:], np.diff(b) * 1000 / scale
    if drop:
        keep = (ts < drop[0]) | (ts > drop[1])
        ts, rr = ts[keep], rr[keep]
    return write_csv(path, "rr_ms", ts, rr)


def run(args) -> tuple[int, dict]:
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["calibrate", "hr", *args, "--json"])
    return rc, json.loads(buf.getvalue())


def test_injected_error_is_recovered_and_fails_the_rig(recorded, tmp_path, capsys):
    d, ref, beats = recorded
    dev = sensor(tmp_path / "strap.csv", beats, 1.03, 0.150, seed=1)
    rc, doc = run(["--device", str(dev), "--reference", str(ref), "--out", str(tmp_path)])
    f = doc["figures"]
    assert rc == 1 and doc["passed"] is False
    assert f["lag_ms"] == pytest.approx(150, abs=15)
    assert f["bias_pct"] == pytest.approx(3.0, abs=0.3)
    assert f["bias_bpm"] == pytest.approx(0.03 * f["ref_mean_bpm"], rel=0.1)
    assert f["loa_low_bpm"] < f["bias_bpm"] < f["loa_high_bpm"]
    assert f["beat_agreement_pct"] == 100.0  # lag removed, every beat is found
    failed = {c["name"] for c in doc["checks"] if not c["ok"]}
    assert {"|bias|", "|lag|"} <= failed
    assert "reads high" in capsys.readouterr().err
    page = Path(doc["report"]).read_text()
    assert "Bland-Altman" in page and page.count("data:image/png;base64,") == 3
    assert json.loads(Path(doc["json"]).read_text())["figures"] == f


def test_clean_pair_passes(recorded, tmp_path):
    d, ref, beats = recorded
    dev = sensor(tmp_path / "strap.csv", beats, 1.0, 0.010, seed=2)
    rc, doc = run(["--device", str(dev), "--reference", str(ref), "--out", str(tmp_path)])
    assert rc == 0 and doc["passed"] and doc["reasons"] == []
    assert abs(doc["figures"]["bias_bpm"]) < 0.3
    assert doc["figures"]["lag_ms"] == pytest.approx(10, abs=15)


def test_dropout_and_missed_beats_fail(recorded, tmp_path):
    d, ref, beats = recorded
    dev = sensor(tmp_path / "strap.csv", beats, 1.0, 0.0, seed=3, drop=(40.0, 52.0))
    res = hr_validate(load_csv(ref), load_csv(dev), load_profile("seat_ppg"))
    assert not res.passed
    assert res.figures["dropout_pct"] > 5
    assert res.figures["beat_agreement_pct"] < 95
    assert any("dropouts" in r for r in res.reasons)


def test_ecg_reference_against_hr_only_sensor(tmp_path):
    """An ECG reference (NeuroKit2 simulation) and a sensor that reports heart rate only."""
    nk = pytest.importorskip("neurokit2")
    fs = 250
    ecg = nk.ecg_simulate(duration=90, sampling_rate=fs, heart_rate=68, heart_rate_std=4,
                          random_state=4)
    t = np.arange(len(ecg)) / fs
    ref = load_csv(write_csv(tmp_path / "ecg.csv", "ecg", t, ecg))
    # A watch that reports once a second the heart rate of the last beat, 0.4 s late. Holding
    # each value for a second adds half a second of lag on average: 0.9 s; and the interval
    # it measured is centred one interval before the moment (half of one since its beat,
    # half its length): 0.9 s + RR behind the heart.
    ts = np.arange(2.0, 88.0, 1.0)
    hr = ref.hr_bpm[np.searchsorted(ref.t_s, ts) - 1]
    dev = load_csv(write_csv(tmp_path / "watch.csv", "hr_bpm", ts + 0.4, hr))
    res = hr_validate(ref, dev, load_profile("seat_ppg"))
    rr_ms = 60000 / np.mean(ref.hr_bpm)
    assert res.figures["lag_ms"] == pytest.approx(900 + rr_ms, abs=120)
    assert abs(res.figures["bias_bpm"]) < 0.5
    assert "beat_agreement_pct" not in res.figures
    assert any("beat agreement not checked" in n for n in res.notes)


def test_bad_inputs_say_what_is_wrong(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("ts_us,rr_ms\n1000,800\n2000,eight hundred\n")
    with pytest.raises(RecordingError, match=r"bad.csv:3: not two finite numbers"):
        load_csv(bad)
    (tmp_path / "nan.csv").write_text("ts_us,hr_bpm\n1000,nan\n")
    with pytest.raises(RecordingError, match=r"nan.csv:2: not two finite numbers"):
        load_csv(tmp_path / "nan.csv")
    (tmp_path / "hdr.csv").write_text("time,bpm\n1,60\n")
    with pytest.raises(RecordingError, match="header must be"):
        load_csv(tmp_path / "hdr.csv")
    prof = tmp_path / "rig.toml"
    prof.write_text("name = 'x'\n[limits]\nmax_bias = 1.0\n")
    assert main(["calibrate", "hr", "--device", str(bad), "--reference", str(bad),
                 "--profile", str(prof), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "rig.toml:3: limits.max_bias: unknown key" in err
    assert main(["calibrate", "hr", "--device", str(bad), "--reference",
                 str(tmp_path / "nope.csv"), "--out", str(tmp_path)]) == 1
    assert "nope.csv: cannot read" in capsys.readouterr().err
    assert not (tmp_path / "hr.json").exists()  # no report for a run that never measured


def test_a_recording_that_is_no_file_or_has_absurd_stamps_is_refused(tmp_path):
    """Before: a FIFO as --device hung `calibrate hr` (open() waits for a writer; /dev/zero
    read without end), and stamps of 1e30 us read as 'ts_us does not increase' (float
    steps lost past 2**53 us)."""
    import os
    import threading

    os.mkfifo(tmp_path / "dev.csv")
    said = []
    t = threading.Thread(target=lambda: said.append(_refusal(tmp_path / "dev.csv")), daemon=True)
    t.start()
    t.join(5)
    assert said and "a FIFO (named pipe), not a recording file" in said[0], said
    (tmp_path / "far.csv").write_text("ts_us,hr_bpm\n" + "".join(
        f"{10**30 + k * 10**6},75\n" for k in range(20)))
    assert "far.csv:2: ts_us 1e+30 is out of range" in _refusal(tmp_path / "far.csv")


def _refusal(path) -> str:
    with pytest.raises(RecordingError) as e:
        load_csv(path)
    return str(e.value)


@pytest.mark.slow
def test_live_sources_recorded_side_by_side(tmp_path):
    """Two simulated straps on the same viewer, recorded live through the Source protocol.
    Each simulation's clock starts when it is opened, so the second one is late by however
    long opening took (milliseconds, or more on a busy machine): a real lag, found as such."""
    url = "sim://seat?seed=5&faces=0"
    rc, doc = run(["--device", url, "--reference", url, "--duration", "40", "--out",
                   str(tmp_path)])
    f = doc["figures"]
    assert f["windows"] >= 5 and f["lag_ms"] >= -1
    assert abs(f["bias_bpm"]) < 0.1 and f["beat_agreement_pct"] == 100.0
    assert rc == (0 if f["lag_ms"] <= 100 else 1), doc["reasons"]


def test_an_unknown_rig_profile_names_the_shipped_ones(tmp_path, capsys):
    """`--profile seat-ppg` (a typo) said only that calibration/profiles/seat-ppg.toml
    cannot be read; the user is told which names there are."""
    rc = main(["calibrate", "hr", "--device", str(tmp_path / "d.csv"), "--reference",
               str(tmp_path / "r.csv"), "--profile", "seat-ppg", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and "no rig profile 'seat-ppg'" in err, err
    assert "chest_strap, seat_ppg" in err and err.count("\n") == 1, err


def test_a_live_sensor_against_a_file_says_they_never_meet(tmp_path, capsys):
    """docs/guide-tester.md's example recorded a board live against a reference CSV: a file
    was recorded before the run, on another clock, so the two never overlap, and the user
    read only "the recordings overlap by less than 10 s (after the lag search)"."""
    ref = tmp_path / "ref.csv"
    ref.write_text("ts_us,hr_bpm\n" + "".join(f"{i * 1000000},70\n" for i in range(60)))
    rc = main(["calibrate", "hr", "--device", "sim://seat?seed=3", "--reference", str(ref),
               "--duration", "8", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1, err
    assert "never share a moment" in err and "two URLs" in err, err
