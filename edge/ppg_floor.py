"""PPG: the band-pass filter starts over across a drop-out to the floor, or a jump of the DC.

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
long the drop-out lasts. A chunk costs its own length: it reads only the history_n samples
before it, and one where no sample moved JUMP_X times the range every sample's window shares
skips the move rule below (a stream's 1-s chunk at 100 Hz: 44 -> 10 us).

A board's raw counts stand on a DC hundreds of pulse heights tall (a MAX3010x: ~120k counts
under a pulse of a few hundred), and its drop-outs and rails are jumps of that DC: a finger
lifted (the count falls to the ambient floor), pressed (pinned at full scale, or the DC
moving tens of pulses within a few tenths of a second), or the room's light switched. Where
the waveform moves over MOVE_S more than JUMP_X times its whole range over the FLOOR_LOOK_S
before, that is no pulse: a move, which goes on while it moves that much of that same range;
the filter restarts settled on each of its samples (so its output stays flat through it),
and the stream's slow energy mean with it (heart_stream). A step off the flat rail a move
led onto starts a move too, whatever the rail's length. Without them the band-pass's
ringing, thousands of pulse heights of energy, filled that slow mean for a minute and more
(`ppg_boards`, the tuning records as counts, pooled F1: a finger lifted 3 s every 20 s 0.090
-> 0.932, pressed onto full scale 0.169 -> 0.931, light steps of 10 pulses 0.892 -> 0.944, a
press of 30 pulses in 0.3 s 0.833 -> 0.929; untouched 0.950). JUMP_X 6, not 4: heartpy-data2
moves 4.2 times its range at 34.5 s, a pulse back after a weak stretch (4 changed its beats:
F1 0.920 -> 0.897); no move is read on a drop-out's range (the floor's own restart is its
return's). Every corpus record's beats unchanged (the digest). A board's stream begins with
its DC rising from the ambient floor as the LED comes on, before any range was there to judge
a move by: the stream restarts once, where the waveform settles JUMP_X times its 2-s range
away from where it began (_start). Without it the rise's ringing held the slow mean up:
systole-ppg's counts rising with a 0.3-s time constant lost their first 18 s of beats (21 of
the first 30 s's; 3 now), pyphysio-bvp's with 0.1 s 29 (3 now), heartpy-data's every beat
(2 lost now); a slower rise (3 s) still loses its first 8-11 beats.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

FLOOR_RUN_S = 0.1  # flat this long at the floor: a drop-out (ppg_artefacts: 0.1-0.6 s)
FLOOR_LOOK_S = 2.0  # and under the raw waveform's minimum over this long before
JUMP_X = 6.0  # a move over MOVE_S this many times the range before it: a jump (see above)
JUMP_MIN_S = 0.5  # that range is read over this long at least (a stream's start)
MOVE_S = 0.15  # a jump is a move over this long (a finger pressed takes 0.1-0.5 s)
START_S = 20.0  # a stream's start settling is looked for this long (_start)
RAIL_STEPS = 16  # railed_pct: a waveform spanning fewer ADC steps holds its top by
# quantisation (a pulse of 2-8 counts rests 0.1 s and more on its top step: not a rail)


class FloorRestart:
    """Where in each chunk a PPG stream's filter restarts (see the module's docstring)."""

    def __init__(self, fs_hz: float):
        self.run_n = max(3, int(round(FLOOR_RUN_S * fs_hz)))
        self.look = int(round(FLOOR_LOOK_S * fs_hz))
        self.value = np.nan  # the last sample's value, and how long it has been repeated
        self.count = 0
        self.floor = False  # the current run is a drop-out (the filter restarts after it)
        self.n = 0  # samples seen
        self.floor_at = -(10**12)  # where the filter last restarted after a drop-out
        self.r0: float | None = None  # the range before the move going on, if one is
        self.rail: tuple[float, int] | None = None  # (that range, where the move ended)
        # until the waveform next changes: a move may have led onto a flat rail
        self.jumps: set[int] = set()  # which of the last chunk's restarts are moves
        self.min_n = int(round(JUMP_MIN_S * fs_hz))
        self.start_n = int(round(START_S * fs_hz))
        self.head = np.zeros(0)  # the stream's first JUMP_MIN_S (where it started)
        self.starting = True  # until the first restart on a settled start (_start)
        self.move_n = max(1, int(round(MOVE_S * fs_hz)))
        # the raw samples before a chunk that its rules read (a move's range before it, a
        # run's FLOOR_LOOK_S before it): restarts() reads no more of its past, so a chunk
        # costs its own length, not the caller's history's (a stream's was 4.5 s)
        self.history_n = self.look + max(self.move_n + 1, self.run_n)

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
        that sample; `past`: the raw samples before x (at least history_n of them, where
        the stream has them)."""
        if not x.size:
            return []
        past = past[-self.history_n:]
        cut = np.empty(x.size + 1, bool)  # where a run starts in x, and x's end
        cut[0] = cut[-1] = True
        np.not_equal(x[1:], x[:-1], out=cut[1:-1])
        bounds = cut.nonzero()[0]
        length = bounds[1:] - bounds[:-1]
        new = bool(x[0] != self.value)
        if not new:  # the run carried on from the last chunk
            length[0] += self.count
        out = [0] if self.floor and new else []  # the return from a drop-out
        floor = self.floor and not new
        z = None  # past and x, joined once (per run, a long file's joins were quadratic)
        for k in (length >= self.run_n).nonzero()[0].tolist():
            a, b = int(bounds[k]), int(bounds[k + 1])
            before = length[k] - (b - a)  # of the run, in earlier chunks
            if not floor:
                at = a + self.run_n - before - 1  # where the run has lasted run_n samples
                if at >= a and z is None:
                    z = np.concatenate((past, x))
                floor = at >= a and self._under(z, len(past) + at + 1 - self.run_n)
            if floor and b < x.size:
                out.append(b)  # the return: settled on its first sample
                floor = False
        self.value, self.count, self.floor = float(x[-1]), int(length[-1]), floor
        return self._with_jumps(x, past, out)

    def _with_jumps(self, x: np.ndarray, past: np.ndarray, floors: list[int]) -> list[int]:
        """The drop-outs' restarts `floors` and every sample of a move (see the module's
        docstring): the waveform moved over MOVE_S more than JUMP_X times its range over the
        FLOOR_LOOK_S before (read from JUMP_MIN_S into the stream on), and a move goes on
        while it moves that much of that same range; a step off the flat rail a move led
        onto starts one with the range before the rail."""
        if not floors and self._quiet(x, past):
            self.n += len(x)
            self.jumps = set()
            return []
        z = np.concatenate((past, x))
        off, k, base = len(past), self.move_n, self.n - len(past)  # (z[0]'s stream index)
        self.n += len(x)
        j = np.arange(off, len(z))
        origin = (self.look - 1) // 2  # windows that end at their sample
        rng = (ndimage.maximum_filter1d(z, self.look, origin=origin, mode="nearest")
               - ndimage.minimum_filter1d(z, self.look, origin=origin, mode="nearest"))
        if off > k:  # (slices: the general form's indexing cost batch input 40 % of this)
            moved, before = np.abs(x - z[off - k:-k]), rng[off - k - 1:-k - 1]
        else:  # a stream's first samples
            moved = np.abs(z[j] - z[np.maximum(j - k, 0)])
            before = np.where(j - k - 1 >= 0, rng[np.maximum(j - k - 1, 0)], np.inf)
        # (not read on a drop-out: its floor is no pulse's range, the return no move)
        fl = np.concatenate(([self.floor_at], base + off + np.asarray(floors, int)))
        starts = (moved > JUMP_X * before) & (before > 0)
        first = self.min_n + k + 1 - base - off  # (into x) JUMP_MIN_S into the stream
        if floors:
            after = base + j - fl[np.searchsorted(fl, base + j, "right") - 1]
            starts &= after > k + self.look
        else:  # (the last return's range window, as a bound: searchsorted was 15 %)
            first = max(first, self.floor_at + k + self.look + 1 - base - off)
        starts[:max(first, 0)] = False
        self.floor_at = int(fl[-1])
        moving = np.zeros(len(j), bool)
        i = 0
        while i < len(j):
            if self.r0 is not None:  # a move goes on while it moves that much
                on = moved[i:] > JUMP_X * self.r0
                n = len(on) if on.all() else int(np.argmin(on))
                moving[i:i + n] = True
                i += n
                if i < len(j):
                    self.rail = (self.r0, base + j[i] - 1)  # it may have led onto a rail
                    self.r0 = None
                continue
            nxt = np.flatnonzero(starts[i:])
            s_ = i + int(nxt[0]) if nxt.size else len(j)
            if self.rail is not None:  # the first change after the move: off a rail?
                ch = np.flatnonzero(z[j[i:s_]] != z[j[i:s_] - 1])
                if ch.size:
                    c = i + int(ch[0])
                    if base + j[c] - 1 - self.rail[1] >= self.run_n:
                        self.r0, i = self.rail[0], c
                        self.rail = None
                        continue
                    self.rail = None
            if s_ >= len(j):
                break
            self.r0, i, self.rail = float(before[s_]), s_, None
        stop = min(np.flatnonzero(moving).tolist()[:1] + floors[:1], default=len(j))
        moving[self._start(z, j[:stop], base, rng)] = True
        self.starting &= stop == len(j)  # (a move or a drop-out came first: it was that)
        self.jumps = set(np.flatnonzero(moving).tolist())
        return sorted(self.jumps | set(floors))

    def _quiet(self, x: np.ndarray, past: np.ndarray) -> bool:
        """No move starts or goes on in x, and no start is looked for: a stream's usual
        chunk, told in a few operations (the rule itself cost a 1-s chunk ~40 us). Every
        sample's range before holds the samples all of x's range windows share, so where
        none moved more than JUMP_X times their range, none moved JUMP_X times its own."""
        k, n = self.move_n, len(x)
        if (self.r0 is not None or self.rail is not None or n > self.look
                or len(past) < self.look + k + 1 - n or (self.starting and self.n < self.start_n)):
            return False
        shared = past[n - self.look - k - 1:-k]
        w = np.concatenate((past[-k:], x))
        return float(np.abs(w[k:] - w[:n]).max()) <= JUMP_X * (shared.max() - shared.min())

    def _start(self, z: np.ndarray, j: np.ndarray, base: int, rng: np.ndarray) -> list[int]:
        """[the sample (index into j)] where the stream's start has settled, once, within
        its START_S and before any move or drop-out: the waveform over JUMP_X times its
        range over the FLOOR_LOOK_S before away from where the stream started (the median of
        its first JUMP_MIN_S: a board's DC rising from the ambient floor as its LED comes
        on, a move the rule above can't see, with no range before it); else []."""
        m = j[base + j < self.start_n]
        if not (self.starting and m.size):
            return []
        self.head = np.concatenate((self.head, z[m[:max(self.min_n - len(self.head), 0)]]))
        at = np.flatnonzero((base + m >= max(self.look, self.min_n)) & (rng[m] > 0)
                            & (np.abs(z[m] - np.median(self.head)) > JUMP_X * rng[m]))
        if not at.size:
            return []
        self.starting = False
        return [int(at[0])]

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
    step = np.abs(np.diff(x))
    step = step[step > 0]
    if step.size and float(np.ptp(x)) < RAIL_STEPS * float(step.min()):
        return 0.0, 0.0  # a pulse a few ADC steps tall: its quantised top is no rail
    out = []
    # (a flat line's top is its bottom: counted once, at the top; it read 200 %)
    for v in ((x.max(), x.min()) if x.size and x.max() > x.min() else x[:1]):
        at = np.concatenate(([0], (x == v).astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(at))
        runs = edges[1::2] - edges[::2]
        out.append(100.0 * float(runs[runs >= run_n].sum()) / x.size)
    out += [0.0] * (2 - len(out))
    return out[0], out[1]
