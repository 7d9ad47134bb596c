"""Which candidates are beats: the height gate, the rhythm and the first beats' judging.

The energy blocks (heart_stream) offer candidates; this decides which of them count. A
dicrotic or T wave is too small (ECG: past its T-wave window a premature complex needs
less), of two close candidates the taller stays, a PPG pulse where the rhythm puts the next
beat needs less height, a stream's first beats are judged together, and a gap in a steady
rhythm is searched again for beats the blocks missed (search-back; look-back for the first;
ECG: a premature complex hidden before a pause).
A mixin of `BeatStream`: it reads and updates the stream's state (see heart_stream).
"""

from __future__ import annotations

import numpy as np

from empathy.edge.heart_beats import _max, _median, _min
from empathy.edge.heart_method import (EARLY_GAP, FIRST_JUDGED, FLOOR_GAP, LOOK_BACK_GAP,
                                       FIRST_QUIET_S, LOOK_BACK_LIKE, MIN_HEIGHT,
                                       NOISE_FRAC, PAUSE_GAP,
                                       PREMATURE_FRAC, PREMATURE_SLOPE, QUIET_AROUND_S,
                                       LONE_GAP, QUIET_FRAC, RHYTHM_GAP, RUN_GAP, SEARCH_GAP,
                                       SEARCH_SLACK, STEEP_OUTLIER, STEP_FRAC,
                                       STEP_LEVEL, STEP_LEVEL_S, STEP_SPREAD, T_SLOPE,
                                       pulse_in_rhythm)
from empathy.edge.ppg_search import PulseSearch


