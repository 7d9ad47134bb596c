"""Per-seat features: readings in, one fused seat estimate out (what goes on the wire).

Heart: RR intervals from a BLE strap (`Beat`) or beats found by streaming detection in raw
PPG/ECG chunks (`Waveform`, `edge.heart`), each source in its own `HeartWindow`; the
source with the better quality right now gives HR and RMSSD. Pupil: blinks out and the
screen's light response taken out (`edge.pupil`; `luminance` is set by the runtime from
the host's screen cues). Face: the expression model's probabilities, smoothed. All of it is
fused into arousal/valence against the viewer's baseline (`edge.fusion`); before a seat
has its baseline, population priors stand in and the CALIBRATED flag stays off.

A seat serves viewer after viewer (a kiosk): when its signal comes back after
`rebaseline_after_s` without any (the strap was off, nobody in front of the camera), or a
first time after a baseline period that had none, it is a new person: everything learned
about the last one is dropped and a fresh baseline starts, with CALIBRATED off until done.
"""

from __future__ import annotations

import logging
import math
from typing import Optional

import numpy as np

from empathy.edge.fusion import FACE_GAIN, Affect, affect_fuse, baselines
from empathy.edge.heart import BeatStream
from empathy.edge.hrv import HeartWindow, hrv_time
from empathy.edge.pupil import LightResponse, PupilStream
from empathy.sensors.base import Beat, FaceCrop, Health, Pupil, Reading, Waveform
from empathy.wire import EXPRESSION_NONE, Flag

log = logging.getLogger("empathy.edge.features")

HR_WINDOW_S = 5.0  # short: an 8-s window lags arousal by seconds (sim: r 0.51 -> 0.55)
HRV_WINDOW_S = 30.0
FACE_TAU_S = 0.8  # sustained expressions count, one-frame flickers don't
WAVE_SLIP_S = 0.5  # a chunk this far from where the last one ended restarts detection
MIN_HEART_QUALITY = 0.3


class _WaveBeats:
    """Streaming beat detection on one waveform, with sample index -> ts_us."""

    def __init__(self, r: Waveform):
        self.fs, self.t0 = r.fs_hz, r.ts_us
        self.stream = BeatStream(r.fs_hz, r.kind)
        self.heart = HeartWindow(HRV_WINDOW_S)

    def fits(self, r: Waveform) -> bool:
        expected = self.t0 + self.stream.n * 1e6 / self.fs
        return r.fs_hz == self.fs and abs(r.ts_us - expected) <= WAVE_SLIP_S * 1e6

    def add(self, r: Waveform) -> bool:
        """True if the chunk held a beat worth the name (someone is there)."""
        beats = self.stream.push(r.samples)
        self.heart.add_beats(self.t0 + beats.idx * 1e6 / self.fs, beats.sqi)
        return bool(np.any(np.asarray(beats.sqi) >= MIN_HEART_QUALITY))


