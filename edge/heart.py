"""Heartbeats from a raw PPG or ECG waveform, streaming: chunks in, beats out.

`BeatStream(fs_hz, kind).push(samples)` returns the beats it is sure of so far;
`ppg_peaks` / `ecg_peaks` run the very same code over a whole recording in one call, so
batch and streaming give bit-identical beats whatever the chunk sizes.

How (Elgendi's two-moving-average detector, made causal):
1. band-pass (causal Butterworth, state carried between chunks, PPG: started over after a
   drop-out to the floor and through a jump of a board's DC, ppg_floor; ECG: 5-20 Hz, or 20-45 Hz
   while the stream's CAL_S windows show narrow-band interference hiding the QRS, or noise
   there that 20-45 Hz's beats keep the rhythm through: electrode motion, ecg_band),
2. square the positive part (ECG: of the rectified signal, so QRS complexes of either sign and
   wide ventricular or bundle-branch complexes count), average it over a peak-wide and a
   beat-wide window,
3. a "block of interest" is where the short average beats the long one plus an offset
   (a slow running mean of the energy, so quiet and loud stretches both work),
4. one beat per block wide enough and not within the refractory time of the last one,
   placed on the filtered maximum, then moved back by the filter's delay and refined on
   the raw waveform (so beat times match the tools that filter forwards and backwards).
   A candidate under 40 % of the recent beats' height is a dicrotic or T wave, not a beat,
   and one whose raw maximum sits on the edge of the search window is a slope, not a peak.
   Of two candidates within the refractory time the taller stays (a small wave just before
   a pulse must not shut the pulse out). A gap of 1.66-4.5 beats in a steady rhythm is
   searched again, one beat at a time where the rhythm puts it, for smaller pulses the
   energy blocks or the height gate missed (PPG: one that splits the gap evenly measured
   from the trough before it; Pan-Tompkins' search-back; pulses weakened
   while a hand moves, under heights that motion inflated; PPG: across a drop-out to the
   floor, from 1.3 beats on, and on the raw waveform where the band-passed one, still
   answering the return's step, shows no peak; after a beat on the return itself, from the
   refractory time on; and early in a steady rhythm's gap of two beats, for a premature
   beat's small pulse on the last one's downslope). ECG: a gap of 1.45 beats is
   searched early on for a premature complex that opened no block while the beat-wide
   average still held the QRS before it (in atrial fibrillation its pause may be shorter
   than 1.66 beats). PPG: a pulse under the height gate where the rhythm puts the next
   beat needs only `rhythm_height` of the heights.
   A stream's first beat, whose block starts while the averages are still filling, is
   found by a look-back once the first beat after it is. A PPG beat must rise to its peak
   (at least RISE_MIN of the recent pulses' rise, RISE_RHYTHM where the rhythm puts the next
   beat, and RISE_STEPS of the ADC's smallest step unless it climbs smoothly or keeps a
   rhythm): ripples on a trough and a flat line's flicker are not pulses.
5. a quality per beat: how much its shape matches the previous few beats' (motion
   artefacts don't look like pulses), halved when the top is clipped flat.

Latency: a beat comes out at most `latency_s` after it happened (the longest block we
accept plus the shape window after the peak or the refractory time, whichever is longer:
until then a taller candidate may still replace it), except that a stream's first FIRST_JUDGED
beats are held until the last of them is found (so a stray wave before the first full pulse
can be judged by height), an ECG stream's first CAL_S wait for its band to be chosen
(and after a change of band, the new band's first beats wait for the old band's last, up to
one CAL_S window), a beat found by search-back comes out with the beat after it, and an
early ECG beat in noise (heart_gates._doubt) is held until 1.4 recent intervals after the
beat before it, plus `latency_s`, in case the rhythm's beat replaces it, and an early
ECG beat in a steady rhythm waits, with the beats after it, for the next two
(ecg_rhythm). Memory
is a fixed history of that length (and an ECG stream's current CAL_S window).

Where it lives (edge/heart.py is the entry point and keeps every name importable from here):
heart_method (the `Method` settings table and tuning constants), heart_beats (the `Beats`
result), heart_stream (`BeatStream`: filters, energy blocks, one candidate per block,
emission; steps 1-4), heart_gates (which candidates are beats: height gate, rhythm,
search-back; step 4; PPG's search-back helpers in ppg_search), heart_refine (where each
beat is on the raw waveform and its shape quality; steps 4-5), and the batch entry points
below.
"""

from __future__ import annotations

from empathy.edge.ecg_band import ALT_MIN_FS, CAL_S
from empathy.edge.heart_beats import Beats, _join
from empathy.edge.heart_method import (CLIP_FRAC, ECG_HIGH, FIRST_JUDGED, LOOK_BACK_GAP,
                                       METHODS, MIN_HEIGHT, PLATEAU_FRAC, RHYTHM_GAP, RISE_CAP,
                                       RISE_MIN, RISE_RHYTHM, RISE_STEPS, SEARCH_GAP,
                                       SEARCH_REACH_S, SEARCH_SLACK, SLICE, TEMPLATE_BEATS,
                                       Method, band_alternative)
from empathy.edge.heart_stream import BeatStream

# ALT_MIN_FS and CAL_S are ecg_band's, importable from here as before the split
__all__ = ["ALT_MIN_FS", "CAL_S", "CLIP_FRAC", "ECG_HIGH", "FIRST_JUDGED", "LOOK_BACK_GAP",
           "METHODS", "MIN_HEIGHT", "PLATEAU_FRAC", "RHYTHM_GAP", "RISE_CAP", "RISE_MIN",
           "RISE_RHYTHM", "RISE_STEPS", "SEARCH_GAP", "SEARCH_REACH_S", "SEARCH_SLACK",
           "SLICE", "TEMPLATE_BEATS", "BeatStream", "Beats", "Method", "band_alternative",
           "ecg_peaks", "ppg_peaks", "waveform_peaks"]


def waveform_peaks(x, fs_hz: float, kind: str) -> Beats:
    """All beats of a whole recording (same code and results as streaming it)."""
    st = BeatStream(fs_hz, kind)
    return _join([st.push(x), st.finish()])


def ppg_peaks(x, fs_hz: float) -> Beats:
    return waveform_peaks(x, fs_hz, "ppg")


def ecg_peaks(x, fs_hz: float) -> Beats:
    return waveform_peaks(x, fs_hz, "ecg")
