"""The close-pair stage on and off (ecg_pair.CLOSE = 0) over tuning records with NSTDB electrode
motion (118e00 - 118e24) from 20 s at 3 noise offsets: true beats lost, extra beats removed.
Run: nice .venv/bin/python tests/redteam/heart15_sweep.py mitdb-200,mitdb-119,... 6,0,-6"""
import sys, numpy as np
from scipy import signal
from empathy.edge import ecg_pair
from empathy.edge.beat_score import beat_match, bpm
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import annotated_beats, record_data, record
def rec(name):
    r = record(name); x, fs = record_data(r); return x, fs, annotated_beats(r, len(x), fs)
e0, _, _ = rec("nstdb-118e00"); e24, _, _ = rec("nstdb-118e24")
noise = (e0 - e24)[int(30*360):int(150*360)]; noise -= np.median(noise)
def run(x, fs, close):
    ecg_pair.CLOSE = close
    try: return waveform_peaks(x, fs, "ecg").idx / fs
    finally: ecg_pair.CLOSE = 0.5
tot = {}
for name in sys.argv[1].split(","):
    x, fs, ann = rec(name)
    sig_rms = np.std(x - signal.medfilt(x, int(fs*0.6)//2*2+1))
    for snr in [float(s) for s in sys.argv[2].split(",")]:
        for roll in (0, 40, 80):
            n = np.roll(noise, int(roll*360))
            if fs != 360: n = signal.resample_poly(n, int(fs), 360)
            y = x.copy(); a = int(20*fs); m = min(len(y)-a, len(n))
            y[a:a+m] += n[:m] / n.std() * sig_rms * 10**(-snr/20)
            on, off = run(y, fs, .5), run(y, fs, 0.)
            mo, mf = beat_match(ann, on), beat_match(ann, off)
            lost = mo.fn - mf.fn; gone = mf.fp - mo.fp
            k = tot.setdefault(snr, [0, 0, 0, 0, 0])
            k[0] += lost; k[1] += gone; k[2] += mo.tp; k[3] += abs(bpm(on)-bpm(ann)) - abs(bpm(off)-bpm(ann)); k[4] += 1
            print(f"{name} {snr:+.0f}dB roll {roll}: true lost {lost:+d} extras gone {gone:+d} F1 {mf.f1:.4f}->{mo.f1:.4f} |HRerr| {abs(bpm(off)-bpm(ann)):.2f}->{abs(bpm(on)-bpm(ann)):.2f}", flush=True)
for snr, k in tot.items():
    print(f"POOLED {snr:+.0f} dB ({k[4]} runs): true beats lost {k[0]}, extra beats removed {k[1]}, mean change |HR err| {k[3]/k[4]:+.2f} bpm")