class SeatFeatures:
    """Feed readings with `add`; call `estimate(now_us)` at the send rate."""

    def __init__(self, baseline_s: float = 60.0, expression_model=None,
                 light: Optional[LightResponse] = None, rebaseline_after_s: float = 30.0,
                 name: str = "seat"):
        self.model, self.light, self.name = expression_model, light, name
        self.baseline_us = int(baseline_s * 1e6)
        self.rebase_us = int(rebaseline_after_s * 1e6)  # 0: one baseline, never again
        self.contact = True
        self.luminance = 0.3
        self.start_us: Optional[int] = None
        self.last_signal_us: Optional[int] = None
        self.baselines_taken = 0  # baselines started: 1 + one per new viewer
        self._forget()

    def _forget(self) -> None:
        """Everything learned about the viewer in the seat (their beats, pupil, face and
        baseline) starts again."""
        self.strap = HeartWindow(HRV_WINDOW_S)
        self.waves: dict[str, _WaveBeats] = {}
        self.pupil = PupilStream(self.light)
        self.face_probs: Optional[np.ndarray] = None
        self.face_ts = 0
        self.base = baselines()
        self.affect = Affect(0.0, 0.0, 0.0)  # the last estimate, confidence included

    def _new_viewer(self, r: Reading) -> None:
        """A reading with signal: a new viewer if the seat had none for a while."""
        last, self.last_signal_us = self.last_signal_us, r.ts_us
        if last is None and r.ts_us - self.start_us < self.baseline_us:
            self.start_us = r.ts_us  # the baseline counts from the first signal
            return
        gap_us = r.ts_us - (self.start_us if last is None else last)
        if not self.rebase_us or (last is not None and gap_us < self.rebase_us):
            return
        self._forget()
        self.start_us = r.ts_us
        self.baselines_taken += 1
        log.info("%s: signal back after %.0f s without: a new viewer, new baseline",
                 self.name, gap_us / 1e6,
                 extra={"seat": self.name, "gap_s": round(gap_us / 1e6, 1),
                        "baseline_s": self.baseline_us / 1e6})

    def add(self, r: Reading) -> None:
        if self.start_us is None:
            self.start_us = r.ts_us
            self.baselines_taken = 1
        if self._take(r):
            self._new_viewer(r)

    def _take(self, r: Reading) -> bool:
        """Use one reading; True if it carried a viewer's signal."""
        if isinstance(r, Beat):
            self.strap.add_rr(r.ts_us, r.rr_ms)
            return self.contact
        if isinstance(r, Waveform):
            try:
                wave = self.waves.get(r.kind)
                if wave is None or not wave.fits(r):  # new, resampled, or after a gap
                    wave = self.waves[r.kind] = _WaveBeats(r)
                return wave.add(r) and self.contact
            except ValueError as e:  # NaN samples, an unusable rate: skip, start afresh
                self.waves.pop(r.kind, None)
                log.warning("waveform chunk skipped", extra={"kind": r.kind, "fs_hz": r.fs_hz,
                                                             "reason": str(e)})
                return False
        if isinstance(r, Pupil):
            self.pupil.add(r.ts_us, r.diameter_mm, r.confidence, self.luminance)
            return r.confidence > 0 and r.diameter_mm > 0
        if isinstance(r, FaceCrop):
            if self.model is not None:
                self._face(r)
            return True  # a face in view is someone there, model or not
        if isinstance(r, Health):
            self.contact = r.contact
        return False

    def _face(self, r: FaceCrop) -> None:
        probs = self.model.predict(r.image)
        if self.face_probs is None:
            self.face_probs = probs
        else:  # exponential smoothing with the real time step
            a = 1 - math.exp(-max(r.ts_us - self.face_ts, 0) / 1e6 / FACE_TAU_S)
            self.face_probs = (1 - a) * self.face_probs + a * probs
        self.face_ts = r.ts_us

    def _heart(self, now_us: int) -> tuple[float, float, float]:
        """(HR, RMSSD, quality) from whichever heart source is best right now."""
        best = (0.0, 0.0, 0.0)
        for heart in [self.strap] + [w.heart for w in self.waves.values()]:
            q = heart.quality(now_us, HRV_WINDOW_S)
            if q > best[2]:
                iv = heart.window(now_us, HRV_WINDOW_S)
                rmssd = hrv_time(iv.rr_ms, iv.normal)["rmssd_ms"] if iv.normal.sum() >= 5 else 0.0
                best = (heart.hr_bpm(now_us, HR_WINDOW_S), rmssd, q)
        return best

    def estimate(self, now_us: int) -> dict:
        """The seat's current fused reading as wire SeatSample fields (no ids/seq/ts)."""
        from empathy.edge.expression import expression_valence_arousal

        flags = Flag.CONTACT if self.contact else 0
        hr, rmssd, hq = self._heart(now_us)
        if hq < MIN_HEART_QUALITY:
            hr = rmssd = 0.0
        flags |= (Flag.HR_OK if hr else 0) | (Flag.HRV_OK if rmssd else 0)
        pupil = self.pupil.pupil_mm(now_us)
        flags |= (Flag.PUPIL_OK if pupil else 0) | (Flag.BLINK if self.pupil.blinked(now_us) else 0)
        pupil_resid = self.pupil.residual_mm(now_us) if pupil else 0.0

        in_baseline = self.start_us is not None and now_us - self.start_us < self.baseline_us
        ready = not in_baseline and self.start_us is not None
        if in_baseline:
            for name, x in (("hr", hr), ("rmssd", rmssd), ("pupil", pupil_resid)):
                if x:
                    self.base[name].add(x)
        if ready:
            flags |= Flag.CALIBRATED

        z = {}
        if hr:
            z["hr"] = (self.base["hr"].z(hr, ready), hq)
        if rmssd:
            z["rmssd"] = (-self.base["rmssd"].z(rmssd, ready), hq)
        if pupil and ready:
            z["pupil"] = (self.base["pupil"].z(pupil_resid, ready), 1.0)
        face_valence, expr, conf = None, EXPRESSION_NONE, 0.0
        if self.face_probs is not None and now_us - self.face_ts < 2e6:
            face_valence, face_arousal = expression_valence_arousal(self.face_probs)
            expr = int(np.argmax(self.face_probs))
            conf = float(self.face_probs[expr])
            flags |= Flag.FACE_OK
            z["face"] = (FACE_GAIN * face_arousal, 1.0)
        self.affect = affect_fuse(z, face_valence)
        return dict(hr_bpm=hr, rmssd_ms=rmssd, pupil_mm=pupil, arousal=self.affect.arousal,
                    valence=self.affect.valence, expression=expr, expression_conf=conf,
                    flags=int(flags))
