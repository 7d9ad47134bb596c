"""What plays after the clip on screen: the player's bookkeeping, apart from its play loop.

The candidates a decision may pick pre-roll (`prepare`); the chosen one is queued to follow
the clip on screen (`queue`, for `Player.set_next`) or to replace it as soon as it has a
frame (`cut_to`). Each clip started is a new play: a choice made for a play already left is
refused, since what followed it was settled without that choice. When the clip on screen
ends, the play loop takes its successor from `advance`, which asks `on_need_next` (the
show's default) when none was queued.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .decode import SILENT_S, Decoder
from .grade import Grade

log = logging.getLogger("empathy.host.player.player")  # the player's log, as before the split

_CANDIDATE_FRAMES = 1  # a prepared candidate decodes only this far until it is chosen


@dataclass
class Clip:
    id: str            # segment id
    media: Path        # video file (mp4)
    lut: Path | None   # .cube or None
    strength: float = 1.0
    in_s: float = 0.0          # play [in_s, out_s) of the file: a range of a master file
    out_s: float | None = None  # None: to the end of the file
    captions: Path | None = None       # its captions file (.srt, .vtt, .ass), burnt in
    captions_root: Path | None = None  # the folder that file must stay inside
    rate: float | None = None   # an image sequence's rate and colour (imgseq.py)
    colour: str | None = None
    captions_language: str | None = None  # as the story's captions table names the file

    def source(self) -> dict:
        """What its Decoder reads: the range, and a sequence's rate and colour."""
        return dict(in_s=self.in_s, out_s=self.out_s, rate=self.rate, colour=self.colour)


# a clip to play, its running decoder, its grade, and when it was decided (monotonic s)
Queued = tuple[Clip, Decoder, Grade, float]


def _stop(decoders, queued: Queued | None) -> None:
    """Stop candidates no longer wanted, and a queued clip's decoder (outside the lock)."""
    for dec in [*decoders, *([queued[1]] if queued is not None else [])]:
        dec.stop()


