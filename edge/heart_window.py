"""A seat's streaming heart window: HR, HRV and quality over the last minute, from a
waveform's beats or a strap's RR intervals, with the same artefact and ectopic labels as the
batch summary (edge/hrv.py), so a seat and `empathy signal hr` agree on what is normal."""

from __future__ import annotations

import bisect
from typing import NamedTuple

import numpy as np

from empathy.edge.ectopic_beats import beat_slopes
from empathy.edge.heart_labels import label_runs
from empathy.edge.hrv import (RR_RANGE_MS, REF_INTERVALS, SPIKY_BELOW, SQI_MIN, Intervals,
                              rr_normal, sample_error_bpm, spiky, window_quality)
from empathy.edge.rr_artefacts import RRCorrector
from empathy.edge.sinus_rate import SINUS_LEFT, sinus_intervals

RAW_MARGIN_S = 10.0  # raw beats kept beyond keep_s: ectopic_beats' context, and older
# than the oldest interval still classified (those come out of the corrector later)
# HR from the corrected intervals over this many times the rate of the beats seen: the
# beats seen give HR. Made when the corrector's 'missed' splits ran away under bigeminy; it
# now fires seldom, where the 20 % rule keeps an irregular rhythm's short intervals, and
# stands for a PPG, whose real misses (up to 13 % of beats at 1.15) must still be mended
# (edge/heart_passes.md, fifteenth and seventeenth passes, has the figures)
SPLIT_HR_MAX = 1.15
# HR's intervals cover at least this much of its window (of the time since the source began,
# where that is shorter: a strap just put on), or no HR: an irregular rhythm's few seconds
# after a break are no 8-s rate (leads off 4 s every 30 s: mitdb-106's HR_OK estimates over
# 5 bpm off 27 -> 13 of 161; sinus HR_OK 0.89-1.00 -> 0.79-0.83)
HR_COVER = 0.5
# a strap's or a PPG's HR is the mean of the intervals kept; where some of the window's were
# lost (a BLE packet, a break in the beats, an H10's lost ECG frames) the kept ones are a
# sample of it, and the time they leave uncovered says how many are missing, not which. No
# HR on the wire while that sample's standard error of the rate (`sample_error_bpm`, with the
# window's spread or the whole window kept's where more) is over this: two of them make 5
# bpm. bench/strap_loss.py, 20 % lost, HR_OK estimates over 5 bpm off: bigeminy 202 -> 3,
# AF-like 50 -> 9, mitdb-106 140 -> 5; sinus 0 -> 0 (HR_OK 0.99 kept; eighteenth pass)
HR_SE_BPM = 2.5

class HeartRates(NamedTuple):
    """A seat's heart rates at one moment (`HeartWindow.heart_rates`)."""
    rate: float  # HR for the show, 0 = no value (`heart_rate`)
    sure: bool  # whether the seat can vouch for it (the wire's HR_OK)
    sinus: float  # the arousal's: the heart's own drive (edge/sinus_rate.py)


