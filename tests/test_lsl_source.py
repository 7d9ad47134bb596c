"""`lsl://` sources against real pylsl outlets on loopback: an ECG amplifier, an eye tracker
and an EDA sensor as a lab would stream them."""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pylsl
import pytest

from empathy.edge.features import SeatFeatures
from empathy.sensors.base import Health, Pupil, SourceError, Waveform, open_source
from empathy.sensors.lsl import lsl_offset_us
from polling import collect as polled

pytestmark = [pytest.mark.timeout(120), pytest.mark.realtime]  # streams in real time: the light pass


def collect(src, until, timeout_s=30.0) -> list:
    return polled(src, until, timeout_s)


def ecg_wave(duration_s: float, fs: float, bpm: float, seed: int = 0) -> np.ndarray:
    import neurokit2 as nk

    return nk.ecg_simulate(duration=duration_s, sampling_rate=int(fs), heart_rate=bpm,
                           noise=0.02, method="simple", random_state=seed)


class Outlet:
    """A device streaming `x` (samples x channels) at fs in real time, each chunk stamped
    with when its first sample was measured: `late_s` before it is pushed. `rate`: its
    clock's real rate against the fs it declares (1.05: 5 % fast)."""

    def __init__(self, name: str, kind: str, x: np.ndarray, fs: float, labels=None,
                 units=None, late_s: float = 0.0, chunk: int = 10, rate: float = 1.0):
        self.source_id = f"test-{uuid.uuid4().hex[:8]}"
        x = np.asarray(x, float).reshape(len(x), -1)
        info = pylsl.StreamInfo(name, kind, x.shape[1], fs, pylsl.cf_float32, self.source_id)
        chans = info.desc().append_child("channels")
        for i in range(x.shape[1]):
            c = chans.append_child("channel")
            c.append_child_value("label", (labels or [f"ch{k}" for k in range(x.shape[1])])[i])
            c.append_child_value("unit", (units or ["mV"] * x.shape[1])[i])
        self.outlet = pylsl.StreamOutlet(info)
        self.x, self.fs, self.late_s, self.chunk = x, fs * rate, late_s, chunk
        self.t0 = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        self.t0 = pylsl.local_clock()
        i = 0
        while not self._stop.is_set() and i < len(self.x):
            due = self.t0 + (i + self.chunk) / self.fs + self.late_s
            self._stop.wait(max(0.0, due - pylsl.local_clock()))
            part = self.x[i:i + self.chunk]
            # LSL takes a chunk's stamp as its newest sample's and derives the others
            self.outlet.push_chunk(part.tolist(), self.t0 + (i + len(part) - 1) / self.fs)
            i += len(part)

    def stop(self):
        self._stop.set()
        self.thread.join(5)


def test_lsl_local_clock_is_the_edge_clock():
    """The edge stamps with CLOCK_MONOTONIC; on Linux LSL's local_clock is the same clock."""
    a = time.clock_gettime(time.CLOCK_MONOTONIC)
    b = pylsl.local_clock()
    c = time.clock_gettime(time.CLOCK_MONOTONIC)
    assert a <= b <= c
    assert abs(lsl_offset_us()) < 50


def test_ecg_stream_feeds_heart_rate_with_its_measurement_times():
    fs, bpm = 250.0, 72.0
    dev = Outlet("TestAmp ECG", "ECG", ecg_wave(30, fs, bpm), fs, late_s=0.3).start()
    src = open_source(f"lsl://TestAmp%20ECG?source_id={dev.source_id}&resolve_s=10")
    try:
        assert src.wait_connected(20), src.stats()
        got = collect(src, lambda out: sum(len(r.samples) for r in out
                                           if isinstance(r, Waveform)) >= 15 * fs)
    finally:
        src.close()
        dev.stop()
    waves = [r for r in got if isinstance(r, Waveform)]
    assert all(w.kind == "ecg" and w.fs_hz == fs for w in waves)
    assert src.stats()["kind"] == "ecg" and src.stats()["channel"] == "ch0"
    # Each chunk keeps the time its first sample was measured (the device's stamp, 0.3 s
    # before it was sent), on our clock: LSL's clock sync on loopback is within a ms.
    x = np.concatenate([w.samples for w in waves])
    start = (waves[0].ts_us / 1e6 - dev.t0) * fs
    assert abs(start - round(start)) * 1e3 / fs < 1.0
    assert np.allclose(x, dev.x[int(round(start)):int(round(start)) + len(x), 0], atol=1e-6)
    for w in waves[1:]:
        k = (w.ts_us / 1e6 - dev.t0) * fs
        assert abs(k - round(k)) < 0.25, "chunks stamped where their samples belong"
    feats = SeatFeatures(baseline_s=5)
    for r in got:
        feats.add(r)
    est = feats.estimate(waves[-1].ts_us + int(len(waves[-1].samples) * 1e6 / fs))
    assert est["hr_bpm"] == pytest.approx(bpm, abs=3)


