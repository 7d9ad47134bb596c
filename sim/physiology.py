"""A simulated viewer's body: heart, pupil and skin, answering hidden affect and the screen.

Effect sizes and time courses follow published physiology; each constant names its source
and docs/simulation.md tabulates them all. Nothing here is shared with the estimator
(`empathy.edge`): its light reflex is a first-order lag of 0.4 s, this one is a delay and
two asymmetric stages on a log-like luminance curve; its heart rate is a window average,
this heart is a lagged, saturating, individual response with respiration in every beat.

Heart (`Heart`): beat-to-beat intervals from a mean rate that answers arousal through a
fast vagal and a slow sympathetic path (Berger, Saul & Cohen 1989: vagal transfer to
~0.5 Hz, sympathetic only below ~0.1 Hz), saturating and individual in gain: film-induced
emotions move heart rate by a few beats per minute (Kreibig 2010 review; Kreibig et al.
2007), up for fear and amusement, slightly down for quiet sadness. A startle adds a cardiac
defence acceleration peaking seconds later (Vila et al. 2007). Respiratory sinus
arrhythmia and Mayer waves modulate every interval, sized so resting RMSSD follows the
norms (Nunan et al. 2010: 42 +- 15 ms); arousal withdraws vagal tone (RMSSD falls,
Kreibig 2010). Ectopic beats at healthy adults' rates (Kostis et al. 1981; the 25-41-year
population sample of Circulation 2017 abstract 17075: median 2 PVCs per 24 h, 95th
percentile ~200).

Pupil (`Pupil`): the steady-state diameter for the light reaching the eye is Watson &
Yellott's (2012) unified formula (Stanley & Davies 1995 corneal flux, age term from Winn et
al. 1994), over a cinema screen's luminance (DCI peak 48 cd/m2, gamma 2.6) and solid
angle; it reaches that value through a latency of ~0.2-0.3 s (Bergamin & Kardon 2003;
Lowenstein & Loewenfeld) and two stages, fast to constrict, slow to redilate (Ellis 1981).
Arousal dilates by a few tenths of a millimetre, with its own slower course (Bradley et al.
2008; Partala & Surakka 2003), against ~1.5 mm of light response over a film's range.

Skin (`Skin`): tonic level 2-20 uS, nonspecific responses 1-3 per minute at rest, evoked
responses 1-3 s after the event, rising over 1-3 s and half-recovered in 2-10 s (Dawson,
Schell & Filion 2007, Table 8.1), shaped as Bateman functions (Benedek & Kaernbach 2010);
about one person in ten barely responds (Boucsein et al. 2012).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

# -- heart ----------------------------------------------------------------------------------
VAGAL_TAU_S = 1.5  # fast (vagal) share of the heart-rate response
SYMPATHETIC_TAU_S = 4.0  # two such stages: the slow (sympathetic) share
VAGAL_SHARE = 0.4
DEFENCE_TAU_S = 3.5  # cardiac defence: t*exp(-t/tau), peaking tau after the startle
DEFENCE_BPM = 6.0  # its peak per unit startle
MAYER_HZ, MAYER_FRAC = 0.1, 0.015  # baroreflex (Mayer) waves in the RR intervals
WHITE_SHARE = 0.35  # of RMSSD from beat-to-beat noise; the rest is respiratory
MOVE_BPM, TALK_BPM = 5.0, 4.0  # moving and talking raise heart rate
# -- pupil ----------------------------------------------------------------------------------
SCREEN_PEAK_CD_M2 = 48.0  # DCI cinema reference white
SCREEN_BLACK_CD_M2 = 0.03
SCREEN_GAMMA = 2.6
SCREEN_FIELD_DEG2 = 900.0  # ~40 x 23 degrees of screen at a typical seat
PSYCH_TAU_S = 0.6  # two stages: the arousal dilation builds over ~1-2 s
HIPPUS_SD_MM, HIPPUS_TAU_S = 0.06, 2.0  # pupillary unrest
# -- skin -----------------------------------------------------------------------------------
SCL_TAU_S = 20.0  # the tonic level follows arousal over tens of seconds
SCL_AROUSAL = 0.25  # fraction the tonic level rises at arousal 1


def _sat(a: float) -> float:
    """Saturating response to arousal; calming moves less than exciting (floor effect)."""
    return math.tanh(1.2 * a) if a > 0 else 0.4 * math.tanh(1.2 * a)


@dataclass
class BodyTraits:
    """One viewer's physiology, drawn from population norms."""

    age_y: float
    hr0_bpm: float
    hr_gain_bpm: float
    rmssd0_ms: float
    resp_hz: float
    ectopy_per_beat: float
    pupil_offset_mm: float
    light_latency_s: float
    constrict_tau_s: float
    dilate_tau_s: float
    pupil_gain_mm: float
    blink_per_min: float
    scl0_us: float
    scr_amp_us: float
    ns_scr_per_min: float
    expressivity: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> "BodyTraits":
        responder = rng.random() >= 0.1  # ~10 % electrodermal non-responders
        return cls(
            age_y=float(rng.uniform(18, 70)),
            hr0_bpm=float(np.clip(rng.normal(72, 9), 48, 105)),  # NHANES resting pulse
            hr_gain_bpm=float(rng.lognormal(math.log(5.0), 0.45)),  # a few bpm (Kreibig 2010)
            rmssd0_ms=float(np.clip(rng.normal(42, 15), 15, 100)),  # Nunan et al. 2010
            resp_hz=float(rng.uniform(12, 20) / 60),  # 12-20 breaths per minute at rest
            ectopy_per_beat=float(min(rng.lognormal(math.log(2e-5), 2.8), 0.02)),
            pupil_offset_mm=float(rng.normal(0, 0.5)),  # spread at a given luminance
            light_latency_s=float(rng.uniform(0.2, 0.3)),  # Bergamin & Kardon 2003
            constrict_tau_s=float(rng.uniform(0.12, 0.2)),
            dilate_tau_s=float(rng.uniform(0.8, 1.5)),  # redilation is slower (Ellis 1981)
            pupil_gain_mm=float(np.clip(rng.normal(0.4, 0.1), 0.15, 0.7)),  # Bradley 2008
            blink_per_min=float(np.clip(rng.lognormal(math.log(15), 0.4), 4, 40)),
            scl0_us=float(np.clip(rng.lognormal(math.log(6), 0.5), 1.5, 25)),  # Dawson 2007
            scr_amp_us=float(rng.lognormal(math.log(0.35), 0.5) * (1 if responder else 0.05)),
            ns_scr_per_min=float(rng.uniform(1, 3)),
            expressivity=float(rng.lognormal(0, 0.5)),
        )

    def steady_pupil_mm(self, lum: float, ambient_cd_m2: float = 0.0) -> float:
        """Light-adapted diameter with `lum` (mean code value 0..1) on the screen."""
        return pupil_steady_mm(screen_cd_m2(lum) + ambient_cd_m2, self.age_y) + self.pupil_offset_mm


    def light_slope_mm(self, levels, along=None) -> float:
        """How much the settled pupil narrows per unit of screen level, as the least-squares
        line through `levels` sees it (the light response is not a line); `along`: the
        levels as an estimator measures light (its per-unit is then that scale's)."""
        y = np.array([self.steady_pupil_mm(v) for v in np.asarray(levels, float)])
        x = np.asarray(levels if along is None else along, float)
        return float(-np.polyfit(x, y, 1)[0])

    def reflex_lags_s(self) -> tuple[float, float]:
        """Rough first-order equivalents of the reflex: (constricting, redilating), latency
        plus both stages."""
        return (self.light_latency_s + 2 * self.constrict_tau_s,
                self.light_latency_s + 2 * self.dilate_tau_s)


