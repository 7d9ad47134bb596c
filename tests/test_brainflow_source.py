"""`brainflow://` through the real BrainFlow library: its synthetic board, and a known ECG and
PPG written in BrainFlow's file format played back by its PLAYBACK_FILE_BOARD."""

from __future__ import annotations

import time

import numpy as np
import pytest
from brainflow.board_shim import BoardIds, BoardShim
from brainflow.data_filter import DataFilter

from empathy.clock import now_us
from empathy.edge.features import SeatFeatures
from empathy.sensors.base import SourceError, Waveform, open_source
from empathy.sensors.brainflow import board_channels, board_id
from empathy.wire import Flag

pytestmark = pytest.mark.timeout(120)
SYNTH = BoardIds.SYNTHETIC_BOARD.value


def run(src, seconds: float) -> tuple[list, SeatFeatures, list[dict]]:
    """Read a source into a seat's features for `seconds`; the estimates at 10 Hz."""
    feats, got, est = SeatFeatures(baseline_s=3), [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for r in src.read(0.1):
            got.append(r)
            feats.add(r)
        est.append(feats.estimate(now_us()))
    return got, feats, est


def test_boards_by_name_or_id_and_one_line_errors():
    assert board_id("synthetic") == board_id("SYNTHETIC_BOARD") == board_id("-1") == SYNTH
    assert board_id("emotibit") == BoardIds.EMOTIBIT_BOARD.value
    ch = board_channels(BoardIds.EMOTIBIT_BOARD.value)
    assert set(ch) == {"ppg", "eda"} and ch["eda"]["fs_hz"] == 15  # ancillary preset
    with pytest.raises(SourceError, match="unknown BrainFlow board 'toaster'"):
        open_source("brainflow://toaster")
    with pytest.raises(SourceError, match="has no eda channel"):
        open_source("brainflow://cyton?serial_port=/dev/null&kinds=eda")
    with pytest.raises(SourceError, match="ip_port must be a whole number"):
        open_source("brainflow://synthetic?ip_port=http")
    with pytest.raises(SourceError, match="ExG inputs: with chest electrodes, add kinds=ecg"):
        open_source("brainflow://cyton?serial_port=/dev/ttyNOPE0")
    with pytest.raises(SourceError, match="cannot open the board") as e:
        open_source("brainflow://cyton?serial_port=/dev/ttyNOPE0&kinds=ecg")
    assert "\n" not in str(e.value)


def test_synthetic_board_streams_but_its_noise_is_no_heart_rate():
    """BrainFlow's synthetic PPG rows are noise and its ECG rows are the EEG sines: the
    seat gets PPG and EDA (not the ExG rows, unless asked) and claims no heart rate."""
    src = open_source("brainflow://synthetic")
    try:
        got, feats, est = run(src, 12)
    finally:
        src.close()
    waves = [r for r in got if isinstance(r, Waveform)]
    assert {w.kind for w in waves} == {"ppg", "eda"}
    ppg = [w for w in waves if w.kind == "ppg"]
    assert all(w.fs_hz == 250 for w in ppg) and sum(len(w.samples) for w in ppg) > 250 * 9
    # wall-clock stamps moved onto the monotonic clock: each chunk's first sample is recent
    assert all(0 < w.ts_us - ppg[0].ts_us < 13e6 for w in ppg[1:])
    assert abs(ppg[-1].ts_us - now_us()) < 2e6
    assert src.stats()["channels"]["ppg"]["row"] == BoardShim.get_ppg_channels(SYNTH)[0]
    assert feats.waves["ppg"].heart.quality(now_us(), 30) < 0.3
    assert not any(e["flags"] & Flag.HR_OK or e["hr_bpm"] for e in est)


def test_a_chunk_with_a_broken_stamp_is_rejected_not_placed():
    src = open_source("brainflow://synthetic")
    try:
        c = src.channels["ppg"]
        data = np.ones((BoardShim.get_num_rows(SYNTH), 15))
        data[c["ts_row"], :] = np.nan
        assert src._readings(c["preset"], data, 0.0) == []
        data[c["ts_row"], :] = time.time() + np.arange(15) / 250
        assert [r.kind for r in src._readings(c["preset"], data, 0.0)] == ["ppg", "eda"]
    finally:
        src.close()
    assert src.stats()["rejected"] >= 15


def known_recording(path, seconds: float, bpm: float) -> None:
    """A realistic ECG and PPG at a steady `bpm` (the truth) in the synthetic board's rows,
    as BrainFlow writes a recording (DataFilter.write_file), for its playback board."""
    import neurokit2 as nk

    fs = BoardShim.get_sampling_rate(SYNTH)
    n = int(seconds * fs)
    data = np.zeros((BoardShim.get_num_rows(SYNTH), n))
    data[BoardShim.get_ecg_channels(SYNTH)[0]] = nk.ecg_simulate(
        duration=seconds, sampling_rate=fs, heart_rate=bpm, heart_rate_std=0, noise=0.05,
        random_state=3)[:n]
    data[BoardShim.get_ppg_channels(SYNTH)[0]] = 5e4 + 2e3 * nk.ppg_simulate(
        duration=seconds, sampling_rate=fs, heart_rate=bpm, frequency_modulation=0,
        ibi_randomness=0, drift=0, motion_amplitude=0, powerline_amplitude=0, burst_number=0, random_state=4)[:n]
    data[BoardShim.get_eda_channels(SYNTH)[0]] = 2.0
    data[BoardShim.get_timestamp_channel(SYNTH)] = time.time() - 3600 + np.arange(n) / fs
    DataFilter.write_file(data, str(path), "w")


def test_known_ecg_and_ppg_played_back_give_their_heart_rate(tmp_path):
    bpm = 66.0
    known_recording(tmp_path / "rec.csv", 60, bpm)
    src = open_source(f"brainflow://playback_file?file={tmp_path / 'rec.csv'}"
                      "&master_board=synthetic&kinds=ecg,ppg")
    try:
        got, feats, est = run(src, 16)
    finally:
        src.close()
    t = now_us()
    for kind in ("ecg", "ppg"):
        heart = feats.waves[kind].heart
        assert heart.quality(t, 10) > 0.5, kind
        assert heart.hr_bpm(t, 8) == pytest.approx(bpm, abs=2), kind  # truth: 66 bpm
    assert est[-1]["flags"] & Flag.HR_OK and est[-1]["hr_bpm"] == pytest.approx(bpm, abs=2)
