"""Per-seat features: readings in, one fused seat estimate out (what goes on the wire).

Heart: RR intervals from a BLE strap (`Beat`) or beats found by streaming detection in raw
PPG/ECG chunks (`Waveform`, `edge.heart`), each source in its own `HeartWindow`; the
source with the better quality right now gives HR and RMSSD (`edge.seat_heart`). A device
that sends no RR intervals gives its own figure (`HeartRate`, `edge.device_hr`): HR without
HRV, read only where no source gives beats. Pupil: blinks out and the
screen's light response taken out (`edge.pupil`; `luminance` is set by the runtime from
the host's screen cues). Face: the expression model's probabilities, smoothed. Skin
conductance (`Waveform` kind "eda", µS): responses and tonic level (`edge.eda`); its
response rate and (once the viewer's baseline exists) tonic change join the arousal with
their own quality, and `eda_report` says what they were and what share of the arousal
evidence they carried (the wire's sample has no room: the edge unit's stats and log carry
it). An accelerometer (`Waveform` kind "acc", magnitude in mG: a Polar H10's, the serial
board's) grades the PPG's beats: those that fell while the body moved are left out of HR
and HRV (`edge.motion`; `motion_report()` counts them). Other waveform kinds are passed
over (counted in `ignored`). All of it is
fused into arousal/valence against the viewer's baseline (`edge.fusion`); before a seat
has its baseline, population priors stand in and the CALIBRATED flag stays off. A seat's
calibration profile (`edge.profile`: `empathy calibrate`'s results) corrects its heart
sensor's bias and lag, gives the pupil the viewer's own light response, and brings a
stored resting baseline, with which the seat is CALIBRATED from its first reading.

A seat serves viewer after viewer (a kiosk): when its signal comes back after
`rebaseline_after_s` without any (the strap was off, nobody in front of the camera), or a
first time after a baseline period that had none, it is a new person: everything learned
about the last one is dropped and a fresh baseline starts, with CALIBRATED off until done.
The profile's sensor corrections stay; its viewer's light response and baseline belong to
the first viewer only. A unit restarted keeps the seat's viewer by the same rule
(`viewer_state`, `resume`: edge/viewer_state.py keeps them in the unit's state folder); a
seat whose source names its device (`Device`) decides on the first one it reads (`held`):
only the device the viewer wore before the restart gives their baseline back.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Optional

import numpy as np

from empathy.edge.device_hr import DeviceRate
from empathy.edge.fusion import (FACE_GAIN, Affect, Aligner, Baseline, affect_fuse,
                                 baselines, channel_arousal)
from empathy.edge.heart_window import HeartWindow
from empathy.edge.latency import (FACE_TAU_S, HR_WINDOW_S, HRV_WINDOW_S, LATENCY_S,
                                  PUPIL_WINDOW_S, latency_s)
from empathy.edge.motion import MotionGate
from empathy.edge.ppg_track import HrTracker
from empathy.edge.profile import SeatProfile
from empathy.edge.pupil import LightResponse, PupilStream
from empathy.edge.seat_heart import MIN_HEART_QUALITY, seat_heart
from empathy.edge.timebase import WAVE_SLIP_S
from empathy.log import SaidOnce
from empathy.sensors.base import (Beat, Device, FaceCrop, Health, HeartRate, Pupil, Reading,
                                  Waveform)
from empathy.wire import EXPRESSION_NONE, Flag

if TYPE_CHECKING:
    from empathy.edge.eda import EdaWindow
    from empathy.edge.seat_wave import WaveBeats

log = logging.getLogger("empathy.edge.features")

HEART_WAVES = ("ppg", "ecg")  # the waveforms beats are found in; other kinds are passed over
EDA_SETTLE_S = 20.0  # responses a minute mean little over the first seconds


class SeatFeatures:
    """Feed readings with `add`; call `estimate(now_us)` at the send rate."""

    def __init__(self, baseline_s: float = 60.0, expression_model=None,
                 light: Optional[LightResponse] = None,
                 profile: Optional[SeatProfile] = None, rebaseline_after_s: float = 30.0,
                 name: str = "seat", hr_window_s: float = HR_WINDOW_S, aligned: bool = True):
        """`hr_window_s` and `aligned` (False: every signal fused as it is now) are for
        tuning benches (bench/bench_estimate.py); a unit runs the defaults."""
        self.profile = profile or SeatProfile()
        self.heart = self.profile.heart_fix(name)  # the correction, while its device is read
        self.hr_window_s = hr_window_s
        self.signal_latency_s = (latency_s(hr_window_s) if aligned
                                 else dict.fromkeys(LATENCY_S, 0.0))
        self.model, self.light, self.name = expression_model, light, name
        self.baseline_us = int(baseline_s * 1e6)
        self.rebase_us = int(rebaseline_after_s * 1e6)  # 0: one baseline, never again
        self.contact = True
        self.fault_said = ""  # the last sensor fault the log said
        self.faults_said = SaidOnce(log)
        self.luminance = 0.3
        self.start_us: Optional[int] = None
        self.last_signal_us: Optional[int] = None
        self.baselines_taken = 0  # baselines started: 1 + one per new viewer
        self.ignored: dict[str, int] = {}  # waveform kind -> chunks passed over
        self.heart_out: dict[str, int] = {}  # estimates with HR whose heart left the arousal
        self.heart_withheld: dict[str, int] = {}  # rates the waveform's evidence withheld, by why
        self.device_past_rejected = 0  # figures no heart makes, of devices before this one
        self.worn: Optional[str] = None  # the device read last (`Device.ident`)
        self.held = None  # a restarted unit's last viewer, till a device is read (viewer_state)
        self.resumed = False  # went on with the viewer of before the restart
        self._forget(first=True)

    def _forget(self, first: bool = False, keep_streams: bool = False) -> None:
        """Everything learned about the viewer in the seat (their beats, pupil, face, skin
        conductance and baseline) starts again. The first viewer may be the profile's: a
        stored baseline (calibrate baseline) stands from the first reading, and what it
        does not hold is learnt in the show as without one."""
        # the viewer's part of the profile (sensor corrections stay with the seat)
        self.mine = mine = self.profile if first else SeatProfile()
        if not keep_streams:  # beat detectors warmed up on nobody else's signal stay warm
            self.strap = HeartWindow(HRV_WINDOW_S, cycles=True)  # (a chest strap's ECG)
            if not first:
                self.device_past_rejected += self.device.rejected
            self.device = DeviceRate(self.heart.lag_us)  # the strap's own figure (no RR)
            self.waves: dict[str, WaveBeats] = {}
            self.motion = MotionGate(WAVE_SLIP_S)
            self.eda: Optional[EdaWindow] = None
            self.eda_report: dict = {}  # the last estimate's EDA part (see module docstring)
        self.pupil = PupilStream(self.light or mine.light, PUPIL_WINDOW_S)
        self.aligner = Aligner(self.signal_latency_s)
        self.face_probs: Optional[np.ndarray] = None
        self.face_ts = 0
        self.base = {**baselines(), **mine.baseline}
        self.affect = Affect(0.0, 0.0, 0.0)  # the last estimate, confidence included
        self.signals: dict = {}

    def _new_viewer(self, r: Reading) -> None:
        """A reading with signal: a new viewer if the seat had none for a while."""
        last, self.last_signal_us = self.last_signal_us, r.ts_us
        if last is None and r.ts_us - self.start_us < self.baseline_us:
            self.start_us = r.ts_us  # the baseline counts from the first signal
            return
        gap_us = r.ts_us - (self.start_us if last is None else last)
        if not self.rebase_us or (last is not None and gap_us < self.rebase_us):
            return
        # the first signal after an empty baseline period: what the streams hold is this
        # viewer's own (the detectors' warm-up), only the baseline starts again
        self._forget(keep_streams=last is None)
        self.held = None
        self.start_us = r.ts_us
        self.baselines_taken += 1
        log.info("%s: signal back after %.0f s without: a new viewer, new baseline",
                 self.name, gap_us / 1e6,
                 extra={"seat": self.name, "gap_s": round(gap_us / 1e6, 1),
                        "baseline_s": self.baseline_us / 1e6})

    def viewer_state(self) -> Optional[dict]:
        """What a restarted unit needs to go on with this seat's viewer (edge.viewer_state):
        their baseline's summary statistics and when their signal began and was last seen,
        never a reading. None before any signal."""
        if self.last_signal_us is None:
            return None
        return {"start_us": self.start_us, "last_signal_us": self.last_signal_us,
                "first": self.mine is self.profile, "device": self.worn,
                "base": {k: [b.n, b.mean, b.m2] for k, b in self.base.items()}}

    def resume(self, state: dict, keep_streams: bool = False) -> None:
        """Go on with the viewer `viewer_state` described (checked by the caller): their
        baseline stands, or goes on being taken where it was cut; the streams fill again
        (or, decided once their device is read, keep what it gave)."""
        self._forget(first=state["first"], keep_streams=keep_streams)
        self.base = {k: Baseline(b.prior_mean, b.prior_std, *state["base"][k])
                     for k, b in self.base.items()}
        self.start_us = state["start_us"]
        self.last_signal_us = max(state["last_signal_us"], self.last_signal_us or 0)
        self.baselines_taken, self.resumed = 0, True

    def _device(self, r: Device) -> None:
        """The source reads device `r` from now: a viewer held over a restart is taken back
        if it is the device they wore, else this is a new viewer (viewer_state.Held)."""
        self.worn, self.device.lag_us = r.ident, self.heart.lag_us  # (self.heart judged r)
        held, self.held = self.held, None
        if held is None:
            return
        why = held.why_not(r.ident, r.ts_us, self.rebase_us)
        if why:
            log.info("%s: viewer baseline not taken back: %s", self.name, why)
            if held.another(r.ident) and self.rebase_us:  # as a swap within a run: the
                self._forget(keep_streams=True)  # configured viewer's calibration is
                # not this wearer's either (it came back to the seat with the restart)
            return
        self.resume(held.entry, keep_streams=True)
        log.info("%s: the device of before the restart: viewer baseline taken back",
                 self.name)

    def add(self, r: Reading) -> None:
        r = self.heart.correct(r)  # a calibrated heart sensor's bias and lag undone
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
        if isinstance(r, HeartRate):
            return self.device.add(r.ts_us, r.hr_bpm, r.contact) and self.contact
        if isinstance(r, Waveform) and not np.size(r.samples):
            return False  # no sample, so its stamp says nothing: a clock must not follow it
        if isinstance(r, Waveform) and r.kind == "eda":
            self._add_eda(r)
            return False  # skin conductance is there with or without a viewer's hand on it
        if isinstance(r, Waveform) and r.kind == "acc":
            try:
                self.motion.add_acc(r.ts_us, r.fs_hz, r.samples)
                for w in self.waves.values():
                    if w.gate is not None:
                        w.tracker = w.tracker or HrTracker(w.clock.fs)
                        w.tracker.add_acc(r.samples, r.fs_hz)
            except ValueError as e:  # a broken sample or rate: that chunk is not motion
                log.warning("accelerometer chunk skipped", extra={"fs_hz": r.fs_hz,
                                                                  "reason": str(e)})
            return False  # an accelerometer moves with or without a viewer
        if isinstance(r, Waveform) and r.kind not in HEART_WAVES:
            self.ignored[r.kind] = self.ignored.get(r.kind, 0) + 1
            return False
        if isinstance(r, Waveform):
            # here: a strap's seat never loads scipy (test_unit_start.py; not sooner: seat_wave)
            from empathy.edge.seat_wave import WaveBeats
            try:
                wave = self.waves.get(r.kind)
                if wave is None or not wave.fits(r):  # new, resampled, or after a gap
                    gate = self.motion if r.kind == "ppg" else None
                    wave = self.waves[r.kind] = WaveBeats(r, gate)
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
        if isinstance(r, Device):
            self._device(r)
            return False
        if isinstance(r, Health):
            if r.contact != self.contact:
                for w in self.waves.values():
                    w.contact_changed()
            self.contact = r.contact
            if r.new_wearer and self.rebase_us:  # another strap, another body: no gap to wait
                self._forget()
                self.held = None
                self.start_us, self.last_signal_us = r.ts_us, None
                self.baselines_taken += 1
                log.info("%s: %s: a new viewer, new baseline", self.name, r.fault,
                         extra={"seat": self.name, "baseline_s": self.baseline_us / 1e6})
            if r.fault and r.fault != self.fault_said:  # the unit's log names the seat once
                # (a board's STATUS repeats its fault each second): a lead that keeps
                # dropping, a stuck lead-off pin, where the hardware tester looks; a fault
                # back within a minute (a STATUS flapping) is counted, not said again
                self.faults_said(r.ts_us / 1e6, r.fault, logging.WARNING, "%s: %s: %s",
                                 self.name, r.sensor, r.fault,
                                 extra={"seat": self.name, "sensor": r.sensor, "fault": r.fault})
            self.fault_said = r.fault or self.fault_said
        return False

    def _face(self, r: FaceCrop) -> None:
        probs = self.model.predict(r.image)
        if self.face_probs is None:
            self.face_probs = probs
        else:  # exponential smoothing with the real time step
            a = 1 - math.exp(-max(r.ts_us - self.face_ts, 0) / 1e6 / FACE_TAU_S)
            self.face_probs = (1 - a) * self.face_probs + a * probs
        self.face_ts = r.ts_us

    def _add_eda(self, r: Waveform) -> None:
        from empathy.edge.eda import EdaWindow  # here: scipy, only for skin conductance
        try:
            e = self.eda
            if e is None or not e.fits(r.fs_hz, r.ts_us, r.samples):  # new, resampled, a long gap
                e = self.eda = EdaWindow(r.fs_hz, r.ts_us, WAVE_SLIP_S)
            e.add(r.ts_us, r.samples)
        except ValueError as err:  # an unusable rate
            self.eda = None
            log.warning("eda chunk skipped", extra={"fs_hz": r.fs_hz, "reason": str(err)})

    @property
    def device_rejected(self) -> int:
        """Figures no heart makes that the seat's heart-rate device sent (the unit's stats:
        a device sending garbage), over every viewer of the run."""
        return self.device_past_rejected + self.device.rejected

    def motion_report(self) -> dict:
        """How many PPG beats the accelerometer judged and rejected for motion, and the
        PPG's newest heart rate tracked with the accelerometer (edge only). The tracked rate
        is experimental (it did not generalise to the held-out wrist records,
        docs/signal-validation.md): a side report that never feeds the seat's HR."""
        rep = self.motion.report()
        w = self.waves.get("ppg")
        if w is not None and w.tracked is not None:
            hr = w.tracked[1]  # None where the spectrum is ambiguous (edge.ppg_track)
            rep["tracked"] = {"experimental": True, "ts_us": int(w.tracked[0]),
                              "hr_bpm": None if hr is None else round(hr, 1),
                              "moving": w.tracked[2]}
        return rep

    def _eda_z(self, now_us: int, in_baseline: bool, ready: bool) -> Optional[tuple]:
        """(arousal-signed z, quality) from skin conductance, and fill `eda_report`."""
        if self.eda is None:
            self.eda_report = {}
            return None
        s = self.eda.summary(now_us)
        settled = (now_us - self.eda.clock.t0) / 1e6 >= EDA_SETTLE_S
        q = s["quality"] if settled else 0.0
        if in_baseline and q > 0:
            self.base["eda_rate"].add(s["scr_per_min"])
            self.base["eda_tonic"].add(s["tonic_us"])
        parts = [self.base["eda_rate"].z(s["scr_per_min"], ready)]
        if ready and self.base["eda_tonic"].n >= 10:  # tonic only against the viewer's own
            parts.append(self.base["eda_tonic"].z(s["tonic_us"], True))
        z = sum(parts) / len(parts)
        self.eda_report = {**s, "z": round(z, 3), "quality": round(q, 3)}
        return (z, q) if q > 0 else None

    def _contact(self, now_us: int) -> bool:
        """The strap's own contact report, and for raw waveforms a pulse in the last
        LOST_GAP_S (lost contact shows on the wire's CONTACT bit either way)."""
        return self.contact and not any(w.lost_contact(now_us) for w in self.waves.values())

    def estimate(self, now_us: int) -> dict:
        """The seat's current fused reading as wire SeatSample fields (no ids/seq/ts)."""
        flags = Flag.CONTACT if self._contact(now_us) else 0
        hr, rmssd, hq, paced, feel = seat_heart(self, now_us)
        if hq < MIN_HEART_QUALITY:
            hr = rmssd = feel = 0.0
        # the sensor's own word that it is off the body (a board's lead-off, a strap's
        # contact bit) ends the wire's rate at once: the window's last beats held HR_OK on
        # for 3-4 s with CONTACT off (bench/ecg_lead_off.py). The arousal still reads the
        # window's beats, which were the viewer's (ending it too took the demo's truth r
        # from 0.77-0.80 to 0.70-0.75 in interleaved runs; why was not looked into)
        if not self.contact:
            hr = rmssd = 0.0
        flags |= (Flag.HR_OK if hr else 0) | (Flag.HRV_OK if rmssd else 0)
        # a paced rhythm's rate is the pacemaker's, not the viewer's: HR stays on the wire
        # (it is the heart's), but the heart leaves the arousal and its baseline
        feel = 0.0 if paced else feel
        if hr and paced:
            self.heart_out["paced"] = self.heart_out.get("paced", 0) + 1
        pupil = self.pupil.pupil_mm(now_us)
        flags |= (Flag.PUPIL_OK if pupil else 0) | (Flag.BLINK if self.pupil.blinked(now_us) else 0)
        pupil_resid = self.pupil.residual_mm(now_us) if pupil else 0.0

        stored = self.mine.calibrated
        in_baseline = (not stored and self.start_us is not None
                       and now_us - self.start_us < self.baseline_us)
        ready = stored or (not in_baseline and self.start_us is not None)
        if in_baseline:
            for name, x in (("hr", feel), ("rmssd", rmssd), ("pupil", pupil_resid)):
                if x and name not in self.mine.baseline:
                    self.base[name].add(x)
        if ready:
            flags |= Flag.CALIBRATED

        z = {}
        if feel:
            z["hr"] = (self.base["hr"].z(feel, ready), hq)
        if rmssd:
            z["rmssd"] = (-self.base["rmssd"].z(rmssd, ready), hq)
        if pupil and ready:
            z["pupil"] = (self.base["pupil"].z(pupil_resid, ready), 1.0)
        eda = self._eda_z(now_us, in_baseline, ready)
        if eda:
            z["eda"] = eda
        face_valence, expr, conf = None, EXPRESSION_NONE, 0.0
        if self.face_probs is not None and now_us - self.face_ts < 2e6:
            # here: a seat without a face camera never loads edge.expression's OpenCV
            from empathy.edge.expression import expression_valence_arousal
            face_valence, face_arousal = expression_valence_arousal(self.face_probs)
            rest = self.mine.resting_expression
            if rest is not None:  # a face that looks a little sad at rest is not sadness
                rest_v, rest_a = expression_valence_arousal(rest)
                face_valence, face_arousal = face_valence - rest_v, face_arousal - rest_a
            expr = int(np.argmax(self.face_probs))
            conf = float(self.face_probs[expr])
            flags |= Flag.FACE_OK
            z["face"] = (FACE_GAIN * face_arousal, 1.0)
        # arousal and valence of the body aligner.lag_s ago, each signal at its moment
        z, face_valence = self.aligner.push(now_us, z, face_valence)
        self.affect = affect_fuse(z, face_valence)
        self.signals = z  # this estimate's signals, for `channels()`
        if self.eda_report:
            self.eda_report["share"] = round(self.affect.shares.get("eda", 0.0), 3)
        return dict(hr_bpm=hr, rmssd_ms=rmssd, pupil_mm=pupil, arousal=self.affect.arousal,
                    valence=self.affect.valence, expression=expr, expression_conf=conf,
                    flags=int(flags))

    def channels(self) -> dict:
        """The last estimate by channel: each alone and the fused one without each
        (`fusion.channel_arousal`). Stays on the unit: for evaluation logs, not the wire."""
        return {"arousal": self.affect.arousal, **channel_arousal(self.signals)}
