"""A heart-rate device that sends no RR intervals, as the unit runs it (edge/device_hr.py):
figures no heart makes are counted in the unit's stats, where a venue sees a device sending
garbage; and its stored calibration (`calibrate hr --sensor-id`) undoes its bias and lag."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from empathy.bench.seat_hr import window_rate
from empathy.bench.strap_loss import T0_US, arrhythmia
from empathy.calibration import store
from empathy.calibration.hr import hr_validate, load_profile as load_rig
from empathy.calibration.recording import trace_from_beats, trace_from_readings
from empathy.edge.features import SeatFeatures
from empathy.edge.latency import HR_WINDOW_S
from empathy.edge.profile import load_profile
from empathy.keys import Keystore
from empathy.sensors.base import HeartRate
from empathy.sim.hr_device import HrDevice
from empathy.wire import Flag


def _edge_run(tmp_path, source: str, until: str) -> tuple[dict, str]:
    """`edge run` till it has said `until` (then SIGTERM: a show's end), not for a fixed
    time: a 3-s run read none of a 1.6-s replay at load 22-24 (its stats {})."""
    Keystore.new([1]).for_unit(1).save(tmp_path / "k.toml")
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'unit_id = 1\nuplink = "udp://127.0.0.1:9"\nkeystore = "{tmp_path}/k.toml"\n'
                   f'faces = false\nsync_hz = 0\nseq_file = "{tmp_path}/unit1.seq"\n'
                   f'[[seats]]\nseat_id = 1\nsource = "{source}"\n'
                   '[[seats]]\nseat_id = 2\nsource = "sim://seat?seed=2&faces=0"\n')
    p = subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                          str(cfg), "--duration", "120", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said = []
    try:
        for line in p.stderr:  # till it is said, or the unit ends (120 s)
            said.append(line)
            if until in line:
                p.send_signal(signal.SIGTERM)
                break
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    said = "".join(said) + err
    assert p.returncode == 0 and "Traceback" not in said, said[-800:]
    return json.loads(out.strip().splitlines()[-1]), said


def test_a_device_sending_figures_no_heart_makes_shows_in_the_units_stats(tmp_path):
    """A figure a second, played ten times as fast: 0 is the device's "no reading" (not
    garbage); 255, 300 and 12 bpm are no heart's (255: a byte of all ones)."""
    figures = [72, 73, 255, 72, 0, 0, 74, 300, 73, 12, 72, 255, 73, 74, 72, 73]
    csv = tmp_path / "watch.csv"
    csv.write_text("ts_us,hr_bpm\n" + "".join(f"{(i + 1) * 1_000_000},{v}\n"
                                               for i, v in enumerate(figures)))
    stats, said = _edge_run(tmp_path, f"replay://{csv}?speed=10", "(4 in all)")
    assert stats["device_hr_rejected"] == {"1": 4}  # seat 2 has no device: not listed
    # and in the log as it happens (checked once a second)
    lines = [ln for ln in said.splitlines() if "figures no heart makes" in ln]
    assert lines and all("seat 1:" in ln for ln in lines) and "(4 in all)" in lines[-1], said


def _watch_run(profile, bias=1.08, late_s=1.5, seconds=150.0, seed=5):
    """A still viewer's real-shaped sinus rhythm worn under a watch that sends its own figure
    once a second (sim/hr_device.py), `bias` high and `late_s` late; the seat reads it with
    `profile`. [(t s, flags, HR, the true 8-s rate)], and the seat."""
    rng = np.random.default_rng(seed)
    rr = arrhythmia(seconds + 5, rng)
    ends = np.concatenate(([0.0], np.cumsum(rr) / 1e3))
    dev, f, out, k = HrDevice("contact"), SeatFeatures(baseline_s=10, profile=profile), [], 1
    for t in np.arange(0.3, seconds, 1.0):
        while k < len(ends) and ends[k] <= t:
            dev.beat(ends[k], rr[k - 1])
            k += 1
        bpm, contact = dev.tick(t)
        arrive = T0_US + int((t + late_s) * 1e6)
        f.add(HeartRate(arrive, float(round(bpm * bias)), contact))
        e = f.estimate(arrive + 1000)
        out.append((t, e["flags"], e["hr_bpm"], window_rate(ends, t, HR_WINDOW_S)))
    return out, f