class BeatGates(PulseSearch):
    """Candidate -> beat decisions of `BeatStream` (see the module's docstring)."""

    def _tall_enough(self, p: int, height: float) -> bool:
        """A dicrotic wave or T wave is a fraction of a real beat's height. After a long
        silence (the pulse got weaker) any block counts again, so the gate can't lock out.
        ECG: a candidate later than `late_s` after the last beat is past its T wave, and a
        small premature complex there needs only `late_height`."""
        if p - self._heard() > self.silence or len(self.heights) < 3:
            return True  # (the reference starts over: see _block)
        least = MIN_HEIGHT if p - self.last_peak < self.late else self.m.late_height
        return height >= least * self.heights.median()

    def _doubt(self, p: int, h0: int) -> None:
        """ECG in noise: a beat p sooner than EARLY_GAP recent intervals after a beat that
        came in the rhythm, where over the NOISE_S before it the band-passed signal stood
        over the height gate (MIN_HEIGHT of the recent heights) at least NOISE_FRAC of the
        time (the median beat of a clean tuning record: 0.03-0.17; electrode motion in
        NSTDB 118e06: up to 0.36; MIT-BIH 104 and 203 reach 0.2 but no beat there is early
        after one in the rhythm with a candidate in the rhythm's place after it), is held
        until a candidate where the rhythm puts the beat could replace it (_rhythm_wins): a
        noise wave that splits a regular interval."""
        if not self.m.noise_rhythm or len(self.rr) < 4 or len(self.heights) < 3 or self.dropped is None:
            return
        med = self.rr.median()
        if (p - self.last_peak >= EARLY_GAP * med
                or not RHYTHM_GAP[0] * med <= self.rr[-1] <= RHYTHM_GAP[1] * med):
            return
        w = self.y[max(p - self.noise_win, h0) - h0:p - self.pre_qrs - h0]
        if len(w) and np.count_nonzero(w >= MIN_HEIGHT * self.heights.median()) >= NOISE_FRAC * len(w):
            hold = self.last_peak + int(RHYTHM_GAP[1] * med) + self.max_block + self.wait
            self.doubtful[p] = (self.last_peak, hold)

    def _step(self, p: int, h0: int) -> bool:
        """ECG: candidate p stands on a step, not a QRS: in the raw waveform over STEP_S
        before it (and the filter's delay) one sample holds STEP_FRAC of the range, and
        the signal does not jump back within STEP_RETURN_S (a pacing spike does: in one
        sample, or at 130 Hz in the two after the jump, MIT-BIH 104's -0.47 and -0.46 of
        it; a pop decays over tenths of a second), nor do
        the samples either side move with it by STEP_SPREAD of it. A QRS rises over several
        samples (MIT-BIH 104's paced beats, 360 Hz: 0.46 in one); an electrode popping or a
        swing that starts at once does not (the stress case 'electrode motion': 12 of its 13
        extra beats, 0.57-1.0, their neighbours moving under 0.02 of the jump with it). At
        250 Hz an R wave's drop to S may hold over 0.55 in one sample, its neighbours moving
        0.22-0.59 of it with it (QTDB sel232's APC at 94.49 s, 15 QRS of sel310)."""
        if not self.m.refuse_steps:
            return False
        lo = max(p - self.delay - self.step_win, h0)
        w = self.x[lo - h0:p - h0 + 1]
        if len(w) < 3:
            return False
        rng, d = float(_max(w) - _min(w)), w[1:] - w[:-1]  # (= np.diff, less overhead)
        k = int(np.abs(d).argmax())
        if not rng > 0 or abs(float(d[k])) < STEP_FRAC * rng:
            return False
        r = d[max(k - self.step_back, 0):k + self.step_back + 1] * np.sign(d[k])
        back = -0.5 * abs(float(d[k]))
        if np.any(r <= back) or float(d[k + 1:k + 3].sum() * np.sign(d[k])) <= back:
            return False
        spread = float(d[max(k - 1, 0):k + 2].sum() * np.sign(d[k])) - abs(float(d[k]))
        if spread >= STEP_SPREAD * abs(float(d[k])):
            return False
        self.jump = (lo + k, float(d[k]))  # (_level_returns)
        return True

    def _level_returns(self, h0: int) -> bool:
        """ECG: about the jump of the last candidate _step refused, the raw level STEP_LEVEL_S
        after it is back within STEP_LEVEL of the jump from where it was STEP_LEVEL_S before:
        an R wave that drops to S in one sample, whose ST segment sits where its PR did
        (the tuning records' QRS refused so: 0.05-0.11), not an electrode pop whose level
        decays over tenths of a second (tests/redteam/test_heart15.py's pops: 0.29-1.19;
        NSTDB 118e00's noise step: 1.27). False where those samples are not in history."""
        j, d = self.step_jump
        k = round(STEP_LEVEL_S * self.fs)
        if j - k < h0 or j + 1 + k >= (self.end if self.end >= 0 else self.n):
            return False
        return abs(float(self.x[j + 1 + k - h0] - self.x[j - k - h0])) < STEP_LEVEL * abs(d)

    def _gentle(self, p: int, h0: int, end: int) -> bool:
        """ECG: candidate p's raw waveform is under `min_slope` as steep as the last beat's
        (_steepness, Pan-Tompkins' slope test): a slow wave, no QRS. In the compensatory
        pause after a PVC of MIT-BIH 106's V1 a rounded wave stood over the height gate
        (150.22 and 155.32 s: 0.23 and 0.22 of the PVC's slope); the least steep beats kept
        on the tuning records read 0.29 (MIT-BIH 123's interpolated PVCs), 106's small N
        beats after its PVCs 0.31. Not where the last beat is over STEEP_OUTLIER times as
        steep as the recent beats' median (a spike taken for a beat: the next true beats
        would go; 106's PVCs stand at most 2.0 of it), nor with under 4 recent beats, after
        a silence (the references start over), or where the last beat has left history.
        Inside the T-wave window (`late_s`) it needs T_SLOPE, as Pan-Tompkins asks: a T wave
        as tall as the QRS rises at 0.3-0.4 of its slope (tests/test_heart_ecg_twave.py)."""
        if (not self.m.min_slope or len(self.steeps) < 4 or p - self._heard() > self.silence
                or self.last_peak - self.delay - self.back < h0):
            return False
        last = self._steepness(self.last_peak, h0)
        least = T_SLOPE if self.m.late_s and p - self.last_peak < self.late else self.m.min_slope
        return (last <= STEEP_OUTLIER * self.steeps.median()
                and self._steepness(p, h0, end) < least * last)

    def _rhythm_wins(self, p: int, h: float) -> bool:
        """A candidate p that passed the height gate after a doubtful beat (_doubt) replaces
        it where p, not it, lies where the rhythm puts the beat after the one before
        (RHYTHM_GAP) and the two can't both be beats (p under EARLY_GAP after it). True: p
        took its place."""
        last = self.last_peak
        if last not in self.doubtful or not self.pending or self.pending[-1][0] != last:
            return False
        prev, hold = self.doubtful.pop(last)
        med = self.rr.median()
        if not (p < hold and RHYTHM_GAP[0] * med <= p - prev <= RHYTHM_GAP[1] * med
                and p - last < EARLY_GAP * med):
            return False
        self.pending[-1] = (p, h)
        self.last_peak = p
        self.rr[-1] += p - last
        self.heights[-1] = h
        return True

    def _heard(self) -> int:
        """Where the silence before a candidate counts from (after it the height gate starts
        over): the last beat, or the last before a run of beats that only _in_rhythm let in."""
        return self.last_peak if self.weak_since is None else self.weak_since

    def _in_rhythm(self, p: int, height: float) -> bool:
        """PPG: a pulse under the height gate where the rhythm puts the next beat (one or
        two recent intervals after the last: pulse_in_rhythm) is a beat if it reaches
        `rhythm_height` of the recent heights (weakened after motion while the heights are
        still motion's, or by breathing; a dicrotic or diastolic wave comes sooner). Such
        beats don't put off the gate's start-over (_heard): if the rhythm was motion's too,
        every other pulse would fit it."""
        if not self.m.rhythm_height or len(self.rr) < 4:
            return False
        med, gap = self.rr.median(), p - self.last_peak
        # after an early beat (premature, or a wave of a swinging baseline taken for one)
        # the next pulse comes two intervals after the beat before it, as after a
        # compensatory pause: out of the rhythm counted from the early beat
        early = self.last_peak - self.before_last < EARLY_GAP * med
        return (height >= self.m.rhythm_height * self.heights.median()
                and (pulse_in_rhythm(gap, med) or early and RHYTHM_GAP[0] * 2 * med
                     <= p - self.before_last <= RHYTHM_GAP[1] * 2 * med))

    def _note_interval(self, gap: int) -> None:
        """The rhythm reference for _search_back: recent peak-to-peak gaps, except those
        that span a dropout (they say nothing about the rhythm)."""
        if gap > self.silence:  # the first beat, or after a long dropout: start over
            self.rr.clear()
        elif not self.rr or gap <= SEARCH_GAP[1] * self.rr.median():
            self.rr.append(gap)

    def _search_back(self, p: int, block_end: int, h0: int) -> None:
        """A gap of 1.66-4.5 beats in a steady rhythm means beats the energy blocks or the
        height gate missed (a small pulse on a falling baseline, pulses weakened while the
        hand moves and the heights are still motion's): look again between the two beats,
        as Pan-Tompkins does, one beat at a time where the rhythm puts it, for a filtered
        peak of at least `search_height` of recent ones."""
        if len(self.rr) < 4 or not self.heights or (
                self.dropped is None and not self._refused_qrs(p, h0)):
            return  # no steady rhythm to go by yet (a stream's first beats are unsure, but
            # a QRS the step gate refused is searched for among them as after them); once
            # there is, one height scales the bar: the height reference's start-over (weak
            # pulses, see _block) keeps the rhythm, and its gaps are where pulses were lost
        gap, med = p - self.last_peak, self.rr.median()
        floor = max(block_end - self.hist + self.reach, h0)  # (see BeatStream._setup: reach)
        if self.m.halved_pulse and self._halved_pulse(p, floor, h0):
            return
        if self.m.premature_height and PAUSE_GAP * med <= gap <= SEARCH_GAP[1] * med:
            self._premature_back(p, floor, h0, gap)
            gap, med = p - self.last_peak, self.rr.median()  # (it may have found one)
        if not FLOOR_GAP * med < gap <= SEARCH_GAP[1] * med or (
                gap <= SEARCH_GAP[0] * med and not self._across_floor(p, floor, h0)):
            if self.m.run_pulse and LONE_GAP * med <= gap <= SEARCH_GAP[0] * med and not (
                    gap >= RUN_GAP * med and self._run_pulse(p, med, floor, h0)):
                self._lone_pulse(p, floor, h0)
            return  # (the floor is looked at only where it decides: it costs a scan)
        slack, least = SEARCH_SLACK * med, self.m.search_height * self.heights.median()
        prev = self.last_peak
        soon = self._from_return(floor, h0)
        while True:
            lo = max(int(prev + med - slack), self.last_peak + self.refr, floor)
            if soon:  # the first pulse after a return may come sooner than the rhythm says
                lo, soon = max(self.last_peak + self.refr, floor), False
            hi = min(int(prev + med + slack), int(p - med + slack), p - self.refr)
            if hi - lo < 3:
                return
            w = self.y[lo - h0:hi - h0]
            k = int(w.argmax())
            q, hq = lo + k, float(w[k])
            tall = hq >= least or self._even_split(q, prev, p, med, least, h0)
            if not (0 < k < len(w) - 1 and tall and self._steep_enough(q, floor, h0)):
                q = self._raw_back(lo, hi, floor, h0)
                if q < 0 and prev == self.last_peak:
                    q = self._premature_pulse(p, med, least, floor, h0)
                if q < 0:
                    prev = int(prev + med)  # none here: the next one is a beat further on
                    continue
                hq = least
            self._found_back(q, hq, wide=True)
            prev = q

    def _refused_qrs(self, p: int, h0: int) -> bool:
        """ECG: between the last beat and p the step gate refused a candidate whose level
        returns (_level_returns): a QRS, which search-back finds once the next beat comes.
        At a stream's edges none may come in time (its first beats are not judged yet, or
        the recording ends), so that gap is searched there too (and from finish())."""
        return self.last_peak < self.stepped < p and self._level_returns(h0)

    def _steep_enough(self, q: int, floor: int, h0: int) -> bool:
        """ECG: a search-back beat is `search_slope` as steep as the last beat (Pan-Tompkins'
        slope test, as _premature_back's): in the pause after a PVC (bigeminy) or in noise
        the search found its T wave or a noise wave (6 of V1 of MIT-BIH 106's extra beats)."""
        if not self.m.search_slope or self.last_peak < floor:
            return True  # (the last beat's steepness: in history only)
        return self._steepness(q, h0) >= self.m.search_slope * self._steepness(self.last_peak, h0)

    def _premature_back(self, p: int, floor: int, h0: int, gap: int) -> None:
        """ECG: a wide premature complex of modest 5-20 Hz energy soon after a QRS may open
        no block (the beat-wide average still holds that QRS), and the pause after it is
        too short for _search_back in an irregular rhythm. A gap (the last beat to p) of
        PAUSE_GAP-4.5 recent intervals (see _search_back) holds such a beat if its tallest
        filtered peak past the T-wave window lies in its first PREMATURE_FRAC (premature,
        then a compensatory pause), reaches `premature_height` of the recent heights in an
        otherwise quiet gap (_quiet_around) and its raw waveform is at least
        PREMATURE_SLOPE as steep as the last beat's (a T wave is smooth: Pan-Tompkins'
        slope test)."""
        # its tallest local maximum (one right at the window's start too), in the history
        # _search_back may read (`floor`)
        lo = max(self.last_peak + self.late, floor + 1) - 1
        hi = min(self.last_peak + int(PREMATURE_FRAC * gap), p - self.refr)
        if hi - lo < 3 or self.last_peak < floor:  # (the last beat's steepness: in history)
            return
        w = self.y[lo - h0:hi - h0]
        tops = np.flatnonzero((w[1:-1] > w[:-2]) & (w[1:-1] >= w[2:])) + 1
        if not tops.size:
            return
        k = int(tops[w[tops].argmax()])
        q, least = lo + k, self.m.premature_height * self.heights.median()
        if (w[k] >= least and self._quiet_around(q, p, least, h0) and self._steepness(q, h0)
                >= PREMATURE_SLOPE * self._steepness(self.last_peak, h0)):
            self._found_back(q, float(w[k]), wide=False)

    def _quiet_around(self, q: int, p: int, least: float, h0: int) -> bool:
        """Between the last beat's QRS and the next candidate's, the band-passed signal
        stands over `least` for at most QUIET_FRAC[0] of the time, and apart from q's
        complex (QUIET_AROUND_S about its peak) for at most QUIET_FRAC[1]: noise or motion,
        whose peaks are no beats, keeps crossing it."""
        g = self.y[self.last_peak + self.refr - h0:p - self.refr - h0] >= least
        if np.count_nonzero(g) > QUIET_FRAC[0] * len(g):
            return False
        a = q - self.last_peak - self.refr
        g[max(a - round(QUIET_AROUND_S[0] * self.fs), 0):
          a + round(QUIET_AROUND_S[1] * self.fs)] = False
        return np.count_nonzero(g) <= QUIET_FRAC[1] * len(g)

    def _steepness(self, q: int, h0: int, end: int = 1 << 62) -> float:
        """The raw waveform's steepest change over STEEP_S where _refine looks for beat q's
        peak (over a QRS's upstroke, not a sample: white noise's steps are steep too), up
        to `end` at most."""
        a = max(q - self.delay - self.back, h0)
        b = min(q + self.refine, end, h0 + len(self.x))
        got = self.steep_memo.get((a, b))  # (a beat's is asked for up to three times: the
        if got is not None:  # samples a..b never change, so neither does it)
            return got
        d = self.steep_d
        w = self.x[a - h0:b - h0]
        got = float(_max(np.abs(w[d:] - w[:-d]))) if len(w) > d else 0.0
        if len(self.steep_memo) >= 8:
            self.steep_memo.clear()
        self.steep_memo[(a, b)] = got
        return got

    def _found_back(self, q: int, hq: float, wide: bool) -> None:
        """A beat found between the last one and the block's candidate: it is the last now
        (`wide`: its raw peak is looked for further on, see _shape)."""
        self._note_interval(q - self.last_peak)
        self.before_last, self.last_peak = self.last_peak, q
        self.pending.append((q, hq))
        if wide:
            self.found.add(q)
            self.found_back.append(q)
        self.searched += 1

    def _look_back(self, p: int, block_end: int, h0: int) -> None:
        """The stream's first beat may come before the energy averages are full (its block
        starts in their warm-up and is dropped as the start transient): at the first beat
        found, the tallest filtered peak between the start and that beat becomes a
        candidate too. It is one of the first beats, judged with them once their heights
        and rhythm are known (_judge_first: tall enough, and not much sooner before the next
        beat than the rhythm puts it), so nothing is emitted later than it would be."""
        lo = max(block_end - self.hist + self.reach, h0, self.refine)
        hi = p - self.refr
        if hi - lo < 3:
            return
        w = self.y[lo - h0:hi - h0]
        k = int(w.argmax())
        if 0 < k < len(w) - 1:
            q = lo + k
            self.last_peak = q
            self.heights.append(float(w[k]))
            self._note_steep(q, h0)
            self.pending.append((q, float(w[k])))
            self.first.append((q, float(w[k])))
            self.looked = q
            if self.m.first_like and self._quiet_start(lo, q, p, h0) and not self._step(q, h0):
                self.first_steep[q] = self._steepness(q, h0)

    def _quiet_start(self, lo: int, q: int, p: int, h0: int) -> bool:
        """From lo to the first beat p's QRS, apart from q's complex (QUIET_AROUND_S about
        it), at least FIRST_QUIET_S, the band-passed signal stands over MIN_HEIGHT of q's
        height for at most QUIET_FRAC[1] of the time: q is a QRS, not noise at a seat's
        start (electrodes settling, muscle: a stretch too short to tell is not quiet)."""
        g = self.y[lo - h0:p - self.pre_qrs - h0] >= MIN_HEIGHT * self.y[q - h0]
        c = slice(max(q - lo - round(QUIET_AROUND_S[0] * self.fs), 0),
                  q - lo + round(QUIET_AROUND_S[1] * self.fs))
        rest = len(g) - len(range(len(g))[c])
        g[c] = False
        return rest >= FIRST_QUIET_S * self.fs and np.count_nonzero(g) <= QUIET_FRAC[1] * len(g)

    def _taller_wins(self, p: int, h: float) -> None:
        """Two candidates within the refractory time: a small wave (a notch, a premature
        twitch) just before a pulse must not shut the pulse out, so the taller one stays.
        The earlier one is still pending: _settled holds a beat until this can't happen."""
        if not self.pending or self.pending[-1][0] != self.last_peak or h <= self.pending[-1][1]:
            return
        old = self.pending[-1][0]
        self.pending[-1] = (p, h)
        self.last_peak = p
        if self.rr:
            self.rr[-1] += p - old
        if self.heights:
            self.heights[-1] = h
        if self.first and self.first[-1][0] == old:
            self.first[-1] = (p, h)
            if self.dropped is not None and old in self.dropped:  # judged already
                self.dropped.discard(old)
                if h < self.first_floor:
                    self.dropped.add(p)

    def _judge_first(self, final: bool) -> None:
        """A stream's first beats are judged by height once FIRST_JUDGED are known (a
        stray wave before the first full pulse); until then what is found is held back."""
        if self.dropped is not None or (len(self.first) < FIRST_JUDGED and not final):
            return
        med = _median([h for _, h in self.first]) if self.first else 0.0
        self.first_floor = MIN_HEIGHT * med
        self.dropped = {p for p, h in self.first if h < self.first_floor}
        if self.dropped:  # the rhythm forgets them too: a slow heart's diastolic wave
            # taken while the gate had no heights read as a halved rhythm, and the rules that
            # look for small pulses where the rhythm puts a beat then took every such wave
            kept = [p for p, _ in self.first if p not in self.dropped]
            self.rr.clear()
            for a, b in zip(kept, kept[1:]):
                self._note_interval(b - a)
        peaks = [p for p, _ in self.first]
        if self.looked in peaks[:1] and len(peaks) >= 3:  # the look-back's must keep the rhythm
            gaps = [b - a for a, b in zip(peaks[1:], peaks[2:])]
            if peaks[1] - peaks[0] < LOOK_BACK_GAP * _median(gaps) and not self._first_like(med):
                self.dropped.add(peaks[0])
        self.first_steep.clear()

    def _first_like(self, med_height: float) -> bool:
        """ECG: the look-back's beat is a QRS like the first beats (LOOK_BACK_LIKE of their
        median band-passed height and raw steepness), so it may come sooner before the next
        than the rhythm does: the next is premature."""
        q = self.first[0]
        steep = [self.first_steep[p] for p, _ in self.first[1:] if p in self.first_steep]
        return (self.m.first_like and q[0] in self.first_steep and len(steep) >= 2
                and q[1] >= LOOK_BACK_LIKE[0] * med_height
                and self.first_steep[q[0]] >= LOOK_BACK_LIKE[1] * _median(steep))
