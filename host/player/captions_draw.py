"""Captions burnt into the picture: each cue drawn once (Pillow, white with a black outline,
at most two lines in the bottom third, sized to the screen's height) and blended into every
frame it is on, after the grade so the look never tints it. Letters are drawn in DejaVu Sans,
and those it lacks (Chinese, Japanese, Korean, Thai, Devanagari...) in the font fontconfig
offers for them, one made for the captions' language first (captions_fonts.py), run by run
on one baseline; lines break where ICU's line breaker allows (captions_breaks.py).

`Burner` is the player's: it reads each clip's captions file once (a file it refuses is
said once, and its clip plays without captions), follows the clip on screen, and blends.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .captions import Captions, CaptionsError, notes, read_captions
from .captions_fonts import MISSING  # noqa: F401 (the box's name where it is drawn)
from .captions_breaks import segments
from .captions_fonts import PRIMARY, chain, runs
from .glgrade import caption_code

log = logging.getLogger("empathy.host.player.player")

MAX_LINES = 2
THUMB = 4  # the player's thumbnail takes every 4th pixel (player.py)
_DRAWN_KEPT = 8     # cue bitmaps kept (overlapping cues, a cut back)
_FILES_KEPT = 256   # captions files kept read
_UNREAD = object()


@dataclass
class Overlay:
    y: int
    x: int
    inv: np.ndarray  # 255 - alpha, uint16 (h, w, 1)
    pre: np.ndarray  # colour * alpha, uint16 (h, w, 3)
    code: np.ndarray  # the GL path's alpha byte (glgrade.caption_code), uint8 (h, w)


def _rtl(para: str) -> bool:
    """The paragraph's direction: its first strong character's (the bidi algorithm's P2)."""
    for c in para:
        kind = unicodedata.bidirectional(c)
        if kind in ("R", "AL", "L"):
            return kind != "L"
    return False


def _visual(rs: list[tuple[int, str]], rtl: bool) -> list[tuple[int, str, bool]]:
    """Font runs left to right, each with its direction: the bidi algorithm's levels and
    reordering (L2) taken run by run; a run holding both directions (Hebrew and Latin, both
    DejaVu) is laid out inside by Raqm in its level's direction."""
    def strong(run: str) -> Optional[bool]:  # True: right to left; None: neutral or mixed
        kinds = {unicodedata.bidirectional(c) for c in run}
        r, left = bool(kinds & {"R", "AL", "AN"}), "L" in kinds
        return None if r == left else r
    spaced = []  # a run's trailing spaces a run of their own: neutral, they take the
    for i, t in rs:  # direction of the runs about them, not of the word before (N1, N2)
        core = t.rstrip()
        spaced += [(i, core), (i, t[len(core):])] if core and core != t else [(i, t)]
    rs = spaced
    s = [strong(run) for _, run in rs]
    levels = []
    for i, d in enumerate(s):
        if d is None:  # takes its neighbours' direction where they agree, else the paragraph's
            before = next((x for x in reversed(s[:i]) if x is not None), rtl)
            after = next((x for x in s[i + 1:] if x is not None), rtl)
            d = before if before == after else rtl
        levels.append((1 if d else 2) if rtl else int(d))
    order = list(range(len(rs)))
    for k in range(max(levels), 0, -1):  # each stretch at level k or above reversed
        i = 0
        while i < len(order):
            if levels[order[i]] < k:
                i += 1
                continue
            j = i
            while j < len(order) and levels[order[j]] >= k:
                j += 1
            order[i:j] = order[i:j][::-1]
            i = j
    return [(rs[i][0], rs[i][1], levels[i] % 2 == 1) for i in order]


class Painter:
    """Draws cue text for a width x height picture, in `language`'s letterforms and line
    breaks (BCP 47; None: unknown)."""

    def __init__(self, width: int, height: int, language: Optional[str] = None):
        from PIL import features

        self.width, self.height, self.language = width, height, language
        self.size = max(10, round(height / 20))  # 54 px at 1080p: ~42 characters a line
        self.stroke = max(1, round(self.size / 10))  # 5 px at 1080p, 2 px at 360p
        self.faces = chain(language)  # OSError: not even DejaVu Sans
        self.raqm = features.check("raqm")  # shaping and direction; else stored order
        # Raqm's language: a font with several letterforms (Noto CJK) picks them by it
        self._kw = {"language": language} if self.raqm and language else {}
        self._fonts: dict[int, object] = {0: self._load(0)}

    def _load(self, i: int):
        from PIL import ImageFont

        return ImageFont.truetype(self.faces[i].file, self.size, index=self.faces[i].index)

    def _font(self, i: int):
        if i not in self._fonts:
            self._fonts[i] = self._load(i)
        return self._fonts[i]

    def _runs(self, line: str, rtl: bool) -> list[tuple[object, str, dict]]:
        """line's runs left to right: (font, text, Pillow's direction argument)."""
        rs = runs(line, self.language)
        placed = _visual(rs, rtl) if len(rs) > 1 else [(i, t, rtl) for i, t in rs]
        return [(self._font(i), t, {"direction": "rtl" if r else "ltr", **self._kw}
                 if self.raqm else {}) for i, t, r in placed]

    def _length(self, line: str, rtl: bool) -> float:
        return sum(f.getlength(t, **kw) for f, t, kw in self._runs(line, rtl))

    def _wrap(self, text: str) -> list[tuple[str, bool]]:
        """text wrapped to 90 % of the width, at most MAX_LINES (the rest cut: '…'), each
        with its paragraph's direction (True: right to left)."""
        room, out = self.width * 0.9, []
        for para in text.split("\n"):
            para = " ".join(para.split())
            rtl, line = _rtl(para), ""
            for piece in segments(para, self.language):  # each with its trailing space
                if line and self._length((line + piece).rstrip(), rtl) > room:
                    out.append((line.rstrip(), rtl))
                    line = piece
                else:
                    line += piece
            out.append((line.rstrip(), rtl))
        if len(out) > MAX_LINES:
            out = out[:MAX_LINES]
            out[-1] = (out[-1][0] + "…", out[-1][1])
        for i, (line, rtl) in enumerate(out):  # a word longer than the screen: cut to fit
            while len(line) > 1 and self._length(line, rtl) > room:
                line = line[:-2] + "…"
            out[i] = (line, rtl)
        return out

    def lines(self, text: str) -> list[str]:
        """The lines as drawn (in stored order), a character no font has given as MISSING."""
        return ["".join(t for _, t in runs(line, self.language)) for line, _ in self._wrap(text)]

    def _placed(self, line: str, rtl: bool):
        """line's runs with their x from the line's origin, and the ink's box about it."""
        x, out, box = 0.0, [], [0, 0, 0, 0]
        for f, t, kw in self._runs(line, rtl):
            b = f.getbbox(t, anchor="ls", stroke_width=self.stroke, **kw)
            box = [min(box[0], x + b[0]), min(box[1], b[1]), max(box[2], x + b[2]),
                   max(box[3], b[3])] if out else [x + b[0], b[1], x + b[2], b[3]]
            out.append((x, f, t, kw))
            x += f.getlength(t, **kw)
        return out, [round(v) for v in box]

    def draw(self, text: str) -> Optional[Overlay]:
        from PIL import Image, ImageDraw

        lines = self._wrap(text)
        if not any(s for s, _ in lines):
            return None
        gap = round(self.size * 0.25)
        placed = [self._placed(s, rtl) for s, rtl in lines]
        w = min(self.width, max(b[2] - b[0] for _, b in placed) + 2 * self.stroke)
        h = sum(b[3] - b[1] for _, b in placed) + gap * (len(lines) - 1) + 2 * self.stroke
        img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        d, y = ImageDraw.Draw(img), self.stroke
        for runs_, b in placed:
            x0 = (w - (b[2] - b[0])) // 2 - b[0]
            for x, f, t, kw in runs_:  # each run in its font, on the line's baseline
                d.text((x0 + x, y - b[1]), t, font=f, anchor="ls", fill=(255, 255, 255, 255),
                       stroke_width=self.stroke, stroke_fill=(0, 0, 0, 255), **kw)
            y += b[3] - b[1] + gap
        bottom = self.height - round(self.height * 0.08)  # inside the title-safe area
        a = np.asarray(img, np.uint16)[-bottom:]  # marks stacked by the hundred: cut to fit
        alpha = a[..., 3:]
        return Overlay(bottom - len(a), (self.width - w) // 2, 255 - alpha,
                       a[..., :3] * alpha, caption_code(alpha[..., 0], a[..., 0]))


def blend(frame: np.ndarray, o: Overlay, step: int = 1) -> None:
    """o onto an 8-bit RGB frame, in place: only the caption's rectangle is touched. step:
    frame is a picture's every step-th pixel (the GL path's thumbnail), o taken alike."""
    y0, x0 = -o.y % step, -o.x % step  # o's first row and column on the thumbnail's grid
    inv, pre = o.inv[y0::step, x0::step], o.pre[y0::step, x0::step]
    y, x, (h, w) = (o.y + y0) // step, (o.x + x0) // step, inv.shape[:2]
    region = frame[y:y + h, x:x + w]
    region[:] = (region * inv + pre + 127) // 255


def riding(frame: np.ndarray, o: Overlay) -> np.ndarray:
    """The GL path's frame: RGBA, o in its alpha for the shader to lay over the graded
    picture (glgrade.caption_code). A new array: the decoder's frame stays as it was."""
    h, w = o.code.shape
    out = np.empty(frame.shape[:2] + (4,), np.uint8)
    out[..., :3] = frame
    out[..., 3] = 255
    out[o.y:o.y + h, o.x:o.x + w, 3] = o.code
    return out


class Burner:
    """The player's captions: the clip on screen's cues, drawn once each, blended per frame.

    Files are read before the film (`preload`); one that was not (or was let go: a story of
    more than _FILES_KEPT files) is read on a thread of its own, its clip without captions
    meanwhile: a 2 MiB file is ~1 s of pysubs2, which the play thread cannot spare."""

    def __init__(self, width: int, height: int, on_fault: Callable[[dict], None],
                 gl: bool = False):
        """gl: the GPU grades the frames after us: captions ride in their alpha instead."""
        self.width, self.height, self.on_fault, self.gl = width, height, on_fault, gl
        # by language (its letterforms, its line breaks); False: the font cannot be read
        self._painters: dict[Optional[str], Painter | bool] = {}
        self._lock = threading.Lock()
        self._files: OrderedDict[Path, Optional[Captions]] = OrderedDict()  # None: refused
        self._reading: set[Path] = set()
        self._drawn: OrderedDict[tuple, Optional[Overlay]] = OrderedDict()

    def read(self, path: Path, within: Optional[Path], language: Optional[str] = None
             ) -> Optional[Captions]:
        """path's cues, or None (refused: said, once per reading)."""
        try:
            caps = read_captions(path, within, language)
            for note in notes(caps):
                log.warning("captions %s: %s", path, note)
        except CaptionsError as e:
            log.warning("captions unusable, the clip plays without them: %s", e)
            self.on_fault({"event": "captions_fault", "file": str(path), "why": str(e)})
            caps = None
        with self._lock:
            self._files[path] = caps
            self._reading.discard(path)
            while len(self._files) > _FILES_KEPT:
                self._files.popitem(last=False)
        return caps

    def preload(self, clips) -> None:
        """Every clip's file read, and the font loaded, before the film."""
        for path, (within, language) in {c.captions: (c.captions_root, c.captions_language)
                                         for c in clips if c.captions}.items():
            caps = self.read(path, within, language)
            self._paint(caps.language if caps else None)

    def burn(self, frame: np.ndarray, clip, clip_t_s: float,
             thumb: Optional[np.ndarray] = None) -> np.ndarray:
        """frame with the cues of `clip` (the one it is from: at a cut, the new clip's from
        its first frame) on at clip_t_s, seconds into its range: blended in place (CPU
        path: frame is graded), or riding in a new RGBA frame's alpha (GL path). thumb: the
        GL path's graded picture at 1/THUMB size (the luminance the pupil model reads),
        the cues blended into it too; the CPU path's is a view of frame."""
        if clip.captions is None:
            return frame
        with self._lock:
            caps = self._files.get(clip.captions, _UNREAD)
            if caps is _UNREAD and clip.captions not in self._reading:
                self._reading.add(clip.captions)
                threading.Thread(target=self.read, args=(clip.captions, clip.captions_root,
                                                         clip.captions_language),
                                 name="captions", daemon=True).start()
        if not isinstance(caps, Captions):
            return frame
        on = caps.at(clip.in_s + clip_t_s)  # cue times count from the file's start
        if not on:
            return frame
        key = (caps.path, on)
        if key not in self._drawn:
            painter = self._paint(caps.language)
            try:
                self._drawn[key] = painter.draw("\n".join(caps.cues[i].text for i in on)) \
                    if painter else None
            except Exception as e:  # Pillow's, on text we could not foresee: not the show's
                log.warning("captions %s: a cue cannot be drawn (%s: %s); the clip plays on "
                            "without its captions", caps.path, type(e).__name__, e)
                with self._lock:
                    self._files[caps.path] = None
                return frame
            while len(self._drawn) > _DRAWN_KEPT:
                self._drawn.popitem(last=False)
        o = self._drawn[key]
        if o is None:
            return frame
        if self.gl:
            if thumb is not None:
                blend(thumb, o, THUMB)
            return riding(frame, o)
        blend(frame, o)
        return frame

    def _paint(self, language: Optional[str]) -> Optional[Painter]:
        if language not in self._painters:
            try:
                self._painters[language] = Painter(self.width, self.height, language)
            except (OSError, ImportError) as e:
                log.warning("captions cannot be drawn: %s (install fonts-dejavu-core)", e)
                self.on_fault({"event": "captions_fault", "file": str(PRIMARY), "why": str(e)})
                self._painters[language] = False
        return self._painters[language] or None
