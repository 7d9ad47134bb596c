"""A seat's heart now: HR, RMSSD and the arousal's rate from whichever of its sources (a
strap's RR intervals, each raw waveform's beats, a device's own figure) is best right now.
Read by `SeatFeatures.estimate` (edge/features.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from empathy.edge.hrv import hrv_time
from empathy.edge.latency import HRV_WINDOW_S

if TYPE_CHECKING:
    from empathy.edge.features import SeatFeatures

# a heart source of quality under this gives no HR (features), and a chunk whose beats are
# all under it no sign of a viewer (seat_wave)
MIN_HEART_QUALITY = 0.3
# a seat's 30-s heart window of quality under this needs the evidence (heart_evidence):
# without it the paced stress case at 130 Hz (0.39 of its beats lone) lost an HR_OK estimate;
# at 0.5 random spikes (seed 21, 250 Hz) reached HR_OK at 0.509 once the RR corrector's
# paper rule left more of their intervals normal (every ECG tuning record and stress case,
# native and at 130 Hz: the same HR_OK estimates at 0.5 and 0.6)
SEAT_BELOW = 0.6
# a heart read as of a beat the ECG detector held back longer than this is stale: no HR. The
# electrode-motion stress case (Systole's lab ECG, 130 Hz) held its value up to 8.9 s while
# the heart sped up 72 -> 82 bpm; 8 of the 9 estimates held over 4 s were over 5 bpm off (NSTDB
# electrode motion on sinus tuning records at 0 and -6 dB: 10 such, none off)
HOLD_MAX_S = 4.0
MAX_MENDED_FRAC = 0.2  # HRV_OK off when more of the window's intervals were mended than this
MENDED = ("missed", "extra", "misplaced")  # artefacts whose mended intervals stay in NN
# a strap's intervals come in 1/1024 s, and two in a row alike are rare in a heart (tuning RR
# series at that resolution: at most 0.2 of a 60-beat window); a device that makes them from
# its rate sends runs of one value (RMSSD 2-4 ms with HRV_OK): no HRV where this share is
MADE_UP = 0.5


def seat_heart(seat: SeatFeatures, now_us: int) -> tuple[float, float, float, bool, float]:
    """(HR, RMSSD, quality, paced, arousal's rate) from whichever heart source is best
    right now. RMSSD is over the NN intervals (`HeartWindow.hrv_window`: none at an
    ectopic beat), and left out (HRV_OK off) when the intervals it leaves out and the
    mended ones make up more than MAX_MENDED_FRAC of its window, or the rhythm is paced
    (no NN). Arousal's rate is HR, or where lost intervals leave it too uncertain for the
    wire (`HeartWindow.heart_rates`) the rate all the same, less the intervals at beats
    labelled ectopic (its sinus rate: the heart's drive, not its ectopy). An ECG whose
    beats are random spikes (LoneBeats) has no quality (random-spike noise reached HR_OK in
    10 of 300 fresh cases, now 0), nor a PPG as time-reversible as noise whose pulses don't
    repeat (PpgEvidence); such rates withheld are counted by the evidence's WHY
    (`heart_withheld`, the unit's stats). A seat with no beats of any source reads the device's
    own figure (`DeviceRate`): HR, no RMSSD. Not where there are: a strap that sends RR
    intervals keeps the beat path also once they stop (its figure, repeated off the
    skin by a strap without a contact sensor, would stand for its lost beats), and an
    H10's ECG its own rules (edge/seat_wave.py, heart_evidence)."""
    best = (0.0, 0.0, 0.0, False, 0.0)
    # a strap's beats, its calibrated lag undone, end that long before now: read as of
    # then (as of now, a 45 bpm heart 3 s late lost HR_OK 0.5 s of each beat: the time
    # since its last beat counted as beats lost); an early one's (a negative lag) as of
    # now, not of its newest beat, |lag| ahead (tests/test_seat_early_sensor.py)
    strap_at = now_us - max(seat.heart.lag_us, 0)
    for heart, ev, pc, at in [(seat.strap, None, None, strap_at)] + [
            (w.heart, w.evidence, w.paced, w.heard_until(now_us)) for w in seat.waves.values()]:
        q = heart.quality(at, HRV_WINDOW_S)
        if q > best[2] and q < SEAT_BELOW and ev is not None and ev.no_heart(now_us, HRV_WINDOW_S):
            if q >= MIN_HEART_QUALITY:  # a rate the quality alone would have sent: why not
                seat.heart_withheld[ev.WHY] = seat.heart_withheld.get(ev.WHY, 0) + 1
            q = 0.0
        if q > best[2]:
            iv, found = heart.hrv_window(at, HRV_WINDOW_S)
            # left out of NN, or kept with a mended value (once each)
            doubtful = int((~iv.normal).sum()) + sum(found.get(k, 0) for k in MENDED)
            ok = iv.normal.sum() >= 5 and doubtful <= MAX_MENDED_FRAC * len(iv.rr_ms) and not (
                heart is seat.strap and np.mean(np.diff(iv.rr_ms) == 0) >= MADE_UP)
            paced = pc is not None and pc.paced(now_us, HRV_WINDOW_S)
            rmssd = hrv_time(iv.rr_ms, iv.normal)["rmssd_ms"] if ok and not paced else 0.0
            hr = feel = 0.0
            if now_us - at <= HOLD_MAX_S * 1e6 and not (ev is not None and ev.doubt(
                    at, seat.hr_window_s)):  # (heart_evidence)
                # where lost intervals leave the rate too uncertain for the wire, arousal
                # still reads it (the demo's truth r 0.82 -> 0.75 when it did not)
                rate, sure, feel = heart.heart_rates(at, seat.hr_window_s)
                hr = rate if sure else 0.0
            best = (hr, rmssd, q, paced, feel)
    # no beats of any source, or a strap's stopped while its device, worn, sends its
    # figure on (intervals sent only while it is sure of them; one without a contact
    # sensor may repeat its figure off the skin, so not there; lost notifications lose
    # the figure too)
    quiet = seat.strap.end_us is None or (
        seat.device.worn and seat.device.last_us - seat.strap.end_us > HOLD_MAX_S * 1e6)
    if quiet and not seat.waves:
        hr, q = seat.device.rate(now_us)
        if q:
            best = (hr, 0.0, q, False, hr)
    return best