def screen_cd_m2(lum: float) -> float:
    """A frame's mean code value 0..1 as cinema screen luminance."""
    return SCREEN_BLACK_CD_M2 + SCREEN_PEAK_CD_M2 * max(0.0, min(1.0, lum)) ** SCREEN_GAMMA


def pupil_steady_mm(cd_m2: float, age_y: float, field_deg2: float = SCREEN_FIELD_DEG2) -> float:
    """Watson & Yellott (2012) unified formula, both eyes adapted."""
    f = max(cd_m2, 1e-6) * field_deg2
    x = (f / 846.0) ** 0.41
    d_sd = 7.75 - 5.75 * x / (x + 2.0)  # Stanley & Davies (1995)
    return d_sd + (age_y - 28.58) * (0.02132 - 0.009562 * d_sd)


class Heart:
    """Beat times from a mean rate with respiration, Mayer waves, noise and ectopy."""

    def __init__(self, traits: BodyTraits, rng: np.random.Generator, t_s: float):
        self.tr, self.rng = traits, rng
        self.fast = self.slow1 = self.slow2 = 0.0
        self.defence1 = self.defence2 = 0.0
        self.move = 0.0
        self.resp_phase = float(rng.random())
        self.mayer_phase = float(rng.random())
        self.rmssd_ms = traits.rmssd0_ms
        self.hr_bpm = traits.hr0_bpm
        # the heart was beating before anyone looked: the first beat ends a whole interval.
        # The next beat is set a whole interval ahead (a chest ECG draws its P wave from it,
        # 0.2 s before its R peak: sim/ecg.py)
        self.next_beat_s = t_s + 60.0 / traits.hr0_bpm * float(rng.uniform(0.3, 1.0))
        self.last_beat_s = self.next_beat_s - 60.0 / traits.hr0_bpm
        self.pending: list[float] = []  # intervals already decided (after an ectopic beat)
        self.ectopic = 0

    def step(self, t_s: float, dt: float, arousal: float, valence: float, startle: float,
             move: float, talking: bool) -> list[tuple[float, float]]:
        """Advance to t_s; returns the beats (time s, RR ms) that fell in this step."""
        tr = self.tr
        drive = tr.hr_gain_bpm * (_sat(arousal)
                                  - 0.25 * max(0.0, -valence) * (1 - min(1.0, max(arousal, 0.0))))
        self.fast += (1 - math.exp(-dt / VAGAL_TAU_S)) * (VAGAL_SHARE * drive - self.fast)
        ks = 1 - math.exp(-dt / SYMPATHETIC_TAU_S)
        self.slow1 += ks * ((1 - VAGAL_SHARE) * drive - self.slow1)
        self.slow2 += ks * (self.slow1 - self.slow2)
        kd = 1 - math.exp(-dt / DEFENCE_TAU_S)
        self.defence1 += startle - kd * self.defence1
        self.defence2 += kd * (self.defence1 - self.defence2)
        self.move += (1 - math.exp(-dt / 2.0)) * (MOVE_BPM * move + TALK_BPM * talking - self.move)
        self.hr_bpm = max(40.0, tr.hr0_bpm + self.fast + self.slow2
                          + math.e * DEFENCE_BPM * self.defence2 + self.move)
        a = max(arousal, 0.0)
        self.rmssd_ms = tr.rmssd0_ms * max(0.35, 1 - 0.4 * min(a, 1.0))  # vagal withdrawal
        resp_hz = tr.resp_hz * (1 + 0.2 * min(a, 1.5))
        if talking:  # speech breaks the breathing rhythm
            resp_hz *= float(self.rng.uniform(0.5, 1.5))
        self.resp_phase = (self.resp_phase + resp_hz * dt) % 1.0
        self.mayer_phase = (self.mayer_phase + MAYER_HZ * dt) % 1.0
        beats = []
        while t_s >= self.next_beat_s:
            beats.append((self.next_beat_s, (self.next_beat_s - self.last_beat_s) * 1000.0))
            self.last_beat_s = self.next_beat_s
            self.next_beat_s += self._next_interval_ms(resp_hz) / 1000.0
        return beats

    def _next_interval_ms(self, resp_hz: float) -> float:
        if self.pending:
            return self.pending.pop(0)
        rr = 60000.0 / self.hr_bpm * (1 + MAYER_FRAC * math.sin(2 * math.pi * self.mayer_phase))
        # respiratory part sized so RMSSD lands on the viewer's value (see docs/simulation.md)
        rsa = (math.sqrt(1 - WHITE_SHARE ** 2) * self.rmssd_ms * math.sqrt(2)
               / (2 * math.pi * resp_hz * rr / 1000.0))
        rr += min(rsa, 0.15 * rr) * math.sin(2 * math.pi * self.resp_phase)
        rr += self.rng.normal(0, WHITE_SHARE * self.rmssd_ms / math.sqrt(2))
        rr = min(2000.0, max(300.0, rr))
        if self.rng.random() < self.tr.ectopy_per_beat:
            self.ectopic += 1
            if self.rng.random() < 0.5:  # ventricular: early, then a full compensatory pause
                early = rr * float(self.rng.uniform(0.55, 0.75))
                self.pending.append(2 * rr - early)
            else:  # atrial: early, the pause resets the sinus node (not compensatory)
                early = rr * float(self.rng.uniform(0.7, 0.85))
                self.pending.append(rr * 1.05)
            return early
        return rr