def test_a_device_whose_clock_runs_fast_keeps_one_stream_and_its_heart_rate():
    """An amplifier declaring 250 Hz whose clock runs 5 % fast: its stamps (LSL's, on our
    clock) leave the declared count by 0.5 s after 10 s. The seat follows its clock: one
    detector all along, and HR in our time (the body's 72 bpm, not 5 % more)."""
    fs, bpm, rate = 250.0, 72.0, 1.05
    dev = Outlet("TestAmp Fast", "ECG", ecg_wave(30, fs * rate, bpm), fs, rate=rate).start()
    src = open_source(f"lsl://TestAmp%20Fast?source_id={dev.source_id}&resolve_s=10")
    feats, waves, detector = SeatFeatures(baseline_s=5), [], None
    try:
        assert src.wait_connected(20), src.stats()
        end = time.monotonic() + 30
        while sum(len(w.samples) for w in waves) < 12 * fs * rate and time.monotonic() < end:
            for r in src.read(0.05):
                feats.add(r)
                if isinstance(r, Waveform):
                    waves.append(r)
                    detector = detector or feats.waves["ecg"]  # the first chunk's
                    assert feats.waves["ecg"] is detector, "restarted"
    finally:
        src.close()
        dev.stop()
    assert sum(len(w.samples) for w in waves) >= 12 * fs * rate
    assert detector.clock.rate_error() == pytest.approx(0.05, abs=0.005)
    est = feats.estimate(int(detector.clock.expected_us()))
    assert est["hr_bpm"] == pytest.approx(bpm, abs=2)


def test_eye_tracker_pupil_channel_by_label_with_confidence_and_blinks():
    fs = 120.0
    n = int(4 * fs)
    d = 3.0 + 0.5 * np.sin(np.arange(n) / fs)
    conf = np.full(n, 0.9)
    d[200:230] = np.nan  # a blink: the tracker says NaN
    d[300] = 40.0  # a glitch out of any eye's range
    x = np.column_stack([np.full(n, 0.5), d, conf])
    dev = Outlet("Tracker", "Gaze", x, fs, labels=["norm_pos_x", "diameter0_3d",
                                                   "confidence"]).start()
    src = open_source(f"lsl://Tracker?source_id={dev.source_id}&kind=pupil"
                      "&channel=diameter0_3d&confidence=confidence")
    try:
        got = collect(src, lambda out: sum(isinstance(r, Pupil) for r in out) >= n - 20)
    finally:
        src.close()
        dev.stop()
    pupils = [r for r in got if isinstance(r, Pupil)]
    lost = [p for p in pupils if p.confidence == 0]
    assert 30 <= len(lost) <= 31 and all(p.diameter_mm == 0 for p in lost)
    good = [p for p in pupils if p.confidence > 0]
    assert all(2.4 < p.diameter_mm < 3.6 and p.confidence == pytest.approx(0.9) for p in good)
    assert src.stats()["rejected"] == 1  # the 40 mm glitch, counted


def test_eda_in_nanosiemens_arrives_in_microsiemens_and_garbage_is_dropped():
    fs = 32.0
    n = int(6 * fs)
    eda_ns = 2000 + 300 * np.sin(np.arange(n) / fs)
    eda_ns[100] = -50  # a disconnected electrode
    dev = Outlet("EmotiBit EDA", "EDA", eda_ns, fs, units=["nS"]).start()
    src = open_source(f"lsl://?type=EDA&source_id={dev.source_id}")
    try:
        got = collect(src, lambda out: sum(len(r.samples) for r in out
                                           if isinstance(r, Waveform)) >= n - 40)
    finally:
        src.close()
        dev.stop()
    waves = [r for r in got if isinstance(r, Waveform)]
    assert all(w.kind == "eda" for w in waves)
    x = np.concatenate([w.samples for w in waves])
    assert 1.6 < x.min() and x.max() < 2.4  # µS
    assert src.stats()["rejected"] == 1 and src.stats()["scale"] == 1e-3


def test_missing_or_unusable_streams_say_why(tmp_path):
    with pytest.raises(SourceError, match="say which stream"):
        open_source("lsl://")
    with pytest.raises(SourceError, match="kind"):
        open_source("lsl://X?kind=eeg")
    # a word where a number goes says which keys are numbers (was Python's own
    # "could not convert string to float: 'abc'")
    with pytest.raises(SourceError, match=r"resolve_s and silence_s are numbers"):
        open_source("lsl://X?resolve_s=abc")
    src = open_source(f"lsl://nobody-{uuid.uuid4().hex[:6]}?resolve_s=0.5")
    try:
        h = collect(src, lambda out: any(isinstance(r, Health) for r in out), 10)
        assert "no LSL stream" in h[0].fault and not h[0].contact
    finally:
        src.close()
    dev = Outlet("EEG amp", "EEG", np.zeros((500, 2)), 100.0).start()
    src = open_source(f"lsl://?source_id={dev.source_id}")
    try:
        h = collect(src, lambda out: any(isinstance(r, Health) for r in out), 20)
        assert "is not ECG, PPG, EDA or PUPIL" in h[0].fault
    finally:
        src.close()
        dev.stop()
