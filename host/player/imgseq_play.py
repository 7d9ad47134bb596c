"""An image sequence decoded into the player's pipeline: its frames read here (imgseq_read.py),
time-stamped at the sequence's rate and pushed into an appsrc, then scaled and re-timed to
the screen's rate by the same elements a video's frames go through (decodepipe.py), into
the Decoder's queue: its pre-roll, candidates and gapless switches are a video's.

A frame that cannot be read when it is due (a gap in the numbers, a file missing since,
truncated or damaged, another size or depth than the first) is held: the last good frame
is pushed again in its place, so the show goes on; the first such frame is said once with
its reason, and the count when the clip ends. So is a frame whose read raised anything else
(out of memory, a decoder's own error: imgseq_read.pixels names its type), said apart.

Frames are read ahead by a few threads at once (READERS; each reading one whole frame), in
order, at most AHEAD frames (and AHEAD_BYTES) before the one being pushed; a full appsrc
holds the pushing thread and so the reading. The readers spend their time in file reads,
numpy, OpenCV and OpenEXR, which let go of the GIL (a pure-Python thread kept running
beside each), so threads, not processes.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .decodepipe import DECODE_NICE, screen_caps
from .gst import Gst, fps_fraction, renice_this_thread, set_thread_nice
from .imgseq import Sequence, SequenceError, default_colour, describe, find
from .imgseq_read import FrameError, pixels

log = logging.getLogger(__name__)
LOOK_AHEAD = 48  # frames tried for a first good one when the first frames are unreadable
_QUEUED_BYTES = 1  # frames the appsrc holds before a push waits (an 8K frame is 0.5 GB)
READERS = max(1, min(4, len(os.sched_getaffinity(0))))  # threads reading frames at once
AHEAD = 2 * READERS        # frames read ahead of the one pushed, at most
AHEAD_BYTES = 256 << 20    # and their bytes: a 4K RGBA64 frame is 66 MB, an 8K one 0.4 GB


def pipeline(path: Path, rate: float | None, colour: str | None, width: int | None,
             height: int | None, fps: float | None):
    """(pipe, appsink, Feeder) for the sequence `path` names, its colour the given one or
    its format's; SequenceError when it names none we can play."""
    info = describe(find(path), rate)
    hd = info.header
    fmt = "RGBA64_LE" if hd.deep else "RGB"
    f = fps_fraction(info.fps)
    src_caps = (f"video/x-raw,format={fmt},width={hd.width},height={hd.height},"
                f"framerate={f.numerator}/{f.denominator},pixel-aspect-ratio=1/1")
    caps = screen_caps(width, height, fps)
    Gst_ = Gst()
    frame_bytes = hd.width * hd.height * (8 if hd.deep else 3)
    pipe = Gst_.parse_launch(
        f'appsrc name=src format=time block=true max-bytes={frame_bytes * _QUEUED_BYTES} '
        # scaled to a screen of another size on as many threads as read (on one, a 1080p
        # 10-bit frame to 720p took 27-47 ms of wall time, near a 24 fps frame's 41.7)
        f'caps="{src_caps}" ! videoscale n-threads={READERS} ! '
        f'videoconvert n-threads={READERS} ! videorate ! {caps} ! '
        "appsink name=sink sync=false drop=false")
    set_thread_nice(pipe, DECODE_NICE)
    feeder = Feeder(info, pipe.get_by_name("src"))
    feeder.colour = colour or default_colour(info.sequence, hd)
    return pipe, pipe.get_by_name("sink"), feeder