class Pupil:
    """True pupil diameter: delayed, asymmetric light reflex plus arousal dilation."""

    def __init__(self, traits: BodyTraits, rng: np.random.Generator, lum: float, dt: float):
        self.tr, self.rng = traits, rng
        start = pupil_steady_mm(screen_cd_m2(lum), traits.age_y)
        self.light1 = self.light2 = start
        self.psych1 = self.psych2 = 0.0
        self.hippus = 0.0
        self.delay = deque([lum] * max(1, round(traits.light_latency_s / dt)))
        self.mm = start + traits.pupil_offset_mm

    def step(self, dt: float, lum: float, ambient_cd_m2: float, arousal: float) -> float:
        tr = self.tr
        self.delay.append(lum)
        seen = self.delay.popleft()  # the luminance of one latency ago
        target = pupil_steady_mm(screen_cd_m2(seen) + ambient_cd_m2, tr.age_y)
        for stage in (1, 2):
            src = target if stage == 1 else self.light1
            cur = self.light1 if stage == 1 else self.light2
            tau = tr.constrict_tau_s if src < cur else tr.dilate_tau_s
            cur += (1 - math.exp(-dt / tau)) * (src - cur)
            if stage == 1:
                self.light1 = cur
            else:
                self.light2 = cur
        kp = 1 - math.exp(-dt / PSYCH_TAU_S)
        self.psych1 += kp * (tr.pupil_gain_mm * _sat(arousal) - self.psych1)
        self.psych2 += kp * (self.psych1 - self.psych2)
        kh = dt / HIPPUS_TAU_S
        self.hippus += -kh * self.hippus + HIPPUS_SD_MM * math.sqrt(2 * kh) * self.rng.normal()
        self.mm = min(9.0, max(1.5, self.light2 + tr.pupil_offset_mm + self.psych2 + self.hippus))
        return self.mm