def test_a_calibrated_watchs_figure_is_corrected_by_its_stored_bias_and_lag(tmp_path):
    store.save_sensor(tmp_path, "watch-7", "hr", {"bias_pct": 8.0, "lag_ms": 1500.0})
    fixed, seat = _watch_run(load_profile(tmp_path, heart_sensor="watch-7"))
    plain, _ = _watch_run(load_profile(tmp_path))

    def err(rows):
        late = [r for r in rows if r[0] >= 20]
        ok = [r for r in late if r[1] & Flag.HR_OK]
        assert len(ok) >= 0.95 * len(late)  # its freshness is the device's, lag or not
        return np.median([r[2] - r[3] for r in ok])

    assert err(plain) > 4.0  # 8 % high: about 5 bpm at rest
    assert abs(err(fixed)) < 1.5
    # the lag undone: the seat's last signal is when the heart beat, not when it arrived
    assert seat.viewer_state()["last_signal_us"] == T0_US + int((149.3 + 1.5) * 1e6) - 1_500_000


def _figures(seconds=400.0, seed=11, bias=1.06):
    """A reference's beats and a watch's own figures (once a second, `bias` high) of one
    sinus rhythm: [(ts_us, rr_ms)], [HeartRate] as its source gives them."""
    rng = np.random.default_rng(seed)
    rr = arrhythmia(seconds, rng)
    ends = np.cumsum(rr) / 1e3
    dev, k, figures = HrDevice("contact"), 0, []
    for t in np.arange(0.3, ends[-1] - 2, 1.0):
        while k < len(ends) and ends[k] <= t:
            dev.beat(ends[k], rr[k])
            k += 1
        bpm, contact = dev.tick(t)
        figures.append(HeartRate(T0_US + int(t * 1e6), float(round(bpm * bias)), contact))
    return [(T0_US + int(e * 1e6), r) for e, r in zip(ends, rr)], figures


def test_calibrate_hr_reads_a_live_device_that_sends_only_its_figure():
    """`calibrate hr --device ble://...` of a watch: its recorded readings are figures, no
    beats and no waveform (refused before: "the source gave no beats and no waveform")."""
    beats, figures = _figures()
    figures[5:8] = [HeartRate(f.ts_us, 0.0, False) for f in figures[5:8]]  # taken off
    dev = trace_from_readings("ble://watch", figures)
    ref = trace_from_beats("ref", np.array([t for t, _ in beats]) / 1e6,
                           np.array([r for _, r in beats]))
    assert dev.kind == "hr" and dev.beat_s is None
    assert len(dev.t_s) == sum(f.hr_bpm > 0 for f in figures) == len(figures) - 4
    res = hr_validate(ref, dev, load_rig(str(WIDE_RIG)))
    assert res.figures["bias_pct"] == pytest.approx(6.0, abs=1.0)


WIDE_RIG = Path(__file__).resolve().parent / "data" / "rig_wide_lag.toml"
SHORT_RIG = Path(__file__).resolve().parent / "data" / "rig_short_lag.toml"


@pytest.mark.parametrize("rig, late_s, why", [
    (str(SHORT_RIG), 0.0, "edge of the"),  # its 3-s search: the watch's lag is beyond it
    (str(WIDE_RIG), 10.0, "the edge undoes"),  # found (13.5 s: it averages and relays
    # its figure 10 s late), not undone
])
def test_calibrate_hr_stores_no_lag_it_did_not_measure_or_the_edge_cannot_undo(
        tmp_path, rig, late_s, why):
    beats, figures = _figures()
    figures = [HeartRate(f.ts_us + int(late_s * 1e6), f.hr_bpm, f.contact) for f in figures]
    (tmp_path / "ref.csv").write_text("ts_us,rr_ms\n" + "".join(f"{t},{r:.1f}\n"
                                                                for t, r in beats))
    (tmp_path / "dev.csv").write_text("ts_us,hr_bpm\n" + "".join(
        f"{f.ts_us},{f.hr_bpm:g}\n" for f in figures if f.hr_bpm))
    p = subprocess.run([sys.executable, "-m", "empathy.cli", "calibrate", "hr", "--device",
                        str(tmp_path / "dev.csv"), "--reference", str(tmp_path / "ref.csv"),
                        "--sensor-id", "watch-7", "--store", str(tmp_path / "store"),
                        "--profile", rig, "--json", "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    assert "Traceback" not in p.stderr, p.stderr[-800:]
    doc = json.loads(p.stdout)
    # the bias, a mean, does not rest on the lag: stored, with no lag
    fix = store.load_sensor(tmp_path / "store", "watch-7")["hr"]
    assert fix["lag_ms"] == 0.0 and abs(fix["bias_pct"] - 6.0) < 1.0, fix
    assert any(n.startswith("no lag stored") and why in n for n in doc["notes"]), doc["notes"]
