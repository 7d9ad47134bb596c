"""The show player: decoded clips -> live grade -> captions -> one gapless output stream.

Output PTS are n/fps for output frame n, whatever clip it came from, so clip switches cannot
leave gaps. The next clip decodes ahead (pre-roll) as soon as it is known. Failures never
blank the screen: a bad LUT falls back to identity, an unplayable clip asks for another one.
Sound travels with the picture, crossfaded at each switch (audio.py). Every switch is timed
(``switches``): decision -> next clip's first frame ready -> on screen, and the lead it had.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from . import audio as sound, hdr, output_names
from .captions_draw import Burner
from .decode import SILENT_S, Decoder, End, Failed
from .framelog import FrameLog
from .grade import Grade, crossfade
from .gst import to_8bit
from .lutfile import KEPT, CubeError
from .nextclip import Clip, NextClip, Queued
from .outputs import VideoWriter
from empathy.rotate import Rotation

log = logging.getLogger(__name__)

_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32) / 255.0  # Rec.709 weights
_WAITED_S = 1.0        # a decoder is judged stalled only once we have waited this long on it
_MAX_FAILURES = 8      # consecutive unplayable clips before we give up
_HOLD_S = 1.0          # longest we hold the last frame when nothing can follow
SWITCHES_KEPT = 10_000


@dataclass
class FrameInfo:
    index: int
    clip_id: str
    clip_t_s: float
    pts_s: float
    wall_s: float
    luminance: float
    lut: str
    strength: float
    play: int  # which play of a clip: one number per clip started (ids repeat: loops)


class Player:
    def __init__(self, output: str, width: int, height: int, fps: float, frame_log: Path,
                 on_frame: Callable[[FrameInfo], None] | None = None,
                 on_need_next: Callable[[Clip], Clip | None] | None = None,
                 realtime: bool = True, grade_threads: int | None = None,
                 audio: bool = True, audio_fade_ms: float = sound.FADE_MS,
                 grade_on: str = "cpu", gl_lut_size: int = 33,
                 frame_log_rotation: Rotation | None = None,
                 clock: Callable[[], float] = time.time):
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"width and height must be positive and even, got {width}x{height}")
        if not np.isfinite(fps) or not 1.0 <= fps <= 240.0:
            raise ValueError(f"fps must be within 1..240, got {fps}")
        output_names.output_chain(output)  # unknown outputs fail here, not in the play thread
        if grade_on not in ("cpu", "gl"):
            raise ValueError(f"grade_on must be 'cpu' or 'gl', got {grade_on!r}")
        if not 2 <= gl_lut_size <= 65:
            raise ValueError(f"gl_lut_size must be within 2..65, got {gl_lut_size}")
        # "gl": frames leave ungraded with the grade's table baked at gl_lut_size^3, and the
        # GPU grades them (glgrade.py). "cpu": OpenColorIO grades them here.
        self.gl_lut_size = gl_lut_size if grade_on == "gl" else None
        self._gl_last: tuple[Grade, np.ndarray] | None = None  # (grade, its baked table)
        self.output, self.width, self.height, self.fps = output, int(width), int(height), fps
        self.frame_log = Path(frame_log)
        self.frame_log_rotation, self.clock = frame_log_rotation, clock  # see framelog.py
        self.on_frame = on_frame  # on_need_next: asked by nextclip.py
        self.realtime, self.grade_threads, self.audio = realtime, grade_threads, bool(audio)
        self._fade_n = int(round(max(0.0, audio_fade_ms) * sound.RATE / 1000))
        # one entry per clip change (see _switched); the last SWITCHES_KEPT, so a kiosk
        # looping its attract clip for months keeps a flat memory
        self.switches: deque[dict] = deque(maxlen=SWITCHES_KEPT)
        self.frames_rendered = self.frames_dropped = self.frames_late = 0
        self.error: str | None = None
        self.faults: queue.SimpleQueue = queue.SimpleQueue()  # media/LUT faults, for the show
        self._lock = threading.Lock()
        # what plays after the clip on screen (nextclip.py)
        self._upcoming = NextClip(self._open, self._queue_size(), self._grade_for, on_need_next)
        self._grade_req: tuple[Grade, float] | None = None
        self._pos: tuple[str, float] = ("", 0.0)
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_frame_failed = False
        self.captions = Burner(self.width, self.height, self.faults.put, bool(self.gl_lut_size))

    # -- public API -------------------------------------------------------------------
    def start(self, first: Clip) -> None:
        if self._thread is not None:
            raise RuntimeError("player already started")
        self._writer = VideoWriter.open_chain(self.output, self.width, self.height, self.fps,
                                              self.audio, self.gl_lut_size,
                                              on_fault=self.faults.put)
        self._log = FrameLog(self.frame_log, flush_every=max(1, int(self.fps)),
                             rotation=self.frame_log_rotation, clock=self.clock)
        dec = self._open(first)
        self._thread = threading.Thread(target=self._run, args=(first, dec), name="player",
                                        daemon=True)
        self._thread.start()

    def preload(self, clips: list[Clip]) -> None:
        """Parse every clip's LUT, and read its captions, now, before the film: a .cube is
        ~0.1 s of Python, and parsed as a branch pre-rolled it took the CPU the clip on screen
        needed (late and dropped frames). Past the parse cache, LUTs parse as they come up."""
        self.captions.preload(clips)  # a refused file is said now
        for c in (c for c in clips[:KEPT] if c.lut is not None):
            self._grade_for(c.lut, c.strength)

    def prepare(self, candidates: list[Clip]) -> None:
        """Pre-roll every clip the next decision may pick, before it is made.

        Each candidate decodes its first few frames and has its LUT parsed, so set_next() on
        any of them switches with no decode latency; the ones not chosen cost little.
        Candidates from an earlier call that are not in this list are stopped.
        """
        if not self._done.is_set():
            self._upcoming.prepare(candidates)

    def failed(self, clip: Clip) -> bool:
        """`clip`, prepared, cannot play (its decoder gave up before its first frame)."""
        return self._upcoming.failed(clip)

    def set_next(self, clip: Clip, after: int | None = None) -> bool:
        """Play `clip` when the clip on screen ends. after: the play (FrameInfo.play) it was
        chosen to follow. Once the player has left that play, what follows it was settled
        without this call (set_next before, or on_need_next), so `clip` is refused (False):
        queued now it would play after the clip that did follow, a second time or a second
        branch."""
        return self._upcoming.queue(clip, after, cut=False)

    def cut_to(self, clip: Clip) -> None:
        """Switch to `clip` as soon as its first frame is decoded instead of at the end of the
        clip on screen (a kiosk's visitor arrived, or left): still no gap, no held frame, and
        the sound crossfades."""
        self._upcoming.queue(clip, None, cut=True)

    def set_grade(self, lut: Path | None, strength: float = 1.0, fade_s: float = 0.0) -> None:
        g = self._grade_for(lut, strength)
        fade = float(fade_s) if np.isfinite(fade_s) and fade_s > 0 else 0.0
        with self._lock:
            self._grade_req = (g, fade)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is None:
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def position(self) -> tuple[str, float]:
        with self._lock:
            return self._pos

    # -- internals --------------------------------------------------------------------
    def _queue_size(self) -> int:
        return max(4, int(self.fps))  # a second of frames rides out decoder hiccups

    def _open(self, clip: Clip, queue_size: int | None = None,
              after: Decoder | None = None) -> Decoder:
        return Decoder(clip.media, self.width, self.height, self.fps, **clip.source(),
                       queue_size=queue_size or self._queue_size(), after=after,
                       on_source=partial(hdr.warm, clip.lut, clip.strength, self.grade_threads))

    def _grade_for(self, lut: Path | None, strength: float) -> Grade:
        try:
            return Grade.from_file(lut, strength, self.grade_threads)
        except CubeError as e:
            log.warning("LUT unusable, grading with identity: %s", e)
            self.faults.put({"event": "lut_fault", "lut": str(lut), "why": str(e)})
            return Grade(None, 1.0, self.grade_threads)

    def _advance(self, clip: Clip, error: str | None) -> Queued | None:
        """The clip after `clip` (nextclip.py), a media fault reported first."""
        if error:
            self._media_fault(clip, error)
        return self._upcoming.advance(clip)

    def _media_fault(self, clip: Clip, error: str) -> None:
        log.warning("clip %s unplayable (%s); asking for another", clip.id, error)
        self.faults.put({"event": "media_fault", "segment": clip.id, "why": error})

    def _run(self, clip: Clip, dec: Decoder) -> None:
        period = 1.0 / self.fps
        n, t0 = 0, 0.0
        last: tuple[np.ndarray, float, str, float] | None = None  # rgb, clip_t, lut, strength
        grade = self._grade_for(clip.lut, clip.strength)
        fade: tuple[Grade, Grade, int, int] | None = None
        shown: Grade | None = grade
        failures, waited = 0, 0.0
        last_pcm: np.ndarray | None = None
        cut_from: np.ndarray | None = None  # sound to crossfade the next real frame from
        switch: dict | None = None  # the clip change waiting for its first frame
        # the play on screen: read here, never per frame (a failed last clip's held frames
        # stay its play, though advance() has already counted the next one)
        play = self._upcoming.play
        try:
            while not self._stop.is_set():
                failed = self._upcoming.replace_failed()  # the clip queued next cannot play
                if failed is not None:
                    self._media_fault(*failed)
                if getattr(dec, "error", None):  # failed; what it decoded before still plays
                    self._upcoming.ahead(clip)
                if self.realtime and n > 0:
                    timeout = max(0.0, t0 + n * period - time.monotonic())
                else:
                    timeout = 0.1
                if self._upcoming.cut_due():  # the clip on screen ends here
                    dec.stop()
                    item = End()
                else:
                    item = dec.get(timeout=timeout)
                if isinstance(item, End):
                    failures = failures + 1 if item.error else 0
                    nxt = self._advance(clip, item.error) if failures <= _MAX_FAILURES else None
                    if nxt is None:
                        if item.error and last is not None and self.realtime:
                            n = self._hold(last, (clip.id, play), n, t0, period,
                                           self._quiet(last_pcm, n))
                        break
                    if switch is None:  # several failed clips in a row count as one change
                        switch = {"from": clip.id, "decided": nxt[3], "frame": n}
                        cut_from = sound.continuation(item.tail, last_pcm, self._fade_n)
                    clip, dec, grade = nxt[:3]
                    play = self._upcoming.play
                    switch.update(to=clip.id, decided=nxt[3], dec=dec)
                    fade, waited = None, 0.0
                    continue
                if item is None:
                    waited += timeout
                    # Stuck, not slow: silent SILENT_S, and this thread has waited a while
                    # itself (a host that froze us all for seconds leaves the decoder no
                    # blame: it decodes again the moment it runs).
                    idle = dec.idle_s()
                    if waited > _WAITED_S and idle > SILENT_S:
                        dec.stop()
                        dec = Failed(f"stalled: nothing decoded for {idle:.1f} s")
                        continue
                    if self.realtime and last is not None:
                        # Nothing decoded in time: show the last frame again; the sound fades
                        # out, and back in from silence when frames return (no clicks).
                        self.frames_dropped += 1
                        last_pcm = self._quiet(last_pcm, n)
                        cut_from = None if last_pcm is None else sound.silence(self._fade_n)
                        self._show(last[0], n, (clip.id, play), last[1], last[2], last[3], t0,
                                   period, last_pcm)
                        n += 1
                    continue
                waited = 0.0
                with self._lock:
                    req, self._grade_req = self._grade_req, None
                if req is not None:
                    g, fade_s = req
                    frames = int(round(fade_s * self.fps))
                    # Fade from what is on screen now, even if that is mid-way through a fade.
                    fade = (shown, g, n, frames) if frames > 0 and shown is not None else None
                    grade = g
                shown, name, strength = grade, grade.name, grade.strength
                view = hdr.for_source(grade, item.source)  # an HDR clip's conversion to SDR
                if fade is not None:
                    a, b, start, frames = fade
                    t = (n - start + 1) / frames
                    if t >= 1.0:
                        fade = None
                    else:
                        shown = crossfade(a, b, t, self.grade_threads)
                        view = hdr.fade(a, b, t, item.source, self.grade_threads) or shown
                        strength = round(t * b.strength, 4)
                if self.gl_lut_size:  # the GPU path is 8-bit (glgrade.py)
                    rgb = to_8bit(item.rgb)
                    thumb = view.apply(rgb[::4, ::4])
                    self._bake(view)
                else:  # deep sources are graded at 16 bits, then rounded for the output
                    rgb = to_8bit(view.apply(item.rgb, inplace=True))
                    thumb = rgb[::4, ::4]
                rgb = self.captions.burn(rgb, clip, item.t_s, thumb)  # thumb: luminance too
                pcm = sound.fit(item.audio, *sound.chunk_bounds(n, self.fps)) \
                    if self.audio else None
                if cut_from is not None and pcm is not None:
                    pcm = sound.splice(cut_from, pcm, self._fade_n)
                cut_from = None
                if n == 0:
                    t0 = time.monotonic()
                wall = self._show(rgb, n, (clip.id, play), item.t_s, name, strength, t0, period,
                                  pcm, thumb)
                if switch is not None:
                    self._switched(switch, n, t0 + n * period, wall)
                    switch = None
                last, last_pcm = (rgb, item.t_s, name, strength), pcm
                n += 1
        except Exception as e:  # keep the output valid whatever happened
            self.error = f"{type(e).__name__}: {e}"
            log.exception("player failed")
        finally:
            self._close(dec)

    def _close(self, dec) -> None:
        """The last steps, each whatever the one before did, then done: a step that raised
        skipped the rest and the show's stop waited 30 s for the player (systemd kills)."""
        for what, step in (("decoder", dec.stop), ("next clip", self._upcoming.close),
                           ("output", self._writer.close), ("frame log", self._log.close)):
            try:
                if step() is False:  # the output's EOS did not come through
                    self.error = self.error or "output did not finalise"
            except Exception as e:
                log.error("player: the %s did not close: %s: %s", what, type(e).__name__, e)
                self.error = self.error or f"the {what} did not close: {type(e).__name__}: {e}"
        self._done.set()

    def _bake(self, g: Grade) -> None:
        """The table the GPU grades with; a crossfade bakes a new one per frame (~1 ms)."""
        if self._gl_last is None or self._gl_last[0] is not g:
            self._gl_last = (g, np.ascontiguousarray(g.bake(self.gl_lut_size)))

    def _switched(self, sw: dict, n: int, due: float, wall: float) -> None:
        """Record a clip change once its first frame is on screen.

        lead_ms: how long before that frame was due the decision came (the slack we had);
        ready_ms: decision -> the new clip's first frame decoded (the least lead that works;
        0 when the clip was prepared and already decoding before the decision);
        decision_to_frame_ms: decision -> first frame shown.
        """
        ready = sw["dec"].first_frame_at if hasattr(sw["dec"], "first_frame_at") else None
        self.switches.append({
            "from": sw["from"], "to": sw["to"], "frame": n,
            "lead_ms": round((due - sw["decided"]) * 1000, 1) if self.realtime else None,
            "ready_ms": round(max(0.0, ready - sw["decided"]) * 1000, 1) if ready else None,
            "prepared": bool(ready and ready <= sw["decided"]),
            "decision_to_frame_ms": round((wall - sw["decided"]) * 1000, 1),
            "on_time": (not self.realtime) or wall <= due + 1.0 / self.fps,
        })

    def _quiet(self, last_pcm: np.ndarray | None, n: int) -> np.ndarray | None:
        """Frame n's sound when the clip has none to give: the last sound faded out."""
        if not self.audio:
            return None
        return sound.fade_out(last_pcm, *sound.chunk_bounds(n, self.fps), self._fade_n)

    def _hold(self, last, on: tuple[str, int], n: int, t0: float, period: float,
              pcm: np.ndarray | None) -> int:
        """Nothing can follow a failed clip: keep the last frame up for at most _HOLD_S."""
        for _ in range(int(_HOLD_S * self.fps)):
            if self._stop.is_set():
                break
            self._show(last[0], n, on, last[1], last[2], last[3], t0, period, pcm)
            pcm = None  # faded out on the first held frame, silence after
            n += 1
        return n

    def _show(self, rgb: np.ndarray, n: int, on: tuple[str, int], clip_t: float, lut: str,
              strength: float, t0: float, period: float, pcm: np.ndarray | None = None,
              thumb: np.ndarray | None = None) -> float:
        """Frame n on screen at its time; `on`: the clip's id and play it belongs to."""
        clip_id, play = on
        due = t0 + n * period
        if self.realtime:
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        pts = n * period
        self._writer.push(rgb, pts, period, self._gl_last[1] if self._gl_last else None)
        if self.audio:
            a, b = sound.chunk_bounds(n, self.fps)
            self._writer.push_audio(pcm if pcm is not None else sound.silence(b - a),
                                    a / sound.RATE)
        wall = time.monotonic()
        late = self.realtime and wall > due + period
        self.frames_rendered += 1
        self.frames_late += int(late)
        with self._lock:
            self._pos = (clip_id, clip_t)
        self._log.write(n, clip_id, clip_t, pts, wall, lut, strength, late)
        if self.on_frame is not None:
            # thumb: the graded picture at 1/4 size (what is on screen, also on the GL path)
            small = thumb if thumb is not None else rgb[::4, ::4, :3]  # GL: RGBA
            luma = float((small.astype(np.float32) @ _LUMA).mean())
            try:
                self.on_frame(FrameInfo(n, clip_id, clip_t, pts, wall, luma, lut, strength,
                                        play))
            except Exception:
                if not self._on_frame_failed:  # log once; a buggy callback must not stop us
                    log.exception("on_frame callback failed")
                self._on_frame_failed = True
        return wall
