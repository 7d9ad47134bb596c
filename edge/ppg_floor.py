"""PPG: the band-pass filter starts over across a drop-out to the floor.

A logger that loses the sensor writes its floor (0, or the ADC's bottom) for a while
(heartpy-data3; `ppg_artefacts --dropouts`). The causal band-pass answers the step down
and the return with a ringing many pulse heights tall that lasts about a second: the return
makes a beat of its own, and the beat-wide energy average it fills keeps the next pulses'
blocks shut (most misses left after a drop-out, ppg_artefacts --dropouts: the first second
after the return). Nothing in a drop-out is signal, so the filter forgets it: where the
raw waveform sat at one value for FLOOR_RUN_S, under everything in the FLOOR_LOOK_S
before (a floor: a clipped top is no drop-out, nor troughs clipped at the ADC's bottom,
which visit that floor every beat: 'at or under' restarted the filter at each of them),
the filter restarts settled on the first sample after it, as a stream's filter starts
settled on its first sample (also settling it on the floor once the run is known changed
nothing more: ppg_artefacts --dropouts, 10 seeds). The runs are counted across chunks, so streaming restarts where batch does; the
run is judged at its FLOOR_RUN_S-th sample, so the history needed stays bounded however
long the drop-out lasts.

A board's raw counts stand on a DC hundreds of pulse heights tall (a MAX3010x: ~120k counts
under a pulse of a few hundred), and its drop-outs and rails are jumps of that DC: a finger
lifted (the count falls to the ambient floor), pressed (pinned at full scale), or the room's
light switched. One sample that moves JUMP_X times as far as the waveform's whole range over
the FLOOR_LOOK_S before is no pulse: the filter restarts settled on it, and again on the
return where the jump led onto a flat rail (whatever its length).
Without it the band-pass's ringing, thousands of pulse heights of energy, filled the
detector's slow energy mean for a minute and more (`ppg_boards`: systole-ppg as counts with
the finger lifted 3 s every 20 s, F1 0.997 -> 0.06); the stream restarts that mean with the
filter (heart_stream). The corpus's recordings have no such jump (their drop-outs to the
floor fall about one range: every corpus record's beats unchanged).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

FLOOR_RUN_S = 0.1  # flat this long at the floor: a drop-out (ppg_artefacts: 0.1-0.6 s)
FLOOR_LOOK_S = 2.0  # and under the raw waveform's minimum over this long before
JUMP_X = 4.0  # one sample's step this many times the range before it: a jump (see above)
JUMP_MIN_S = 0.5  # that range is read over this long at least (a stream's start)


class FloorRestart:
    """Where in each chunk a PPG stream's filter restarts (see the module's docstring)."""

    def __init__(self, fs_hz: float):
        self.run_n = max(3, int(round(FLOOR_RUN_S * fs_hz)))
        self.look = int(round(FLOOR_LOOK_S * fs_hz))
        self.value = np.nan  # the last sample's value, and how long it has been repeated
        self.count = 0
        self.floor = False  # the current run is a drop-out (the filter restarts after it)
        self.since = 0  # samples since the last restart (or the stream's start)
        self.jumped = False  # that restart was a jump (a flat rail may follow it)
        self.jumps: set[int] = set()  # which of the last chunk's restarts are jumps
        self.min_n = int(round(JUMP_MIN_S * fs_hz))

    def history_s(self) -> float:
        """What the stream's raw history must hold before the present sample."""
        return FLOOR_LOOK_S + 2 * FLOOR_RUN_S

    def filtered(self, band, x: np.ndarray, past: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """(x through `band(samples, restart)` (the stream's band-pass, started over on the
        first sample where restart), restarting after each drop-out and jump; the jumps'
        samples); `past`: as below."""
        cuts = self.restarts(x, past)
        jumps = [c for c in cuts if c in self.jumps]
        if not cuts:
            return band(x, False), jumps
        return np.concatenate([band(v, i in cuts) for i, v in zip([0] + cuts, np.split(x, cuts))
                               if v.size]), jumps

    def restarts(self, x: np.ndarray, past: np.ndarray) -> list[int]:
        """The chunk's samples (indices into x) at which the filter restarts settled on
        that sample; `past`: the raw samples before x (at least history_s of them, where
        the stream has them)."""
        if not x.size:
            return []
        new = np.concatenate(([x[0] != self.value], x[1:] != x[:-1]))  # a run starts here
        bounds = np.flatnonzero(new)
        if not new[0]:
            bounds = np.concatenate(([0], bounds))
        bounds = np.append(bounds, x.size)
        length = np.diff(bounds)
        if not new[0]:  # the run carried on from the last chunk
            length[0] += self.count
        out = [0] if self.floor and new[0] else []  # the return from a drop-out
        floor = self.floor and not new[0]
        for k in np.flatnonzero(length >= self.run_n).tolist():  # few: loop over them
            a, b = int(bounds[k]), int(bounds[k + 1])
            before = length[k] - (b - a)  # of the run, in earlier chunks
            if not floor:
                at = a + self.run_n - before - 1  # where the run has lasted run_n samples
                floor = at >= a and self._under(np.concatenate((past, x)),
                                                len(past) + at + 1 - self.run_n)
            if floor and b < x.size:
                out.append(b)  # the return: settled on its first sample
                floor = False
        self.value, self.count, self.floor = float(x[-1]), int(length[-1]), floor
        return self._with_jumps(x, past, out)

    def _with_jumps(self, x: np.ndarray, past: np.ndarray, floors: list[int]) -> list[int]:
        """The drop-outs' restarts `floors` and the jumps (see the module's docstring): over
        JUMP_X times the raw range over the FLOOR_LOOK_S before (JUMP_MIN_S at least, at the
        stream's start), or any step off a flat rail a jump led onto, flat for FLOOR_RUN_S
        (its return). One pass per restart: they are few."""
        z = np.concatenate((past, x))
        off, out = len(past), []
        self.jumps = set()
        r, pos = off - self.since, off  # z index of the last restart; where to look on
        for f in [off + c for c in floors] + [len(z)]:
            while (j := self._first_jump(z, r, pos, f)) is not None:
                out.append(j - off)
                self.jumps.add(j - off)
                r, pos, self.jumped = j, j + 1, True
            if f < len(z):
                out.append(f - off)
                r, pos, self.jumped = f, f + 1, False
        self.since = len(z) - r
        return sorted(set(out))

    def _first_jump(self, z: np.ndarray, r: int, start: int, end: int) -> int | None:
        """The first j in [start, end) whose step from z[j - 1] is a jump (r: the last
        restart, under 0 where it is older than the history)."""
        start = max(start, self.min_n)
        if start >= end:
            return None
        lo = max(start - self.look, 0)
        w = z[lo:end]
        origin = (self.look - 1) // 2  # windows that end at their sample
        rng = (ndimage.maximum_filter1d(w, self.look, origin=origin, mode="nearest")
               - ndimage.minimum_filter1d(w, self.look, origin=origin, mode="nearest"))
        j = np.arange(start, end)
        step = np.abs(z[j] - z[j - 1])
        hit = step > JUMP_X * rng[j - 1 - lo]
        if self.jumped and r >= 0:  # off a rail: flat since the jump onto it
            seg = z[r:end]
            flat = np.maximum.accumulate(seg) == np.minimum.accumulate(seg)
            k = j - r
            hit |= (k >= self.run_n) & flat[k - 1] & (step > 0)
        hit &= j > r  # (the restart's own sample)
        return int(j[np.argmax(hit)]) if hit.any() else None

    def _under(self, z: np.ndarray, start: int) -> bool:
        """z[start] (a run's first sample) lies under every sample in the FLOOR_LOOK_S
        before it (all the stream has, at its start)."""
        w = z[max(start - self.look, 0):start]
        return not w.size or z[start] < float(w.min())


def railed_pct(x, fs_hz: float) -> tuple[float, float]:
    """(% of the recording at its own top value, % at its bottom value), in runs of
    FLOOR_RUN_S or longer: a top clipped flat (the ADC's full scale, a photodiode saturated by
    a pressing finger or bright light) or a floor (a finger lifted). `signal hr` says so: no
    pulse can be read there."""
    x = np.asarray(x, float)
    run_n = max(3, int(round(FLOOR_RUN_S * fs_hz)))
    out = []
    for v in (x.max(), x.min()) if x.size else ():
        at = np.concatenate(([0], (x == v).astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(at))
        runs = edges[1::2] - edges[::2]
        out.append(100.0 * float(runs[runs >= run_n].sum()) / x.size)
    return tuple(out) if out else (0.0, 0.0)
