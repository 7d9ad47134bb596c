"""Writes the device-shaped example files beside it from real recordings of the heart corpus's
tuning records (never a held-out one). Run once: `python tests/data/signal/make.py`.
Each file's layout and where it is documented: README.md here."""

import io
import tarfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

HERE = Path(__file__).parent
CACHE = Path(__file__).parents[3] / "cache" / "heart-corpus"
SYSTOLE = "systole-0.3.1/src/systole/datasets/"
BSN = "biosignalsnotebooks/notebook_files/osf_files/signal_samples/"
START = datetime(2023, 3, 14, 10, 12, 31, 567000)


def member(dist: str, name: str) -> bytes:
    if dist.endswith(".whl"):
        with zipfile.ZipFile(CACHE / dist) as z:
            return z.read(name)
    with tarfile.open(CACHE / dist) as t:
        return t.extractfile(name).read()


def npy(name: str) -> np.ndarray:
    return np.load(io.BytesIO(member("systole-0.3.1.tar.gz", SYSTOLE + name))).ravel()


def polar_ecg(ecg_mv: np.ndarray) -> None:
    """Polar Sensor Logger (H10 ECG, 130 Hz): the phone stamps a frame of 73 samples when it
    arrives; the sensor's clock is ns since 2000-01-01."""
    uv = np.round(resample_poly(ecg_mv, 13, 100) * 1000).astype(int)
    ns0 = 731_844_751_598_254_480
    with open(HERE / "polar_h10_ecg.txt", "w") as f:
        f.write("Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]\n")
        for k, v in enumerate(uv):
            phone = START + timedelta(seconds=(k // 73 + 1) * 73 / 130 + 0.05)
            ns = ns0 + round(k * 1e9 / 130)
            f.write(f"{phone.isoformat(timespec='milliseconds')};{ns};{(ns - ns0) / 1e6:.3f};{v}\n")


def rr_files(rr: np.ndarray) -> None:
    ms = np.round(rr).astype(int)
    (HERE / "elite_hrv_rr.txt").write_text("".join(f"{v}\n" for v in ms))  # ms, one a line
    (HERE / "kubios_rr_s.txt").write_text("".join(f"{v / 1000:.3f}\n" for v in ms))
    with open(HERE / "polar_h10_rr.txt", "w") as f:
        f.write("Phone timestamp;RR-interval [ms]\n")
        t = START
        for v in ms:
            t += timedelta(milliseconds=int(v))
            f.write(f"{t.isoformat(timespec='milliseconds')};{v}\n")
    with open(HERE / "e4_IBI.csv", "w") as f:  # beat time from the start, interval (both s)
        f.write("1678788751.000000, IBI\n")
        t = 3.25
        for v in ms:
            t += v / 1000
            f.write(f"{t:.6f},{v / 1000:.6f}\n")


def e4(ppg75: np.ndarray) -> None:
    """Empatica E4: first row the start (unix s), second the rate (Hz), then the samples."""
    bvp = resample_poly(ppg75, 64, 75)
    (HERE / "e4_BVP.csv").write_text("1678788751.000000\n64.000000\n"
                                     + "".join(f"{v:.2f}\n" for v in bvp))
    eda = 0.41 + 0.004 * np.arange(80)  # a slow skin-conductance rise, 4 Hz
    (HERE / "e4_EDA.csv").write_text("1678788751.000000\n4.000000\n"
                                     + "".join(f"{v:.6f}\n" for v in eda))


def opensignals(name: str, out: str, rows: int) -> None:
    """OpenSignals (biosignalsplux/BITalino): the real file's header and its first rows."""
    lines = member("biosignalsnotebooks-0.6.14-py3-none-any.whl", BSN + name).decode().splitlines(True)
    (HERE / out).write_text("".join(lines[:3 + rows]))


if __name__ == "__main__":
    polar_ecg(npy("Task1_ECG.npy")[:10_000].astype(float))  # 10 s of systole-ecg (1000 Hz)
    rr = np.loadtxt(io.BytesIO(member("systole-0.3.1.tar.gz", SYSTOLE + "rr.txt")),
                    skiprows=1, delimiter=",")[:120, 1]
    rr_files(rr)
    e4(npy("ppg.npy")[:75 * 20].astype(float))  # 20 s of systole-ppg (75 Hz)
    opensignals("ecg_sample.txt", "opensignals_ecg.txt", 2000)  # 10 s at 200 Hz
    opensignals("eda_hot_surface.txt", "opensignals_eda.txt", 600)  # 6 s at 100 Hz
