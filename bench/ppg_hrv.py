"""A PPG's HRV against its simultaneous ECG's, on the PPG records that have one.

    python -m empathy.bench.ppg_hrv [RECORD ...] [--seat] [--held-out]

Per record (default: the tuning PPG records whose ECG is kept, bidmc and cinc15, and
pyphysio-bvp with pyphysio-ecg, recorded together): RMSSD and SDNN (ms) of what `empathy
signal hrv --kind ppg --json` prints on the PPG, and of the ECG's NN intervals. The ECG's:
our ECG detector's beats on the lead, each at the vertex of a parabola through its R peak's
three samples (at 125 Hz a whole sample is 8 ms: the reference beats, the ECG peers' median
vote, read bidmc-02's NN RMSSD 30.6 ms where the lead's R peaks give 3.9), NN as `signal hr`
labels an ECG's (ectopic beats by shape and timing, beats in doubt). `--seat`: the PPG
through a seat (`seat_hrv.seat_stream`, an estimate a second from 30 s): the share with
HRV_OK and the median and 90th percentile of |seat RMSSD - ECG NN RMSSD| / ECG's over the
seat's window, moved back by the pulse's lag (beat_score.lagged_match). `--held-out`: the
held-out records instead (scored once, at the end of a pass).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np

TUNING = ("bidmc-02", "bidmc-04", "bidmc-10", "bidmc-12", "cinc15-v102s", "pyphysio-bvp")
HELD_OUT = ("bidmc-01", "bidmc-03", "bidmc-05", "bidmc-11", "bidmc-13", "cinc15-a103l",
            "neurokit-rest")
ECG_OF = {"pyphysio-bvp": "pyphysio-ecg"}  # a PPG record whose ECG is a record of its own


def ecg_nn(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(each interval's end s, whether it is NN, the intervals ms, the recording's length s) of the ECG
    recorded with PPG record `name`."""
    from empathy.edge.ectopic_beats import doubtful_beats, shape_match
    from empathy.edge.heart import waveform_peaks
    from empathy.edge.heart_corpus import record, record_data, reference_lead
    from empathy.edge.hrv import corrected_intervals, labelled_artefacts, nn

    rec = record(ECG_OF.get(name, name))
    x, fs = record_data(rec)
    ecg = x if rec.kind == "ecg" else reference_lead(rec)
    b = waveform_peaks(ecg, fs, "ecg")
    y = ecg * np.sign(np.median(ecg[b.idx]) - np.median(ecg))
    i = np.clip(b.idx, 1, len(y) - 2)
    den = y[i - 1] - 2 * y[i] + y[i + 1]
    t = (i + np.where(den < 0, 0.5 * (y[i - 1] - y[i + 1]) / np.where(den < 0, den, 1), 0)) / fs
    shape = shape_match(ecg, fs, b.idx)
    iv, artefacts = corrected_intervals(t, b.sqi)
    artefacts = labelled_artefacts(t, artefacts, shape, b.sqi)
    return iv.t_s, nn(iv, t, artefacts, doubtful_beats(t, shape)), iv.rr_ms, len(ecg) / fs


def _rmssd_sdnn(rr: np.ndarray, normal: np.ndarray) -> tuple[float, float]:
    from empathy.edge.hrv import hrv_time

    h = hrv_time(rr, normal)
    return h["rmssd_ms"], h["sdnn_ms"]


def signal_hrv(name: str) -> dict:
    """`empathy signal hrv FILE --fs HZ --kind ppg --json` on the record's PPG."""
    from empathy.cli import main
    from empathy.edge.heart_corpus import record, record_data

    x, fs = record_data(record(name))
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "ppg.txt"
        np.savetxt(f, x, fmt="%.6g")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = main(["signal", "hrv", str(f), "--fs", str(fs), "--kind", "ppg", "--json"])
    return json.loads(out.getvalue()) if rc == 0 else {"rmssd_ms": float("nan"),
                                                       "sdnn_ms": float("nan")}


def seat_errors(name: str, t_e, normal, rr_e) -> dict:
    """A seat's HRV_OK share and |RMSSD error| / the ECG's over each estimate's window."""
    from empathy.bench.seat_hrv import T0_US, seat_stream
    from empathy.edge.beat_score import lagged_match
    from empathy.edge.heart import waveform_peaks
    from empathy.edge.heart_corpus import record, record_data
    from empathy.edge.latency import HRV_WINDOW_S
    from empathy.wire import Flag

    x, fs = record_data(record(name))
    lag = lagged_match(t_e, waveform_peaks(x, fs, "ppg").idx / fs,
                       [(0.0, len(x) / fs)])[1]
    ok, err = [], []
    for now, e, heart in seat_stream(x, fs, 1.0, "ppg"):
        if (now - T0_US) / 1e6 < 30.0:
            continue
        sent = bool(e["flags"] & Flag.HRV_OK)
        ok.append(sent)
        iv = heart and heart.window(now, HRV_WINDOW_S)
        if not sent or iv is None or not len(iv.rr_ms):
            continue
        t1 = iv.t_s[-1] - T0_US / 1e6 - lag + 0.05
        t0 = iv.t_s[0] - iv.rr_ms[0] / 1000.0 - T0_US / 1e6 - lag - 0.05
        k = (t_e - rr_e / 1000.0 >= t0) & (t_e <= t1)
        ref = _rmssd_sdnn(rr_e[k], normal[k])[0]
        if ref > 0:
            err.append(abs(e["rmssd_ms"] - ref) / ref)
    err = np.array(err)
    return {"hrv_ok": float(np.mean(ok)) if ok else 0.0,
            "err_median": float(np.median(err)) if len(err) else float("nan"),
            "err_p90": float(np.percentile(err, 90)) if len(err) else float("nan")}


def _with_ecg(name: str) -> str:
    if name not in TUNING + HELD_OUT:
        raise argparse.ArgumentTypeError(f"{name}: not one of {', '.join(TUNING + HELD_OUT)}")
    return name


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="*", type=_with_ecg, metavar="RECORD",
                    help="a PPG record with its ECG (default: the tuning ones)")
    ap.add_argument("--seat", action="store_true", help="also score a seat's streamed HRV")
    ap.add_argument("--held-out", action="store_true", help="the held-out records")
    a = ap.parse_args(argv)
    for name in a.records or (HELD_OUT if a.held_out else TUNING):
        t_e, normal, rr_e, _ = ecg_nn(name)
        e_rmssd, e_sdnn = _rmssd_sdnn(rr_e, normal)
        p = signal_hrv(name)
        line = (f"{name:14s} ECG NN RMSSD {e_rmssd:5.1f} SDNN {e_sdnn:5.1f} | signal hrv PPG "
                f"RMSSD {p['rmssd_ms']:5.1f} SDNN {p['sdnn_ms']:5.1f}")
        if a.seat:
            s = seat_errors(name, t_e, normal, rr_e)
            line += (f" | seat HRV_OK {s['hrv_ok']:.2f} |err| median {s['err_median']:.2f} "
                     f"p90 {s['err_p90']:.2f}")
        print(line, flush=True)


if __name__ == "__main__":
    main()