class NextClip:
    def __init__(self, open_clip: Callable[..., Decoder], queue_size: int,
                 grade_for: Callable[[Path | None, float], Grade],
                 on_need_next: Callable[[Clip], Clip | None] | None):
        """open_clip(clip, queue_size=None, after=None): a decoder for clip; queue_size: the
        frames a chosen clip decodes ahead; grade_for(lut, strength): its grade, parsed."""
        self._open, self._queue_size, self._grade_for = open_clip, queue_size, grade_for
        self.on_need_next = on_need_next
        self._lock = threading.Lock()
        self._next: Queued | None = None
        self._cut = False  # cut_to(): switch to _next at the next frame
        self.play = 0  # FrameInfo.play of the clip on screen; +1 as each clip is left
        self._ready: dict[tuple[str, str], Decoder] = {}  # prepared candidates
        self._asked: Queued | None = None  # the failed queued clip replace_failed asked for
        self._settled = False  # the clip on screen failed: what follows it is settled (ahead)

    def prepare(self, candidates: list[Clip]) -> None:
        for c in candidates:
            self._grade_for(c.lut, c.strength)  # parsed and cached now, not at the switch
        with self._lock:
            old, keep, prev = self._ready, {}, None
            for c in candidates:
                key = (c.id, str(c.media))
                prev = keep[key] = old.pop(key, None) or self._open(c, _CANDIDATE_FRAMES, prev)
            self._ready = keep
        for dec in old.values():
            dec.stop()

    def queue(self, clip: Clip, after: int | None, cut: bool) -> bool:
        with self._lock:  # spare the LUT's parse; checked again below, where it counts
            if self._left(after):
                return self._refused(clip, after)
        decided = time.monotonic()
        grade = self._grade_for(clip.lut, clip.strength)  # parsed off the play thread
        # Checked and taken in one hold of the lock: a call refused after the player moved
        # on must leave the candidates it prepared for its own successor (on_need_next's).
        with self._lock:
            if self._left(after):
                return self._refused(clip, after)
            dec, others = self._take_prepared(clip)
            # a cut is flagged with its clip, so never onto a clip queued later
            old, self._next = self._next, (clip, dec, grade, decided)
            self._cut = self._cut or cut
        _stop(others, old)
        return True

    def _left(self, after: int | None) -> bool:  # the caller holds the lock
        return after is not None and (after != self.play or self._settled)

    def _refused(self, clip: Clip, after: int | None) -> bool:
        log.debug("set_next(%s) refused: play %s it was to follow has ended", clip.id, after)
        return False

    def cut_due(self) -> bool:
        """A cut_to clip has its first frame: the clip on screen ends here (no stall)."""
        with self._lock:
            return self._cut and self._next is not None and \
                getattr(self._next[1], "first_frame_at", None) is not None

    def _take_prepared(self, clip: Clip) -> tuple[Decoder, list[Decoder]]:
        """The chosen candidate's running decoder, else a new one (a thread start: cheap
        under the lock), and the other candidates, for the caller to stop. The caller holds
        the lock."""
        ready, self._ready = self._ready, {}
        dec = ready.pop((clip.id, str(clip.media)), None)
        if dec is None:
            dec = self._open(clip)
        else:
            dec.resize(self._queue_size)
        if self._dead(dec):  # what follows it, asked for next, may be one of the others
            self._ready = ready
            return dec, []
        return dec, list(ready.values())

    @staticmethod
    def _dead(dec: Decoder) -> bool:
        return dec.error is not None and dec.first_frame_at is None

    def failed(self, clip: Clip) -> bool:
        """A prepared candidate's decoder gave up before its first frame."""
        with self._lock:
            dec = self._ready.get((clip.id, str(clip.media)))
        return dec is not None and self._dead(dec)

    def replace_failed(self) -> tuple[Clip, str] | None:
        """The queued clip's decoder gave up before its first frame (a missing, corrupt or
        undecodable file), or sits silent (decode.SILENT_S: a file cut before its index):
        what on_need_next gives for it takes its place now, and decodes while the clip on
        screen plays. Asked at the switch instead, it started only then:
        the last picture froze meanwhile (58 frames under load). Returns the failed clip and
        why when it was replaced; when nothing follows it, the switch ends the show as before.
        Play thread only, like advance: on_need_next is asked from one thread."""
        q = self._next
        if q is None or q is self._asked or q[1].first_frame_at is not None:
            return None
        why = q[1].error or (f"stalled: nothing decoded for {q[1].idle_s():.1f} s"
                             if q[1].idle_s() > SILENT_S else None)
        if why is None:
            return None
        self._asked = q  # once: an answer of None leaves it to the switch
        asked = time.monotonic()
        c = self._ask(q[0])
        grade = self._grade_for(c.lut, c.strength) if c is not None else None
        with self._lock:
            if c is None or self._next is not q:  # nothing follows, or a set_next stands
                return None
            dec, others = self._take_prepared(c)
            self._next = (c, dec, grade, asked)
        _stop(others, q)
        return q[0], why

    def _ask(self, clip: Clip) -> Clip | None:
        if self.on_need_next is None:
            return None
        try:
            return self.on_need_next(clip)
        except Exception:
            log.exception("on_need_next failed; ending the show")
            return None

    def ahead(self, clip: Clip) -> None:
        """The decoder of `clip`, on screen, has failed; the frames it decoded before that
        still play. What follows it is settled now (one queued, else on_need_next's answer),
        so it decodes while they play, and advance hands it over: asked only at the switch,
        its first frame came 4-11 frames late (tests/test_player28_fail.py). From here a
        set_next for this play is refused, as after the switch. Play thread only."""
        with self._lock:
            if self._settled:
                return
            self._settled = True
            if self._next is not None:
                return
        asked = time.monotonic()
        c = self._ask(clip)
        grade = self._grade_for(c.lut, c.strength) if c is not None else None
        with self._lock:
            if c is None or self._next is not None:  # nothing follows, or a cut_to came
                return
            dec, others = self._take_prepared(c)
            self._next = (c, dec, grade, asked)
        _stop(others, None)

    def advance(self, clip: Clip) -> Queued | None:
        """The clip after `clip`: one queued, else whatever on_need_next gives (unless
        `ahead` has asked it already)."""
        with self._lock:
            nxt, self._next, self._cut = self._next, None, False
            settled, self._settled = self._settled, False
            self.play += 1  # from here a set_next meant to follow `clip` is refused
        if nxt is not None or settled:
            return nxt
        asked = time.monotonic()
        c = self._ask(clip)
        grade = self._grade_for(c.lut, c.strength) if c is not None else None
        # The callback may have called set_next instead of returning a clip.
        with self._lock:
            nxt, self._next = self._next, None
            if c is not None:
                dec, others = self._take_prepared(c)
        if c is None:
            return nxt
        _stop(others, nxt)
        return c, dec, grade, asked

    def close(self) -> None:
        """The show is over: stop whatever was queued or prepared."""
        with self._lock:
            nxt, self._next = self._next, None
            ready, self._ready = self._ready, {}
        _stop(ready.values(), nxt)