class HeartWindow:
    """Streaming HR/HRV/quality over the last `keep_s` seconds, from beats or straps. HRV's
    NN intervals (`labels`) leave out the intervals at ectopic beats as the batch summary
    does (`labelled_artefacts` over the raw beats kept), not only the RR corrector's: its
    thresholds adapt to frequent ectopy (MIT-BIH 106's V1: 0 of 104 ectopic beats)."""

    def __init__(self, keep_s: float = 60.0, min_span_s: float = 0.0, cycles: bool = False,
                 ecg_fs: float = 0.0):
        """`min_span_s`: beats from our own waveform detector are judged over at least
        WINDOW_S (the batch summary's window). A few seconds of them can't tell a pulse
        from noise: band-passed noise makes alike 'beats' (sqi ~0.5) and the artefact
        corrector judges nothing before its MIN_HISTORY intervals, so three or four
        chance-regular ones covered half a young window. BrainFlow's synthetic noise read
        as a heart rate so where a loaded board's stamps slipped and every restart of the
        detector began a young window. A strap's intervals (its own detector) need no floor.
        `ecg_fs`: an ECG's rate, whose beats come with their slopes (add_beats)."""
        self.keep_us = int(keep_s * 1e6)
        self.min_span_ms = min_span_s * 1000.0
        self.cycles = cycles  # an ECG's beats or a chest strap's: see window_quality
        # an ECG beat's slope row (beat_slopes), per interval its first and last beat's
        self.width = beat_slopes(np.zeros(0), ecg_fs, np.zeros(0)).shape[1] if ecg_fs else 0
        self.no_rows = np.full((2, self.width), np.nan)  # (a strap's; a window cut)
        # classified intervals of the last keep_s, t_s in µs, oldest first
        self.ivs = Intervals(np.zeros(0), np.zeros(0), np.zeros(0, bool), np.zeros(0))
        # t_end_us, rr_ms, sqi, the end beat's sqi, whether it begins where the last interval
        # ended, its beats' slope rows: not yet classified (flat lists: one array each when
        # classified)
        self.new: tuple[list, ...] = ([], [], [], [], [], [])
        # the same, classified, of the last keep_s + RAW_MARGIN_S (for ectopic_beats), and
        # the raw index of the first
        self.beats = tuple(np.zeros(0, b) for b in (float, float, float, float, bool))
        self.beats += (np.zeros((0, 2, self.width)),)
        self.beats0 = 0
        self.end_us: float | None = None  # the end of a strap's last interval
        self.detected = False  # beats from a waveform detector: spike noise can fool it
        self.ectopic_end: np.ndarray | None = None  # per raw interval kept: ends at an
        # ectopic beat (None: to be labelled again)
        self.touching = np.zeros(0, bool)  # ... begins or ends at an ectopic beat
        self.undo = np.zeros(0, bool)  # ... its raw value stands (see hrv_window)
        self.doubt = np.zeros(0, bool)  # ... at a beat left in doubt
        self.labelled: list[tuple[int, str]] = []  # (raw index, type), labelled_artefacts
        self.run_labels: dict[tuple, tuple] = {}  # (_label)
        self.last: tuple | None = None  # last beat (ts_us, sqi, slope row)
        self.first_us: float | None = None  # when this source's first interval began
        self.corrector = RRCorrector()  # intervals come out of it two beats later
        self.raw: dict[int, tuple[float, float]] = {}  # raw index -> (t_end_us, sqi), pending
        self.out_index = -1  # the raw index of the last interval the corrector gave out
        self.iv_index = np.zeros(0, int)  # each classified interval's raw index
        self.found: dict[int, str] = {}  # raw index -> the corrector's label, within keep_s

    def add_beats(self, ts_us, sqi, slopes=None) -> None:
        """Beats from a waveform, in order. Intervals form between consecutive beats.
        `slopes`: an ECG's, their beat_slopes rows (see __init__'s ecg_fs)."""
        if not len(ts_us):
            return
        self.detected = True
        rows = self.no_rows[:1].repeat(len(ts_us), 0) if slopes is None else slopes
        if len(ts_us) == 1 and self.last is not None:  # the usual streamed chunk: scalars
            t, q = float(ts_us[0]), float(sqi[0])
            self._queue(t, (t - self.last[0]) / 1000.0, min(q, self.last[1]), q, True,
                        np.stack((self.last[2], rows[0])))
            self.last = (t, q, rows[0])
            return
        ts = np.asarray(ts_us, dtype=float)
        q = np.asarray(sqi, dtype=float)
        fresh = self.last is None  # after a break (or the first beats): a new run begins
        if not fresh:
            ts, q = np.concatenate(([self.last[0]], ts)), np.concatenate(([self.last[1]], q))
            rows = np.concatenate((self.last[2][None], rows))
        elif self.first_us is None:
            self.first_us = float(ts[0])
        joined = np.ones(len(ts) - 1, bool)
        joined[:1] = not fresh
        self.last = (ts[-1], q[-1], rows[-1])
        for new, v in zip(self.new, (ts[1:], np.diff(ts) / 1000.0, np.minimum(q[1:], q[:-1]),
                                     q[1:], joined)):
            new.extend(v.tolist())
        self.new[5].extend(np.stack((rows[:-1], rows[1:]), 1))

    def break_off(self) -> None:
        """The beat series is broken here (beats lost to motion): no interval spans it."""
        self.last = None

    def shift(self, step_us: float) -> None:
        """The clock the beats are stamped on stepped (the host's set, `edge.timebase`):
        every time held moves with it, so the window reads on the new clock; the
        intervals, their labels and the corrector's state stand."""
        self.ivs = self.ivs._replace(t_s=self.ivs.t_s + step_us)
        self.new = ([t + step_us for t in self.new[0]],) + self.new[1:]
        self.beats = (self.beats[0] + step_us,) + self.beats[1:]
        self.raw = {i: (t + step_us, q) for i, (t, q) in self.raw.items()}
        if self.last is not None:
            self.last = (self.last[0] + step_us,) + self.last[1:]
        if self.first_us is not None:
            self.first_us += step_us
        if self.end_us is not None:
            self.end_us += step_us

    def add_rr(self, ts_us: int, rr_ms: float) -> None:
        """One RR interval from a strap, ending at ts_us. Stamps that step back over half an
        interval (a source's clock set back) move what the window holds onto the new clock
        (`shift`): its memory and pruning run on time order (a step back before the first
        stamp crashed `quality`; starting afresh instead cost HR_OK and HRV_OK a few beats)."""
        if self.end_us is not None and ts_us < self.end_us - rr_ms * 500:
            self.shift(ts_us - rr_ms * 1e3 - self.end_us)
        if self.first_us is None:
            self.first_us = ts_us - rr_ms * 1000.0
        # a strap's stamps jitter with the radio: one that begins within half an interval of
        # where the last ended follows it
        joined = self.end_us is not None and abs(ts_us - rr_ms * 1e3 - self.end_us) < rr_ms * 500
        self.end_us = float(ts_us)
        self._queue(float(ts_us), float(rr_ms), 1.0, 1.0, joined, self.no_rows)

    def _queue(self, t_us: float, rr_ms: float, sqi: float, q_end: float, joined: bool,
               rows: np.ndarray) -> None:
        for new, v in zip(self.new, (t_us, rr_ms, sqi, q_end, joined, rows)):
            new.append(v)

    def _classify(self, now_us: float) -> None:
        """Intervals go through the artefact corrector in one go when asked for (cheaper
        than one by one; the result is the same, the corrector only looks back and two
        intervals ahead). Those ending after now wait for their time: an early sensor's,
        its lag undone or its clock ahead, are stamped up to |lag| ahead of the seat."""
        k = bisect.bisect_right(self.new[0], now_us)
        if not k:
            return
        ts, rr, qi = (v[:k] for v in self.new[:3])
        self._remember(k)
        out = []
        for t, r, q in zip(ts, rr, qi):
            self.raw[self.corrector.n] = (t, q)
            out.extend(self.corrector.push(r))
        if not out:
            return
        t = np.array([self.raw[o.index][0] for o in out])
        q = np.array([self.raw[o.index][1] for o in out])
        r = np.array([o.rr_ms for o in out])
        self.found.update((o.index, o.label) for o in out if o.label)
        self.corrector.found.clear()  # the batch's full list: a show-long stream keeps its own
        # the newest stays: a missed beat's second half comes out later under the same index
        self.out_index = out[-1].index
        for k in [k for k in self.raw if k < out[-1].index]:
            del self.raw[k]
        labels = np.array([o.label for o in out])
        normal = rr_normal(r, q, self.ivs.rr_ms[-REF_INTERVALS:]) & (labels != "longshort")
        t = np.concatenate((self.ivs.t_s, t))  # µs here, seconds once out of window()
        keep = int(np.searchsorted(t, t[-1] - self.keep_us, "left"))
        self.ivs = Intervals(t[keep:], *(np.concatenate((old, new))[keep:] for old, new in
                                         zip(self.ivs[1:], (r, normal, q))))
        self.iv_index = np.concatenate((self.iv_index, [o.index for o in out]))[keep:]

    def _remember(self, k: int) -> None:
        """The first k new raw intervals join those kept for labelling; the labels are stale."""
        new, self.new = tuple(v[:k] for v in self.new), tuple(v[k:] for v in self.new)
        b = [np.concatenate((old, v)) for old, v in zip(self.beats, new)]
        drop = int(np.searchsorted(b[0], b[0][-1] - self.keep_us - RAW_MARGIN_S * 1e6))
        self.beats, self.beats0 = tuple(v[drop:] for v in b), self.beats0 + drop
        self.found = {i: k for i, k in self.found.items() if i >= self.beats0}
        self.ectopic_end = None

    def _label(self) -> None:
        """The raw beats kept labelled again (`label_runs`)."""
        (self.ectopic_end, self.labelled, self.run_labels, self.touching, self.undo,
         self.doubt) = label_runs(self.beats, self.beats0, self.found, self.run_labels,
                                 self.width, self.cycles)

    def hrv_window(self, now_us: int, window_s: float) -> tuple[Intervals, dict]:
        """`window` for HRV, and {type: count} of the labelled artefacts that end in it. Its
        `normal` says NN: normal, and neither beginning nor ending at a beat labelled
        ectopic (as `nn` says of the batch summary's) nor, an ECG's or a strap's, at one
        left in doubt (`doubtful_beats`). Where the corrector moved a beat that
        ectopic_beats does not call ectopic ('misplaced') next to an interval at an ectopic
        beat, the raw intervals stand: on MIT-BIH 116 it moved the beat after each PVC's
        pause, and its two mean intervals, one of them the pause's, read normal (RMSSD 1.7
        times the annotation's). Elsewhere its move mends a beat the detector placed off
        (mitdb-101: raw intervals there made RMSSD 1.8 times the annotation's)."""
        self._classify(now_us)
        if self.ectopic_end is None:
            self._label()
        start = now_us - window_s * 1e6
        i = int(np.searchsorted(self.ivs.t_s, start, "left"))
        at = self.iv_index[i:] - self.beats0  # >= 0: the raw memory reaches further back
        rr = np.where(self.undo[at], self.beats[1][at], self.ivs.rr_ms[i:])
        counts: dict[str, int] = {}
        for g, k in self.labelled:
            if self.beats[0][g - self.beats0] >= start:
                counts[k] = counts.get(k, 0) + 1
        nn = self.ivs.normal[i:] & ~self.touching[at] & ~self.doubt[at]
        iv = Intervals(self.ivs.t_s[i:] / 1e6, rr, nn, self.ivs.sqi[i:])
        return iv, counts

    def artefacts_in(self, now_us: int, window_s: float) -> dict:
        """{type: count} of the labelled artefacts in the last window_s (`hrv_window`)."""
        return self.hrv_window(now_us, window_s)[1]

    def window(self, now_us: int, window_s: float) -> Intervals:
        self._classify(now_us)
        t = self.ivs.t_s
        i = int(np.searchsorted(t, now_us - window_s * 1e6, "left"))
        return Intervals(t[i:] / 1e6, *(a[i:] for a in self.ivs[1:]))

    def quality(self, now_us: int, window_s: float) -> float:
        """`window_quality` over the window, or over the time since the source began when
        that is shorter (a strap that just connected is not a poor signal), but never over
        less than `min_span_s` (see __init__). 0 where a waveform's detected intervals are
        `spiky` at a quality under SPIKY_BELOW (random spikes in an ECG: the batch summary's
        'no heartbeat')."""
        if self.first_us is None or now_us <= self.first_us:
            return 0.0
        young_ms = max((now_us - self.first_us) / 1000.0, self.min_span_ms)
        iv = self.window(now_us, window_s)
        t, rr = self.beats[:2]
        q = window_quality(iv, min(window_s * 1000.0, young_ms), self.cycles)
        if (self.detected and q < SPIKY_BELOW
                and spiky(rr[np.searchsorted(t, now_us - window_s * 1e6):])):
            return 0.0
        return q

    def _counted(self, rr: np.ndarray, sqi: np.ndarray) -> np.ndarray:
        """Which intervals HR counts: those of SQI_MIN in RR_RANGE_MS, and an ECG's longer
        ones (the heart's own pauses, as the batch summary's rate counts them)."""
        top = np.inf if self.width else RR_RANGE_MS[1]
        return (rr >= RR_RANGE_MS[0]) & (rr <= top) & (sqi >= SQI_MIN)

    def _uncovered_ms(self, now_us: int, window_s: float) -> float:
        """The time in the window that its raw intervals leave uncovered: between them (lost
        packets, breaks) and before the first (one lost there ended in the window too)."""
        t, rr = self.beats[:2]
        sel = t >= now_us - window_s * 1e6
        if not sel.any():
            return 0.0
        t, rr = t[sel], rr[sel]
        begin = t[0] - rr[0] * 1e3
        start = max(now_us - window_s * 1e6, self.first_us or 0.0)
        gaps = max(0.0, (t[-1] - begin) / 1e3 - rr.sum()) + max(0.0, (begin - start) / 1e3)
        if self.width:  # an ECG's detector saw all since its last beat: a pause, not a loss
            return gaps
        return max(gaps, (now_us - start) / 1e3 - rr.sum() - rr.max())

    def hr_bpm(self, now_us: int, window_s: float) -> float:
        """HR for the wire (0 = no value): `heart_rate`'s, where the seat can vouch for it."""
        rate, sure = self.heart_rate(now_us, window_s)
        return rate if sure else 0.0

    def heart_rate(self, now_us: int, window_s: float) -> tuple[float, bool]:
        """(HR for the show, 0 = no value; whether the seat can vouch for it): the mean rate
        of the window's intervals, an ECG's or a strap's between its beats as found (pauses
        and ectopic beats count: the heart's rate, not the sinus rhythm under it), a PPG's
        corrected, with the newest ones the corrector still holds (HR must not wait two
        beats for their verdict); the rate of the beats seen where that is over
        SPLIT_HR_MAX times it. No value while the intervals cover under HR_COVER of the
        window, or while a PPG's or a strap's interval over RR_RANGE_MS ends in it (a pause
        or beats lost: which, it can't say); not vouched for while the time the intervals
        leave uncovered makes them too poor a sample (HR_SE_BPM: nothing on the wire,
        `hr_bpm`; the arousal, which weighs the heart by its quality, still reads it).
        Figures, pass by pass: edge/heart_passes.md (seventeenth: tuning |error| p90 ECG
        3.4 -> 1.4 bpm, PPG 2.7 -> 1.8; eighteenth: the sample error)."""
        return self._rate(self._rate_intervals(now_us, window_s), now_us, window_s)

    def heart_rates(self, now_us: int, window_s: float) -> HeartRates:
        """`heart_rate`'s (rate, sure) and the arousal's rate, from one pass over the window's
        intervals (a seat asks for both at each estimate): `rate` less the intervals at
        ectopic beats (`_label`, `sinus_intervals`) where SINUS_LEFT are left;
        else `rate` itself (bigeminy leaves none: its pairs keep every beat's rate sinus)."""
        got = self._rate_intervals(now_us, window_s)
        rate, sure = self._rate(got, now_us, window_s)
        if not rate:
            return HeartRates(rate, sure, rate)
        if self.ectopic_end is None:
            self._label()
        left = sinus_intervals(*got, self.beats[1], self.touching, self.beats[4])
        if left is None or not self._covers(left, now_us, window_s, *SINUS_LEFT):
            return HeartRates(rate, sure, rate)
        return HeartRates(rate, sure, 60000.0 / float(np.mean(left)))

    def _rate(self, got, now_us: int, window_s: float) -> tuple[float, bool]:
        """`heart_rate` from `_rate_intervals`' `got`."""
        if got is None:
            return 0.0, True  # a pause or beats lost: a strap or a PPG can't say which
        nn = got[0]
        if not self._covers(nn, now_us, window_s):
            return 0.0, True
        start = now_us - window_s * 1e6
        t, rr, q = self.beats[:3]
        seen = rr[(t >= start) & (rr >= RR_RANGE_MS[0]) & (rr <= RR_RANGE_MS[1])]
        hr = 60000.0 / float(np.mean(nn))
        seen_hr = 60000.0 * len(seen) / seen.sum() if len(seen) else hr
        rate = seen_hr if hr > SPLIT_HR_MAX * seen_hr else hr
        lost_ms = self._uncovered_ms(now_us, window_s)
        if lost_ms <= 0:
            return rate, True
        # the spread over all kept (keep_s and more): an ECG's intervals as counted, pauses
        # too (its lost ones are a Polar H10's BLE frames, seat_wave's bridged gaps)
        kept = (rr[self._counted(rr, q)] if self.width
                else rr[(rr >= RR_RANGE_MS[0]) & (rr <= RR_RANGE_MS[1])])
        cv = float(np.std(kept) / np.mean(kept)) if len(kept) > 1 else 0.0
        return rate, sample_error_bpm(nn if self.width else seen, lost_ms, cv) <= HR_SE_BPM

    def _rate_intervals(self, now_us: int, window_s: float):
        """(the intervals HR's rate counts, each one's place in `beats`), or None where a
        strap's or a PPG's interval over RR_RANGE_MS ends in the window: an ECG's or a
        strap's beats as found (`_counted`), a PPG's corrected, and those the corrector
        still holds."""
        start = now_us - window_s * 1e6
        iv = self.window(now_us, window_s)  # (classifies: every new interval is in beats)
        t, rr, q = self.beats[:3]
        if not self.width and np.any(rr[t >= start] > RR_RANGE_MS[1]):
            return None
        if not (self.detected and not self.width):
            at = np.flatnonzero((t >= start) & self._counted(rr, q))
            return rr[at], at
        c = self.corrector
        held = [(r, self.raw[i][1], i) for r, i in zip(c.rr, c.idx)
                if i > self.out_index and i in self.raw and self.raw[i][0] >= start]
        held = np.array(held).reshape(-1, 3).T
        at = np.concatenate((self.iv_index[len(self.ivs.t_s) - len(iv.t_s):],
                             held[2].astype(int))) - self.beats0
        keep = np.concatenate((self._counted(iv.rr_ms, iv.sqi), self._counted(*held[:2])))
        return np.concatenate((iv.rr_ms, held[0]))[keep], at[keep]

    def _covers(self, nn: np.ndarray, now_us: int, window_s: float, n: int = 3,
                cover: float = HR_COVER) -> bool:
        """Enough intervals for a rate: n, covering `cover` of the window (of the time since
        the source began, where that is shorter)."""
        young_ms = (now_us - self.first_us) / 1000.0 if self.first_us is not None else 0.0
        return len(nn) >= n and nn.sum() >= cover * min(window_s * 1000.0, young_ms)
