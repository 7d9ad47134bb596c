"""Decode a video file to RGB frames in a background thread (pre-roll into a bounded queue)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from . import audio, hdr, imgseq, imgseq_play
from .decodepipe import DECODE_NICE, fit, pipeline
from .gst import Gst, bus_error, renice_this_thread, sample_to_array

log = logging.getLogger(__name__)
_SINK_BUFFERS = 4  # decoded frames the appsink may hold beyond our queue
_NO_VIDEO = "no video stream in the file (a sound-only export?)"
# A decoder that shows no life this long (no element plugged, stream found, frame or sound
# decoded or queued) is stuck: decodebin sits silent for ever on about half the opens of an
# MP4 cut before its index. A live one is never that quiet: 1.33 s at most, opening cold,
# in 48 opens of a 720p clip beside 3 busy loops at load 15-21 (2.62 s in 24 before a
# plugged element counted); a frame waiting for its sound gives up at 2 s (_audio_for).
SILENT_S = 4.0


@dataclass
class Frame:
    rgb: np.ndarray                  # HxWx3 uint8, or uint16 for sources deeper than 8 bits
    t_s: float                       # seconds into the clip
    audio: np.ndarray | None = None  # this frame's share of the sound (audio.chunk_bounds)
    source: str | None = None        # 'hlg' or 'pq' for an HDR clip (hdr.py), else None


@dataclass
class End:
    error: str | None = None         # None: clean end of stream
    tail: np.ndarray | None = None   # decoded sound beyond the last frame, for the crossfade


def _sink_depth(queue_size: int) -> int:
    """Buffers the appsink may hold: a short queue (a prepared candidate) keeps it short too,
    so a candidate decodes a frame or two, not a dozen, while the show is playing."""
    return min(_SINK_BUFFERS, max(1, queue_size))


def _film_s(sample) -> float | None:
    """A sample's time in the film (seconds of stream time), None if it has none."""
    Gst_ = Gst()
    pts = sample.get_buffer().pts
    if pts == Gst_.CLOCK_TIME_NONE:
        return None
    t = sample.get_segment().to_stream_time(Gst_.Format.TIME, pts)
    return None if t == Gst_.CLOCK_TIME_NONE else t / Gst_.SECOND


