"""Captions burnt into the picture: each cue drawn once (Pillow, DejaVu Sans, white with a
black outline, at most two lines in the bottom third, sized to the screen's height) and
blended into every frame it is on, after the grade so the look never tints it.

`Burner` is the player's: it reads each clip's captions file once (a file it refuses is
said once, and its clip plays without captions), follows the clip on screen, and blends.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .captions import Captions, CaptionsError, read_captions
from .glgrade import caption_code

log = logging.getLogger("empathy.host.player.player")

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
MISSING = "\u25a1"  # what stands for a character DejaVu Sans has no glyph for
MAX_LINES = 2
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


class Painter:
    """Draws cue text for a width x height picture."""

    def __init__(self, width: int, height: int, font: Path = FONT):
        from fontTools.ttLib import TTFont
        from PIL import ImageFont

        self.width, self.height = width, height
        self.size = max(10, round(height / 20))  # 54 px at 1080p: ~42 characters a line
        self.stroke = max(1, round(self.size / 10))  # 5 px at 1080p, 2 px at 360p
        self.font = ImageFont.truetype(str(font), self.size)
        with TTFont(str(font), lazy=True) as tt:  # which characters it has glyphs for
            self.glyphs = set(tt["cmap"].getBestCmap())

    def lines(self, text: str) -> list[str]:
        """text's words wrapped to 90 % of the width, at most MAX_LINES (the rest cut: '…')."""
        text = "".join(c if ord(c) in self.glyphs or c == "\n" else MISSING for c in text)
        room, out = self.width * 0.9, []
        for para in text.split("\n"):
            line = ""
            for word in para.split():
                trial = f"{line} {word}" if line else word
                if line and self.font.getlength(trial) > room:
                    out.append(line)
                    line = word
                else:
                    line = trial
            out.append(line)
        if len(out) > MAX_LINES:
            out = out[:MAX_LINES]
            out[-1] += "…"
        for i, line in enumerate(out):  # a word longer than the screen: cut to fit
            while len(line) > 1 and self.font.getlength(line) > room:
                line = line[:-2] + "…"
            out[i] = line
        return out

    def draw(self, text: str) -> Optional[Overlay]:
        from PIL import Image, ImageDraw

        lines = self.lines(text)
        if not any(lines):
            return None
        gap = round(self.size * 0.25)
        boxes = [self.font.getbbox(s, stroke_width=self.stroke) for s in lines]
        w = min(self.width, max(b[2] - b[0] for b in boxes) + 2 * self.stroke)
        h = sum(b[3] - b[1] for b in boxes) + gap * (len(lines) - 1) + 2 * self.stroke
        img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        d, y = ImageDraw.Draw(img), self.stroke
        for s, b in zip(lines, boxes):
            x = (w - (b[2] - b[0])) // 2 - b[0]
            d.text((x, y - b[1]), s, font=self.font, fill=(255, 255, 255, 255),
                   stroke_width=self.stroke, stroke_fill=(0, 0, 0, 255))
            y += b[3] - b[1] + gap
        a = np.asarray(img, np.uint16)
        alpha = a[..., 3:]
        bottom = self.height - round(self.height * 0.08)  # inside the title-safe area
        return Overlay(max(0, bottom - h), (self.width - w) // 2, 255 - alpha,
                       a[..., :3] * alpha, caption_code(alpha[..., 0], a[..., 0]))


def blend(frame: np.ndarray, o: Overlay) -> None:
    """o onto an 8-bit RGB frame, in place: only the caption's rectangle is touched."""
    h, w = o.inv.shape[:2]
    region = frame[o.y:o.y + h, o.x:o.x + w]
    region[:] = (region * o.inv + o.pre + 127) // 255


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
        self._painter: Painter | None | bool = None  # False: the font cannot be read
        self._lock = threading.Lock()
        self._files: OrderedDict[Path, Optional[Captions]] = OrderedDict()  # None: refused
        self._reading: set[Path] = set()
        self._drawn: OrderedDict[tuple, Optional[Overlay]] = OrderedDict()

    def read(self, path: Path, within: Optional[Path]) -> Optional[Captions]:
        """path's cues, or None (refused: said, once per reading)."""
        try:
            caps = read_captions(path, within)
            if caps.note:
                log.warning("captions %s: %s", path, caps.note)
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
        for path, within in {c.captions: c.captions_root for c in clips if c.captions}.items():
            self.read(path, within)
        if any(c.captions for c in clips):
            self._paint()

    def burn(self, frame: np.ndarray, clip, clip_t_s: float) -> np.ndarray:
        """frame with the cues of `clip` (the one it is from: at a cut, the new clip's from
        its first frame) on at clip_t_s, seconds into its range: blended in place (CPU
        path: frame is graded), or riding in a new RGBA frame's alpha (GL path)."""
        if clip.captions is None:
            return frame
        with self._lock:
            caps = self._files.get(clip.captions, _UNREAD)
            if caps is _UNREAD and clip.captions not in self._reading:
                self._reading.add(clip.captions)
                threading.Thread(target=self.read, args=(clip.captions, clip.captions_root),
                                 name="captions", daemon=True).start()
        if not isinstance(caps, Captions):
            return frame
        on = caps.at(clip.in_s + clip_t_s)  # cue times count from the file's start
        if not on:
            return frame
        key = (caps.path, on)
        if key not in self._drawn:
            painter = self._paint()
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
            return riding(frame, o)
        blend(frame, o)
        return frame

    def _paint(self) -> Optional[Painter]:
        if self._painter is None:
            try:
                self._painter = Painter(self.width, self.height)
            except (OSError, ImportError) as e:
                log.warning("captions cannot be drawn: %s (install fonts-dejavu-core)", e)
                self.on_fault({"event": "captions_fault", "file": str(FONT), "why": str(e)})
                self._painter = False
        return self._painter or None
