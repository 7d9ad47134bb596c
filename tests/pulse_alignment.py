"""Whether an ECG-referenced PPG record's reference sits on its QRS complexes and its
pulse follows the beats at one delay (ECG and PPG on one clock): the checks each such
record's tests make (test_heart_icu_ppg, test_heart_bidmc, test_heart_rest_ppg)."""

import numpy as np
from scipy.signal import butter, sosfiltfilt


def qrs_offset_s(ecg: np.ndarray, beats_s: np.ndarray, fs: float) -> float:
    """Median distance of each beat from the lead's steepest 5-25 Hz excursion within
    100 ms of it."""
    band = np.abs(sosfiltfilt(butter(2, [5, 25], "bandpass", fs=fs, output="sos"), ecg))
    w = int(0.1 * fs)
    idx = np.round(beats_s * fs).astype(int)
    idx = idx[(idx > w) & (idx < len(ecg) - w)]
    return float(np.median(np.abs([np.argmax(band[i - w:i + w]) - w for i in idx]))) / fs


def pulse_rise(ppg: np.ndarray, beats_s: np.ndarray, fs: float) -> float:
    """The finger pulse's slope averaged over one beat interval after every beat, its peak
    as a share of the slope's 99th percentile: one sharp upstroke (the pulse's travel time,
    modulo the interval) where PPG and ECG share a clock; about flat where they don't
    (random or jittered beat times: 0.03-0.26)."""
    w = int(0.1 * fs)  # (the beats qrs_offset_s reads)
    idx = np.round(beats_s * fs).astype(int)
    idx = idx[(idx > w) & (idx < len(ppg) - w)]
    slope = np.diff(ppg)
    lags = np.arange(int(np.median(np.diff(idx))))
    avg = np.mean([slope[i + lags] for i in idx if i + lags[-1] < len(slope)], axis=0)
    return float(avg.max() / np.percentile(slope, 99))
