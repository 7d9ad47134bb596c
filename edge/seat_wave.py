"""One seat's raw heart waveform (PPG or ECG chunks): streaming beat detection, each sample's
host time on the stream's tracked time base (`edge.timebase`), and what the seat reads of it:
its `HeartWindow`, the ECG's lone-beat and pacing-spike evidence, the PPG's motion gate and
tracked rate, lost contact. `SeatFeatures` (edge/features.py) keeps one per waveform kind.

Imported (scipy with it, ~1 CPU-s) at a seat's first waveform chunk, which waits for it: the
unit's first packet leaves 0.8 s from its spawn, a strap's unit's 0.4 s. Its first heart
rate does not: the detector judges at least 10 s (hrv.WINDOW_S), HR_OK came at 6.9 s on an
E4 PPG and 10.1 s on an H10 ECG (a strap's at 2.3 s), the same with the module imported by
a thread from the process's start (bench/first_heart.py, 5 runs, quiet 2-core machine)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from empathy.edge.heart import BeatStream
from empathy.edge.heart_evidence import LoneBeats
from empathy.edge.heart_window import HeartWindow
from empathy.edge.hrv import LOST_GAP_S, WINDOW_S
from empathy.edge.latency import HRV_WINDOW_S
from empathy.edge.motion import MotionGate
from empathy.edge.paced import PacedBeats
from empathy.edge.ppg_evidence import PpgEvidence
from empathy.edge.ppg_timing import rise_times
from empathy.edge.ppg_track import HrTracker
from empathy.edge.seat_heart import MIN_HEART_QUALITY
from empathy.edge.timebase import WAVE_SLIP_S, SampleClock
from empathy.sensors.base import Waveform

# the raw line this long without a change sits on the front end's rail: the leads are off, and
# no interval spans it (a lead off for 4 s every 30 s read as a 4-5 s pause: mitdb-100's HR
# 30-45 bpm low with HR_OK in 44 of 161 estimates). Of the tuning records' ECG and PPG only
# two stand still that long: heartpy-data2 once for 7.2 s, heartpy-data3 once for 0.56 s.
STILL_S = 0.5
# an ECG whose raw line still moves is on the body: no beat for this long is the heart's own
# pause (sick sinus, AV block) until then. qtdb-sel232's pauses reach 5.6 s between its
# annotated beats, 5.7 s between the detector's candidates; LOST_GAP_S (3 s) put CONTACT off
# in 14 of its 341 estimates. Past this, no QRS-like activity at all is lost contact.
ECG_PAUSE_S = 8.0


class WaveBeats:
    """Streaming beat detection on one waveform; sample index -> host time on the stream's
    tracked time base (`edge.timebase`: a device's clock is a few % off its declared rate)."""

    def __init__(self, r: Waveform, gate: Optional[MotionGate] = None):
        self.clock = SampleClock(r.fs_hz, r.ts_us, WAVE_SLIP_S)
        self.stream = BeatStream(r.fs_hz, r.kind)
        self.ecg = ecg = r.kind == "ecg"
        self.heart = HeartWindow(HRV_WINDOW_S, min_span_s=WINDOW_S,  # (see HeartWindow)
                                 cycles=ecg, ecg_fs=r.fs_hz if ecg else 0.0)
        self.gate = gate  # the seat's accelerometer, for a PPG
        # an ECG's beats whose raw extreme is a lone sample: random spikes (heart_evidence);
        # a PPG's waveform as time-reversible as noise (ppg_evidence)
        self.evidence = (LoneBeats(r.fs_hz, HRV_WINDOW_S) if r.kind == "ecg"
                         else PpgEvidence(r.fs_hz) if r.kind == "ppg" else None)
        # an ECG's pacing spikes: a pacemaker's intervals are no NN HRV (edge.paced)
        self.paced = PacedBeats(r.fs_hz, HRV_WINDOW_S) if r.kind == "ecg" else None
        # once the accelerometer speaks, the heart rate tracked in the PPG's and its spectra
        # (edge.ppg_track): (window end µs, bpm, moving) of the newest, for motion_report
        self.tracker: Optional[HrTracker] = None
        self.tracked: Optional[tuple[float, Optional[float], bool]] = None
        # bridged gaps' ends not yet passed by a beat: several can be pending at once (the
        # detector gives beats out ~1 s late, and a BLE link drops frames close together)
        self.gap_ends: list[float] = []
        self.gaps = 0
        self.found_held = False  # a chunk held (clock.admit), gone on before this one: a beat
        if gate is not None:  # beats the gate held for the last stream are none of this one's
            gate.restart_beats()
        self.ppg = r.kind == "ppg"
        self.leads: list[float] = []  # µs by which the gate's held beats' rises lead their peaks
        self.n = 0  # samples pushed (the stream's index of the next)
        self.moved = -1  # the stream index of the last sample unlike the one before it
        self.last_sample: Optional[float] = None  # (_note_moves)
        self.still_us: list[tuple[float, float]] = []  # (from, to): the line stood still

    def fits(self, r: Waveform) -> bool:
        """The chunk goes on this stream (`SampleClock.admit`): it follows, or it comes after
        a short gap (a board's stall): the detector stays warm, no interval spans the gap. A
        chunk stamped back, or further ahead than a short gap, is held till the next says
        why; after a step of the clock the detector stays warm and what the stream holds
        moves onto the new clock (its intervals' lengths stand)."""
        what = self.clock.admit(r.fs_hz, r.ts_us, r, np.size(r.samples),
                                self._push_held, self._settled)
        if what == "gap":
            self.gap_ends.append(float(r.ts_us))
            self.gaps += 1
        return what is not None

    def _settled(self, what: str, step_us: float) -> None:
        if what == "step":
            self._shift(step_us)
        elif what == "unbridged":
            self.gap_ends = self.gap_ends[:-1]  # (a beat may have passed it already)
            self.gaps -= 1

    def contact_changed(self) -> None:
        """The sensor's own word on contact changed: a PPG's evidence starts afresh."""
        if isinstance(self.evidence, PpgEvidence):
            self.evidence.restart()

    def _push_held(self, r: Waveform, ts_us: float) -> None:
        self.found_held = self._push(r, ts_us)

    def _shift(self, step_us: float) -> None:
        """Beat times held here and in the motion gate move with a step of the clock."""
        self.heart.shift(step_us)
        if self.evidence is not None:
            self.evidence.shift(step_us)
        if self.paced is not None:
            self.paced.shift(step_us)
        if self.gate is not None:  # the PPG's beats it holds
            self.gate.shift(step_us)
        if self.tracked is not None:
            self.tracked = (self.tracked[0] + step_us, *self.tracked[1:])
        self.gap_ends = [g + step_us for g in self.gap_ends]
        self.still_us = [(a + step_us, b + step_us) for a, b in self.still_us]

    def add(self, r: Waveform) -> bool:
        """True if the chunk (or one held before it) held a beat worth the name (someone
        is there)."""
        if self.clock.holds(r):
            return False
        found, self.found_held = self._push(r, r.ts_us) or self.found_held, False
        return found

    def _push(self, r: Waveform, ts_us: float) -> bool:
        """Detection on one chunk whose first sample is at `ts_us` on the stamps' clock."""
        self.clock.follow(ts_us, np.size(r.samples))
        beats = self.stream.push(r.samples)
        n0, self.n = self.n, self.n + np.size(r.samples)
        self._note_moves(np.asarray(r.samples, np.float64), n0)
        if self.tracker is not None:
            for n, hr, m, sure in self.tracker.push(r.samples):
                self.tracked = (float(self.clock.time_us(n)), hr if sure else None, m)
        ts_us, sqi, moving = self.clock.time_us(beats.idx), beats.sqi, np.zeros(len(beats.idx))
        lead = self._leads(beats.idx, ts_us)
        rows = (self.stream.slopes(beats.idx)  # (ECG: their shape)
                if self.heart.width and len(beats.idx) else None)
        if self.evidence is not None:
            self.evidence.push(r.samples, beats.idx, ts_us)
        if self.paced is not None:
            self.paced.push(r.samples, beats.idx, ts_us)
        if self.gate is not None:  # moving or not, a pulse says someone is there (returned)
            self.leads.extend(lead.tolist())  # (the gate gives its beats back in order)
            ts_us, sqi, moving = self.gate.pass_beats(ts_us, sqi)
            lead, self.leads = np.array(self.leads[:len(ts_us)]), self.leads[len(ts_us):]
        for k, (t, q, m) in enumerate(zip(ts_us, sqi, moving)):
            crossed = bool(self.gap_ends) and t >= self.gap_ends[0]
            if m or crossed or self._off(t):
                self.heart.break_off()  # nothing from an artefact or across a gap
                self.gap_ends = [g for g in self.gap_ends if g > t]
            if not m:
                self.heart.add_beats((t - lead[k],), (q,), None if rows is None else rows[k:k + 1])
        return bool(np.any(np.asarray(beats.sqi) >= MIN_HEART_QUALITY))

    def _leads(self, idx: np.ndarray, ts_us: np.ndarray) -> np.ndarray:
        """Per beat, the µs by which a PPG pulse's mid-rise comes before its peak: the heart
        window times a PPG's intervals there, as `signal hr`'s HRV does (edge/ppg_timing.py),
        its HR too. `seat_hr --kind ppg --set tuning`, |HR error| p90 against the ECG's R
        peaks: bidmc-02 0.74 -> 0.50, -10 0.79 -> 0.40, -12 0.63 -> 0.53, cinc15-v102s 2.03
        -> 1.95 bpm; against the PPG peers' consensus of peaks: heartpy-data2 2.04 -> 3.64,
        pyphysio-bvp 1.34 -> 1.76, systole-ppg 1.03 -> 1.15; pooled 1.40 -> 1.37. 0 for an
        ECG's."""
        if not self.ppg or not len(idx):
            return np.zeros(len(idx))
        x, n = self.stream.x, self.stream.n
        at = rise_times(x, self.clock.fs, np.asarray(idx, np.int64) - (n - len(x)))
        return ts_us - self.clock.time_us(at + (n - len(x)))

    def _note_moves(self, x: np.ndarray, n0: int) -> None:
        """Where the raw line last moved, and its still stretches of STILL_S or more (a lead
        off sits on the front end's rail); x starts at stream index n0."""
        if not x.size:
            return
        # (x[i] != x[i - 1]: the same as a nonzero difference of finite samples, cheaper)
        changed = np.flatnonzero(x[1:] != x[:-1]) + 1
        if self.last_sample is not None and x[0] != self.last_sample:
            changed = np.concatenate(([0], changed))
        if changed.size:
            still = STILL_S * self.clock.fs
            if x.size > still or n0 + changed[0] - self.moved > still:
                moves = np.concatenate(([self.moved], n0 + changed))
                long = np.flatnonzero(np.diff(moves) > still)
                self.still_us.extend((float(self.clock.time_us(moves[i])),
                                      float(self.clock.time_us(moves[i + 1]))) for i in long)
            # (else no two moves are that far apart: the chunk is shorter)
            self.moved = n0 + int(changed[-1])
        self.last_sample = float(x[-1])

    def _off(self, t_us: float) -> bool:
        """The line stood still (STILL_S) between the window's last beat and one at t_us, or
        an ECG's beats are further apart than ECG_PAUSE_S: lost contact (`lost_contact`), no
        pause of the heart (leads off into mains hum: 13 s on, noise's 'beats' made a 14-s
        interval, and QT sel117 at 130 Hz sent 10.9 bpm with HR_OK on)."""
        last = self.heart.last
        self.still_us = [s for s in self.still_us if last is None or s[1] > last[0]]
        return last is not None and (any(a < t_us for a, _ in self.still_us)
                                     or self.ecg and t_us - last[0] > ECG_PAUSE_S * 1e6)

    def heard_until(self, now_us: int) -> int:
        """Now, or the time of a beat the detector still holds back: the heart is read as of
        there. Read as of now, a close pair waiting for its window's verdict (up to 10 s in
        a steady rhythm, ecg_pair) looked like a pause: the electrode-motion stress case's
        HR fell from 73 to 54 bpm with HR_OK on, then HR_OK went for 2-4 s."""
        i = self.stream.waiting()
        return now_us if i is None else min(now_us, int(self.clock.time_us(i)))

    def lost_contact(self, now_us: int) -> bool:
        """Samples keep coming but nothing says a sensor is on a body. A PPG: no pulse for
        LOST_GAP_S (off the skin, or on something without a pulse). An ECG: its raw line
        stood still for STILL_S (the leads off on the front end's rail, a sensor unplugged
        from its socket; no tuning ECG stands still that long), or no beat for ECG_PAUSE_S
        (a line that still moves without one is the heart's pause till then). A stream
        younger than that can't tell yet."""
        end_us = self.clock.expected_us()
        if end_us < now_us - LOST_GAP_S * 1e6:
            return False  # the waveform stopped (a gap, not contact)
        if self.ecg and end_us - self.clock.time_us(max(self.moved, 0)) >= STILL_S * 1e6:
            return True
        gap_s = ECG_PAUSE_S if self.ecg else LOST_GAP_S
        if end_us - self.clock.t0 < gap_s * 1e6:
            return False  # just started
        # the detector's last candidate, before it is confirmed (a stream's first beats are
        # held back for seconds; contact is there all the same); an ECG stream's band switch
        # gathers its first window before it detects anything: till then only a raw line
        # that stopped moving (a lead off on its rail) tells
        last = self.stream.last_candidate()
        if last is None:
            last = self.moved
        last_us = self.clock.time_us(max(last, 0))
        return end_us - last_us >= gap_s * 1e6
