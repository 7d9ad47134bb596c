"""PPG search-back: where the band-passed pulse hides from _search_back's usual test.

A weak pulse on a falling baseline that splits a gap evenly, a premature beat's small
early pulse before a pause, a pulse of a run of premature beats (a gap too short for the
usual search; where they come every few beats, the one wave of such a gap), every other
pulse where they alternate full and small, and pulses across a drop-out to the floor (the
filter's answer to the return hides them). A mixin of `BeatGates` (heart_gates), reading
the stream's state."""

from __future__ import annotations

import numpy as np

from empathy.edge.heart_method import (ALT_GAP_S, ALT_HEIGHTS, ALT_POS, ALT_RISE, EARLY_GAP,
                                       LONE_POS, LONE_RISE, MIN_HEIGHT,
                                       RISE_REGULAR, RUN_RISE, RUN_STEADY)


class PulseSearch:
    """PPG's search-back helpers of `BeatStream` (see the module's docstring)."""

    def _even_split(self, q: int, prev: int, p: int, med: float, least: float,
                    h0: int) -> bool:
        """PPG: a weak pulse on a falling baseline (the band-pass's 0.5 Hz edge) peaks under
        zero, under `least`. Where it splits the gap evenly, one recent interval after the
        beat before and one before p (each within RISE_REGULAR of it, as _regular's even
        intervals), its band-passed rise from the trough in the shape window before it
        must reach twice `least`: motion's waves land anywhere in the search's slack. (`med`:
        the search's interval; a beat it found may have started the rhythm over.)"""
        if not (self.m.even_back and abs(q - prev - med) <= RISE_REGULAR * med
                and abs(p - q - med) <= RISE_REGULAR * med):
            return False
        trough = float(self.y[max(q - self.pre, h0) - h0:q - h0].min())
        return float(self.y[q - h0]) - trough >= 2 * least

    def _premature_pulse(self, p: int, med: float, least: float, floor: int, h0: int) -> int:
        """PPG: a premature beat's pulse is small and comes early, on the last pulse's
        downslope (a short filling, and its pulse travels slower), where the band-pass may
        put its peak under zero; a compensatory pause follows. In a steady rhythm (the last
        4 intervals within RISE_REGULAR of their median) whose gap to p is two intervals,
        the tallest band-passed peak from EARLY_GAP intervals after the last beat to one
        interval is that pulse if it is small (under MIN_HEIGHT of the last beat's height:
        a short filling's; under motion a wave there stood taller) and rises from the
        trough before it (the shape window) by twice `least`, as _even_split's. Its
        filtered index, or -1."""
        last = self.last_peak
        if not (self.m.early_pulse and abs(p - last - 2 * med) <= RISE_REGULAR * 2 * med
                and all(abs(r - med) <= RISE_REGULAR * med for r in list(self.rr)[-4:])):
            return -1
        lo = max(int(last + EARLY_GAP * med), last + self.refr, floor)
        w = self.y[lo - h0:min(int(last + med), p - self.refr) - h0]
        k = int(w.argmax()) if len(w) else 0
        if not 0 < k < len(w) - 1:
            return -1
        trough = float(self.y[max(lo + k - self.pre, h0) - h0:lo + k - h0].min())
        small = float(w[k]) < MIN_HEIGHT * self.heights[-1]
        return lo + k if small and float(w[k]) - trough >= 2 * least else -1

    def _run_pulse(self, p: int, med: float, floor: int, h0: int) -> bool:
        """PPG: in a run of premature beats (a short interval, then another, no pause) a
        pulse comes soon after the last, its filling short: smaller, and its energy block
        may not open while the beat-wide average still holds the last pulse; the gap it
        leaves (RUN_GAP to SEARCH_GAP's first recent intervals) is too short for
        _search_back. In a steady rhythm (the last 4 intervals within RUN_STEADY of their
        median; under motion the beats come at motion's) the tallest band-passed peak
        EARLY_GAP intervals or more from both beats is that pulse if it rises from the
        trough before it (the shape window) by twice the search's bar (as _even_split's),
        under RUN_RISE of the recent heights (a short filling's pulse is no taller than the
        usual) and stands no deeper under zero than that bar's twice (a wave on motion's
        downswing did). Like _in_rhythm's weak beats it does not put off the height gate's
        start-over (after motion the heights are motion's). True: it was found."""
        last = self.last_peak
        if not all(abs(r - med) <= RUN_STEADY * med for r in list(self.rr)[-4:]):
            return False
        lo = max(int(last + EARLY_GAP * med), last + self.refr, floor)
        w = self.y[lo - h0:min(int(p - EARLY_GAP * med), p - self.refr) - h0]
        k = int(w.argmax()) if len(w) else 0
        if not 0 < k < len(w) - 1:
            return False
        bar = 2 * self.m.search_height * self.heights.median()
        rise = float(w[k]) - float(self.y[max(lo + k - self.pre, h0) - h0:lo + k - h0].min())
        if not (bar <= rise < RUN_RISE * self.heights.median() and float(w[k]) >= -bar):
            return False
        self._weak_back(lo + k, bar / 2)
        return True

    def _lone_pulse(self, p: int, floor: int, h0: int) -> None:
        """PPG: where premature beats come every few beats (bidmc-53) the rhythm before a
        run's gap holds the last run's pauses and short intervals, never steady for
        _run_pulse, whose window may also end before the pulse. A gap (LONE_GAP to
        SEARCH_GAP's first recent intervals) whose band-passed signal holds one wave only
        (one interior peak between the two beats; motion and a dicrotic wave beside the
        pulse make more) holds a pulse there if the wave lies in LONE_POS of the gap, rises
        from the trough before it (the shape window) by LONE_RISE of the recent heights (a
        full upstroke; no taller than the usual, the filling short) and peaks under their
        median (one as tall would have opened its block). As _run_pulse's, it does not
        put off the height gate's start-over."""
        last = self.last_peak
        g = self.y[max(last, floor) - h0:p - h0]
        tops = np.flatnonzero((g[1:-1] > g[:-2]) & (g[1:-1] >= g[2:])) + 1
        if last < floor or len(tops) != 1:
            return
        q, hm = last + int(tops[0]), self.heights.median()
        rise = float(self.y[q - h0]) - float(self.y[max(q - self.pre, floor) - h0:q - h0].min())
        if (LONE_POS[0] * len(g) < q - last < LONE_POS[1] * len(g) and q - last > self.refr
                and p - q > self.refr and LONE_RISE[0] * hm <= rise < LONE_RISE[1] * hm
                and float(self.y[q - h0]) < hm):
            self._weak_back(q, rise)

    def _weak_back(self, q: int, hq: float) -> None:
        """A pulse found back in a run's gap: like _in_rhythm's weak beats, it does not put
        off the height gate's start-over."""
        if self.weak_since is None:
            self.weak_since = self.last_peak
        self._found_back(q, hq, wide=True)

    def _halved_pulse(self, p: int, floor: int, h0: int) -> bool:
        """PPG: where every other pulse is small (bigeminy with weak pulses; bidmc-41) its
        block does not open (the beat-wide average still holds the full pulse before it), so
        the beats placed come at half the rate and no gap looks like a missed beat. A gap of
        ALT_GAP_S or more (a slow rhythm: a dicrotic wave lies nearer a beat at usual rates)
        that is one recent interval in a steady pulse train (_halved_steady; their heights
        within ALT_HEIGHTS: motion's waves, 1.3-1.5 s apart in test_heart's simulated
        motion, vary), or two where the beat before the last was a search's (the rhythm
        found halved), holds the small pulse if its tallest
        band-passed peak in ALT_POS of the gap is an interior one that rises from the trough
        before it (the shape window) by ALT_RISE of the recent heights (a pulse no taller
        than the usual). True: it was found."""
        last = self.last_peak
        gap, med, two = p - last, self.rr.median(), self.rr[-1] + self.rr[-2]
        hm = self.heights.median()
        if not (gap >= ALT_GAP_S * self.fs and last - self.pre >= floor and (
                self._halved_steady(gap, med)
                and all(abs(h - hm) <= ALT_HEIGHTS * hm for h in list(self.heights)[-4:])
                or abs(gap - two) <= RISE_REGULAR * two and self.before_last in self.found_back)):
            return False
        lo = last + int(ALT_POS[0] * gap)
        w = self.y[lo - h0:last + int(ALT_POS[1] * gap) - h0]
        k = int(w.argmax()) if len(w) else 0
        if not 0 < k < len(w) - 1:
            return False
        rise = float(w[k]) - float(self.y[lo + k - self.pre - h0:lo + k - h0].min())
        if not ALT_RISE[0] <= rise / hm < ALT_RISE[1]:
            return False
        self._found_back(lo + k, rise, wide=True)
        return True

    def _halved_steady(self, gap: int, med: float) -> bool:
        """The last 4 intervals, and the gap, within RISE_REGULAR of their median; or, where
        the chain of found small pulses broke (one gap's was missed), the last 4 within
        RISE_REGULAR of the gap with each full interval split by a pulse found in it
        counted as one: else the split keeps the rhythm unsteady for 4 gaps more."""
        rr = list(self.rr)
        if abs(gap - med) <= RISE_REGULAR * med and all(
                abs(r - med) <= RISE_REGULAR * med for r in rr[-4:]):
            return True
        i, n, split, tol = len(rr) - 1, 0, False, RISE_REGULAR * gap
        while n < 4 and i >= 0:
            one = abs(rr[i] - gap) <= tol
            if not one and (i < 1 or abs(rr[i] + rr[i - 1] - gap) > tol):
                return False
            i, n, split = i - (1 if one else 2), n + 1, split or not one
        return n == 4 and split

    def _across_floor(self, p: int, floor: int, h0: int) -> bool:
        """PPG: the gap to p crosses a drop-out to the floor, so _search_back searches it
        from FLOOR_GAP intervals on, not SEARCH_GAP's (the return's band-passed step makes
        a beat of its own where the pulses were lost, and hides the pulse after it)."""
        return self.m.raw_search and self._floor_run(
            max(self.last_peak - self.after_floor, floor - self.reach, h0), p, h0)

    def _from_return(self, floor: int, h0: int) -> bool:
        """PPG: the last beat is the return from a drop-out to the floor (it sat at the floor
        just before: the filter's answer to the step), so it says nothing of where the next
        pulse lies, and that pulse's block may not open (the beat-wide average still holds
        the step). (Only where history holds what _back_from_floor reads.)"""
        back = self.delay + self.refine + self.pre
        return (self.m.raw_search and self.last_peak - back >= floor - self.reach
                and self._back_from_floor(self.last_peak, h0))

    def _raw_back(self, lo: int, hi: int, floor: int, h0: int) -> int:
        """PPG: within RAW_AFTER_FLOOR_S of a drop-out to the floor, the band-passed
        signal is the filter's answer to the return (a step of many pulse heights), and a
        pulse there may show no peak in it: the raw waveform's peak in the same window,
        moved back by the filter's delay, is the pulse (where it is an interior peak; the
        rise check still judges it). The filtered index it would have, or -1. (From
        `floor` - reach on, history holds the samples whatever the chunking.)"""
        if not self.m.raw_search or not self._floor_run(
                max(lo - self.after_floor, floor - self.reach, h0), lo, h0):
            return -1
        a = lo - self.delay
        w = self.x[a - h0:hi - self.delay - h0]
        k = int(w.argmax()) if len(w) else 0
        return a + k + self.delay if 0 < k < len(w) - 1 else -1