@dataclass
class _SCR:
    onset_s: float
    amp_us: float
    tau1_s: float
    tau2_s: float
    peak: float  # the unit Bateman function's maximum, to scale amp to the peak

    def at(self, t: float) -> float:
        x = t - self.onset_s
        if x <= 0:
            return 0.0
        return self.amp_us * (math.exp(-x / self.tau2_s) - math.exp(-x / self.tau1_s)) / self.peak


class Skin:
    """Skin conductance (uS): a tonic level and phasic responses."""

    def __init__(self, traits: BodyTraits, rng: np.random.Generator):
        self.tr, self.rng = traits, rng
        self.tonic = traits.scl0_us
        self.drift = 0.0
        self.responses: list[_SCR] = []
        self.us = traits.scl0_us
        self.count = 0

    def respond(self, t_s: float, scale: float) -> None:
        """One SCR: latency 1-3 s, rise 1-3 s, half recovery 2-10 s (Dawson et al. 2007)."""
        tau1, tau2 = float(self.rng.uniform(0.5, 1.0)), float(self.rng.uniform(2.0, 6.0))
        t_peak = math.log(tau2 / tau1) * tau1 * tau2 / (tau2 - tau1)
        peak = math.exp(-t_peak / tau2) - math.exp(-t_peak / tau1)
        amp = self.tr.scr_amp_us * scale * float(self.rng.lognormal(0, 0.4))
        self.responses.append(_SCR(t_s + float(self.rng.uniform(1.0, 3.0)), amp, tau1, tau2, peak))
        self.count += 1

    def step(self, t_s: float, dt: float, arousal: float, startle: float, move_onset: bool) -> float:
        tr, a = self.tr, max(arousal, 0.0)
        if self.rng.random() < tr.ns_scr_per_min / 60 * (1 + 2 * min(a, 1.5)) * dt:
            self.respond(t_s, 1.0)  # nonspecific responses come faster when aroused
        if startle > 0:
            self.respond(t_s, 1.0 + 2.0 * startle)
        if move_onset and self.rng.random() < 0.5:
            self.respond(t_s, 0.7)  # a shift in the seat or a deep breath
        self.tonic += (1 - math.exp(-dt / SCL_TAU_S)) * (tr.scl0_us * (1 + SCL_AROUSAL * min(a, 1.5))
                                                        - self.tonic)
        k = dt / 60.0
        self.drift += -k * self.drift + 0.03 * tr.scl0_us * math.sqrt(2 * k) * self.rng.normal()
        self.responses = [r for r in self.responses if t_s - r.onset_s < 8 * r.tau2_s]
        self.us = max(0.05, self.tonic + self.drift + sum(r.at(t_s) for r in self.responses))
        return self.us