class Decoder:
    """Decodes one clip into a bounded queue of Frame, finishing with one End."""

    def __init__(self, path: Path | str, width: int | None = None, height: int | None = None,
                 fps: float | None = None, queue_size: int = 8, after: "Decoder | None" = None,
                 in_s: float = 0.0, out_s: float | None = None, threads: int = 0,
                 on_source: Callable[[str], object] | None = None, rate: float | None = None,
                 colour: str | None = None):
        """after: start only once that decoder has its first frame (or has ended, stopped, or
        this one was chosen): prepared candidates pre-roll one at a time, not in a burst
        that would starve the clip on screen.
        in_s/out_s: play only [in_s, out_s) of the file (a range of a master file); frame and
        sound times are then seconds from in_s.
        threads: the video decoder's (0: its own choice, a thread per core, each holding
        frames of its own: an 8K clip's first frame took 0.6 GB; 1 for a check).
        on_source(source): called here, before the first frame is queued, when the clip is
        HDR: the player composes its conversion then, not on its own thread at the switch.
        rate, colour: an image sequence's (imgseq.py): the rate it plays at, and its curve
        ('linear', 'cineon': converted as an HDR clip is; 'srgb' or None: as it is)."""
        self.path = Path(path)
        self.in_s, self.out_s = float(in_s), out_s
        # The film's time (stream time) that is clip time 0: its first frame (plus in_s),
        # not 0 s: an MPEG-TS starts at 0.7-1.4 s, and clip time sets where a decision's
        # window closes. (A buffer's pts is not the film's time: an x264 MP4's is 0.08 s on.)
        self._origin: float | None = None
        self.size = (width, height)
        self.fps = fps
        self._threads = threads
        self.source: str | None = None  # hdr.py's name for the picture's colorimetry
        self._on_source = on_source
        self._rate = rate
        self._colour = colour  # an image sequence's curve; None: its format's
        self.queue: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self._sink_buffers = _sink_depth(queue_size)
        self._sink = None
        self._asink = None
        self._has_audio = False
        self._track = audio.Track()
        self.first_frame_at: float | None = None  # monotonic time the first frame was ready
        self.error: str | None = None  # why it gave up, once it has
        self._alive_at = time.monotonic()  # its last sign of life (idle_s)
        self._frame_rate = fps or 25.0
        self._stop = threading.Event()
        self._after = after
        self._chosen = threading.Event()
        self.primed = threading.Event()  # first frame queued, or the decoder gave up
        self._thread = threading.Thread(target=self._run, name=f"decode-{self.path.name}",
                                        daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        if isinstance(item, End):  # before it is queued: nextclip.py looks for it there
            self.error = item.error
        while not self._stop.is_set():
            try:
                self.queue.put(item, timeout=0.02)
                self._alive_at = time.monotonic()  # a full queue waited on is no stall
                return True
            except queue.Full:
                pass  # the sound waits in its appsink (unbounded): it cannot hold the demuxer
        return False

    def _drain_audio(self, wait_ns: int = 0, until: int | None = None) -> None:
        """Decoded sound into the track: up to sample `until` (a frame's share), or all there
        is. Never more than a frame needs while the picture waits: the demuxer runs seconds of
        sound ahead, and on a loaded host pulling it all held the picture up for seconds."""
        if self._asink is None or self._track.done:
            return
        Gst_ = Gst()
        while True:
            sample = self._asink.emit("try-pull-sample", wait_ns)
            if sample is None:
                if self._asink.get_property("eos"):
                    self._track.done = True
                return
            buf = sample.get_buffer()
            ok, mi = buf.map(Gst_.MapFlags.READ)
            if not ok:
                return
            try:
                pcm = np.frombuffer(mi.data, np.float32).reshape(-1, audio.CHANNELS).copy()
            finally:
                buf.unmap(mi)
            at = _film_s(sample)
            origin = self.in_s if self._origin is None else self._origin
            start = (int(round((at - origin) * audio.RATE)) if at is not None
                     else self._track.end)
            if start < 0:  # sound from before the range's in point
                pcm, start = pcm[-start:], 0
            self._track.add(pcm, start)
            self._alive_at = time.monotonic()
            if until is not None and self._track.covers(until):
                return
            wait_ns = 0

    def _audio_for(self, k: int) -> np.ndarray | None:
        """Frame k's sound, waiting (briefly) for the demuxer to deliver it."""
        if self._asink is None or not self._has_audio:
            return None
        a, b = audio.chunk_bounds(k, self._frame_rate)
        tries = 0
        while not self._track.covers(b) and not self._stop.is_set() and tries < 200:
            self._drain_audio(10 * Gst().MSECOND, until=b)
            tries += 1
        if not self._track.covers(b) and not self._stop.is_set():
            log.warning("decoder %s: no sound for frame %d after 2 s; silence instead",
                        self.path, k)
        return self._track.take(a, b)

    def _wait_turn(self) -> None:
        a = self._after
        while a is not None and not (a.primed.is_set() or a._stop.is_set()
                                     or self._stop.is_set() or self._chosen.is_set()):
            a.primed.wait(0.01)
            self._alive_at = time.monotonic()  # waiting its turn is no stall
        self._after = None

    def _run(self) -> None:
        renice_this_thread(DECODE_NICE)  # it copies frames out: decode-ahead work too
        try:
            self._wait_turn()
            self._decode()
        finally:
            self.primed.set()

    def idle_s(self) -> float:
        """Seconds since this decoder last showed life (SILENT_S)."""
        return time.monotonic() - self._alive_at

    def _decode(self) -> None:
        self._alive_at = time.monotonic()  # its turn to decode has come
        seq = imgseq.is_pattern(self.path)
        if not seq and not self.path.is_file():
            self._put(End(f"media not found: {self.path}"))
            return
        feeder = dec = None
        try:
            if seq:  # frames read and pushed in (imgseq_play.py): no demuxer, no sound
                pipe, sink, feeder = imgseq_play.pipeline(self.path, self._rate, self._colour,
                                                          *self.size, self.fps)
                self._colour = feeder.colour
            else:
                pipe, sink, self._asink, dec = pipeline(self.path, *self.size, self.fps)
                dec.connect("deep-element-added", self._added)
            self._sink = sink  # set before reading the depth: resize() may run meanwhile
            sink.set_property("max-buffers", self._sink_buffers)
        except imgseq.SequenceError as e:
            self._put(End(str(e)))
            return
        except Exception as e:  # GLib.Error from parse_launch
            self._put(End(f"cannot build decoder: {e}"))
            return
        Gst_ = Gst()

        has_video = threading.Event()
        pads_done = threading.Event()  # decodebin has exposed every stream it will

        def pad_added(_dec, pad):
            self._alive_at = time.monotonic()
            caps = pad.get_current_caps() or pad.query_caps(None)
            kind = caps.get_structure(0).get_name() if caps and caps.get_size() else ""
            if kind.startswith("audio"):
                self._has_audio = True
            elif kind.startswith("video"):
                fit(pipe, caps, self.size)
                has_video.set()

        def no_picture() -> bool:
            """A sound-only file: the video appsink is never linked, so it would wait for
            ever (no frame, no EOS); the show must get an End and fall back at once."""
            return pads_done.is_set() and not has_video.is_set()

        if dec is not None:
            dec.connect("pad-added", pad_added)
            dec.connect("no-more-pads", lambda _dec: pads_done.set())
        else:
            has_video.set()
        frames = 0
        err = tail = None
        try:
            ranged = self.in_s > 0 or self.out_s is not None
            err = self._seek(pipe, sink, no_picture) if ranged and dec is not None else None
            pipe.set_state(Gst_.State.PLAYING)
            if feeder is not None:  # it starts at the range's in point: nothing to seek
                feeder.start(self.in_s, self.out_s)
            while not err and not self._stop.is_set():
                sample = sink.emit("try-pull-sample", 100 * Gst_.MSECOND)
                if sample is not None:
                    self._alive_at = time.monotonic()
                    if frames == 0 and not self.fps:  # the clip's own rate sets sound chunks
                        ok, num, den = sample.get_caps().get_structure(0).get_fraction("framerate")
                        self._frame_rate = num / den if ok and num > 0 and den > 0 else 25.0
                    pts = _film_s(sample)
                    if self._origin is None:
                        self._origin = self.in_s if pts is None else pts
                    t = pts - self._origin if pts is not None else frames / self._frame_rate
                    if t < -0.5 / self._frame_rate:
                        continue  # before in_s: a decoder that could only seek to a keyframe
                    if self.out_s is not None and t >= self.out_s - self.in_s - 1e-3:
                        break  # the range's out point: a clean end
                    if frames == 0:
                        self._learn_source(sample.get_caps())
                    frame = Frame(sample_to_array(sample), t, self._audio_for(frames),
                                  self.source)
                    if not self._put(frame):
                        break
                    if frames == 0:
                        self.first_frame_at = time.monotonic()
                        self.primed.set()
                    frames += 1
                    continue
                err = bus_error(pipe) or (_NO_VIDEO if no_picture() else None)
                if err or sink.get_property("eos"):
                    break
            err = err or (feeder.error if feeder is not None else None)
            if not err and frames == 0 and not self._stop.is_set():
                err = "no video frames decoded"
            if not err and self._has_audio:
                for _ in range(50):  # the sound may run a little past the picture
                    if self._track.done or self._stop.is_set():
                        break
                    self._drain_audio(10 * Gst_.MSECOND)
                tail = self._track.rest()
        except Exception as e:  # never let a bad file kill the show
            err = f"decode failed: {e}"
        finally:
            if feeder is not None:
                feeder.stop()
            pipe.set_state(Gst_.State.NULL)
        if err:
            log.warning("decoder %s: %s", self.path, err)
        self._put(End(err, tail))

    def _learn_source(self, caps) -> None:
        """The picture's colorimetry, as the appsink's caps carry it (videoconvert keeps the
        source's curve and primaries: it changes the matrix only)."""
        self.source = hdr.of_caps(caps) or (self._colour if self._colour in hdr.CURVES
                                            else None)
        if self.source and self._on_source is not None:
            try:
                self._on_source(self.source)
            except Exception as e:  # a look that cannot compose is the play thread's to say
                log.warning("decoder %s: cannot prepare the %s conversion: %s", self.path,
                            self.source, e)

    def _added(self, _bin, _sub, element) -> None:
        """decodebin plugged a demuxer, parser or decoder: a sign of life while it opens."""
        self._alive_at = time.monotonic()
        if self._threads and element.find_property("max-threads") is not None:  # libav's
            element.set_property("max-threads", self._threads)

    def _seek(self, pipe, sink, no_picture) -> str | None:
        """Preroll, then a flushing accurate seek to [in_s, out_s): the decoder starts from
        the keyframe before in_s and drops what precedes it; the stream ends at out_s."""
        Gst_ = Gst()
        pipe.set_state(Gst_.State.PAUSED)
        for _ in range(150):  # 15 s, looking up between waits for a file with no picture
            ret, _, _ = pipe.get_state(100 * Gst_.MSECOND)
            if ret != Gst_.StateChangeReturn.ASYNC or no_picture() or self._stop.is_set():
                break
        if no_picture():
            return _NO_VIDEO
        if ret == Gst_.StateChangeReturn.FAILURE:
            return bus_error(pipe) or "cannot open for seeking"
        if ret == Gst_.StateChangeReturn.ASYNC:
            return "timed out opening for seeking"
        first = sink.emit("try-pull-preroll", 0)  # the file's first frame: clip time 0
        zero = (_film_s(first) if first is not None else None) or 0.0
        first = None  # a sample held across the seek is a GStreamer-CRITICAL
        self._origin = zero + self.in_s
        stop = int(round((zero + self.out_s) * Gst_.SECOND)) if self.out_s is not None else -1
        # To the picture's sink only: the demuxer seeks every stream, and the pipeline's own
        # seek would also go to the sound's sink, which a silent clip leaves unlinked (the
        # seek then fails).
        ok = sink.seek(1.0, Gst_.Format.TIME, Gst_.SeekFlags.FLUSH | Gst_.SeekFlags.ACCURATE,
                       Gst_.SeekType.SET, int(round(self._origin * Gst_.SECOND)),
                       Gst_.SeekType.SET if stop >= 0 else Gst_.SeekType.NONE, stop)
        return None if ok else f"cannot seek to {self.in_s:g} s"

    def get(self, timeout: float | None = None):
        """Next Frame or End; None if nothing arrived within timeout."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def resize(self, queue_size: int) -> None:
        """Let the decoder run further ahead (a prepared candidate that was chosen)."""
        self._chosen.set()
        with self.queue.mutex:
            self.queue.maxsize = max(1, queue_size)
            self.queue.not_full.notify_all()
        self._sink_buffers = _sink_depth(queue_size)
        sink = self._sink
        if sink is not None:
            sink.set_property("max-buffers", self._sink_buffers)

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


class Failed:
    """Stands in for a decoder that gave up: yields one End with the reason."""

    def __init__(self, why: str):
        self._item: End | None = End(why)

    def get(self, timeout: float | None = None):
        item, self._item = self._item, None
        return item

    def stop(self) -> None:
        pass


def read_frames(path: Path | str, width: int | None = None, height: int | None = None,
                fps: float | None = None, rate: float | None = None) -> Iterator[Frame]:
    """Decode a whole file (or sequence, at `rate`) synchronously; raises RuntimeError if it
    cannot be decoded."""
    dec = Decoder(path, width, height, fps, rate=rate)
    try:
        while True:
            item = dec.get(timeout=30.0)
            if item is None:
                raise RuntimeError(f"{path}: decoder stalled")
            if isinstance(item, End):
                if item.error:
                    raise RuntimeError(f"{path}: {item.error}")
                return
            yield item
    finally:
        dec.stop()