class Feeder:
    """Reads the frames of [in_s, out_s) and pushes them into the appsrc, on its own thread."""

    def __init__(self, info, src):
        self.info, self.src = info, src
        self.seq: Sequence = info.sequence
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.held = 0
        self.error: str | None = None  # why no frame could be pushed at all
        self.asked = 0  # frames given to the readers
        self.readers: set[str] = set()  # the threads that read them
        self.alone = False  # no reader thread could be started: frames read on this one
        self.colour = "srgb"  # imgseq.COLOURS

    def start(self, in_s: float, out_s: float | None) -> None:
        fps = self.info.fps
        first = self.seq.first + int(round(in_s * fps))
        last = self.seq.last if out_s is None else min(
            self.seq.last, self.seq.first + int(round(out_s * fps)) - 1)
        self._thread = threading.Thread(target=self._run, args=(first, last),
                                        name=f"frames-{self.seq.head}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _read(self, n: int, like: tuple | None, out: np.ndarray | None = None) -> np.ndarray:
        """Frame n as the appsrc takes it; like: (shape, dtype) of the first good frame;
        out: an array it may be read into."""
        self.readers.add(threading.current_thread().name)
        if self.seq.in_gap(n):
            raise FrameError(f"frame {n} is missing (a gap in the numbers)")
        hd, px = pixels(self.seq.file(n), rgba=True, out=out, like=self.info.header)
        want = (self.info.header.height, self.info.header.width)
        if px.shape[:2] != want or (like is not None and (px.shape, px.dtype) != like):
            raise FrameError(f"{self.seq.file(n).name}: {px.shape[1]}x{px.shape[0]} "
                             f"{px.dtype}, not the {want[1]}x{want[0]} of its first frame")
        return px

    def _first_good(self, first: int, last: int) -> np.ndarray:
        # an in point inside a gap (a run on twos: every other number) holds the file before
        # the gap, as the gap's later frames do; the look-ahead only past unreadable files
        gap = self.seq.in_gap(first)
        before = [gap[0] - 1] if gap else []
        why = ""
        for n in before + list(range(first, min(last, first + LOOK_AHEAD - 1) + 1)):
            try:
                return self._read(n, None)
            except FrameError as e:
                why = str(e)
        raise SequenceError(f"{self.seq.name}: no readable frame from {first} on "
                            f"(the last: {why})")

    def _frames(self, first: int, last: int, like: tuple):
        """(number, frame or FrameError) of first..last in order, read ahead in parallel.
        A frame is valid until the next is taken: the arrays go round (depth + 1 of them:
        the one taken, the depth being read), as fresh ones cost page faults."""
        depth = max(1, min(AHEAD, AHEAD_BYTES // max(1, like[0][0] * like[0][1] * 8)))
        pool = ThreadPoolExecutor(READERS, thread_name_prefix=f"read-{self.seq.head}",
                                  initializer=renice_this_thread, initargs=(DECODE_NICE,))
        ring = [np.empty(*like) for _ in range(depth + 1)]
        numbers, ahead = iter(range(first, last + 1)), deque()
        try:
            while True:
                while len(ahead) < depth and (n := next(numbers, None)) is not None:
                    ahead.append((n, self._submit(pool, n, like, ring[self.asked % len(ring)])))
                    self.asked += 1
                if not ahead:
                    return
                n, job = ahead.popleft()
                try:  # (read here into a fresh array: a lost job may still fill its ring's)
                    yield n, job.result() if job is not None else self._read(n, like)
                except FrameError as e:
                    yield n, e
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, pool: ThreadPoolExecutor, n: int, like: tuple, out: np.ndarray):
        """Frame n's read given to a reader thread, or None: read on this thread when it is
        taken, as every later frame of the clip is once a reader could not be started
        (memory or threads exhausted: submit raised and this thread died, the show stalled)."""
        if self.alone:
            return None
        try:
            return pool.submit(self._read, n, like, out)
        except RuntimeError as e:  # "can't start new thread"
            self.alone = True
            log.warning("%s: no reader thread could be started (%s): frames read one at a time "
                        "on the frames thread from frame %d (said once)", self.seq.name, e, n)
            return None

    def _run(self, first: int, last: int) -> None:
        renice_this_thread(DECODE_NICE)
        Gst_ = Gst()
        try:
            held = self._first_good(first, last)
        except SequenceError as e:
            self.error = str(e)
            self.src.emit("end-of-stream")
            return
        said = set()  # FrameError, FrameFault: each said once
        period = Gst_.SECOND / self.info.fps
        like, held = (held.shape, held.dtype), held.tobytes()  # the bytes: its array goes round
        for k, (n, px) in enumerate(self._frames(first, last, like)):
            if self._stop.is_set():
                return
            if isinstance(px, FrameError):
                self.held += 1
                if type(px) not in said:
                    log.warning("%s: %s: the frame before is held (said once; counted at "
                                "the end)", self.seq.name, px)
                    said.add(type(px))
            else:
                held = px.tobytes()
            buf = Gst_.Buffer.new_wrapped(held)
            buf.pts, buf.duration = int(round(k * period)), int(round(period))
            if self.src.emit("push-buffer", buf) != Gst_.FlowReturn.OK:
                return  # flushing: the decoder stopped
        if self.held:
            log.warning("%s: %d frame(s) held in place of unreadable ones", self.seq.name,
                        self.held)
        self.src.emit("end-of-stream")
