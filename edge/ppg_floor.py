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
"""

from __future__ import annotations

import numpy as np

FLOOR_RUN_S = 0.1  # flat this long at the floor: a drop-out (ppg_artefacts: 0.1-0.6 s)
FLOOR_LOOK_S = 2.0  # and under the raw waveform's minimum over this long before


class FloorRestart:
    """Where in each chunk a PPG stream's filter restarts (see the module's docstring)."""

    def __init__(self, fs_hz: float):
        self.run_n = max(3, int(round(FLOOR_RUN_S * fs_hz)))
        self.look = int(round(FLOOR_LOOK_S * fs_hz))
        self.value = np.nan  # the last sample's value, and how long it has been repeated
        self.count = 0
        self.floor = False  # the current run is a drop-out (the filter restarts after it)

    def history_s(self) -> float:
        """What the stream's raw history must hold before the present sample."""
        return FLOOR_LOOK_S + 2 * FLOOR_RUN_S

    def filtered(self, band, x: np.ndarray, past: np.ndarray) -> np.ndarray:
        """x through `band(samples, restart)` (the stream's band-pass, started over on the
        first sample where restart), restarting after each drop-out; `past`: as below."""
        cuts = self.restarts(x, past)
        if not cuts:
            return band(x, False)
        return np.concatenate([band(v, i in cuts) for i, v in zip([0] + cuts, np.split(x, cuts))
                               if v.size])

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
        return out

    def _under(self, z: np.ndarray, start: int) -> bool:
        """z[start] (a run's first sample) lies under every sample in the FLOOR_LOOK_S
        before it (all the stream has, at its start)."""
        w = z[max(start - self.look, 0):start]
        return not w.size or z[start] < float(w.min())
