"""Where graded frames go: one appsrc-fed GStreamer pipeline per output kind.

PIPELINES (the tail after `appsrc ! videoconvert !`):

* ``file``   - I420 -> x264enc (ultrafast) -> mp4mux -> filesink. Used headless, in tests and
  for recording a show; finished with EOS so the MP4 has its index (moov) and plays. Where
  the muxer can (GStreamer 1.20+), it writes a fragment a second as it goes and rewrites
  them as one plain MP4 at the EOS: a host killed mid-show, or an EOS that never came
  through, leaves a file that plays to its last second or so, not one with no index.
  4:2:0 because x264 fed RGB picks High 4:4:4, which browsers, QuickTime and hardware
  decoders (Jetson's NVDEC included) cannot play, and which costs more to decode.
* ``window`` - autovideosink: a desktop with X11 or Wayland (development machines).
* ``kms``    - kmssink: Raspberry Pi running without a desktop, straight to the display
  controller (no compositor, lowest latency).
* ``nv3d``   - nv3dsink: NVIDIA Jetson's 3D-engine sink (needs the L4T GStreamer plugins);
  nvvidconv moves our system-memory RGB into NVMM memory first.
* ``null``   - fakesink: frames are made and paced but shown nowhere. Benchmarks use it as the
  stand-in for a display headless, so they measure the player and not an encoder.

Display sinks run with sync=false: the player paces frames to the wall clock itself, and two
clocks pacing the same frames would add jitter.

With ``audio=True`` a second appsrc carries the show's sound (audio.CAPS, one chunk per
frame): ALAC in the MP4 (lossless and without the ~1024-sample encoder delay of AAC, so
sound stays sample-aligned with the picture), or the default sound device for live outputs.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import numpy as np

from . import audio as _audio
from . import glgrade
from .gst import Gst, fps_fraction, set_file, set_thread_nice
from .output_names import outputs_of, parse_output

log = logging.getLogger(__name__)

PIPELINES: dict[str, str] = {
    "file": "video/x-raw,format=I420 ! x264enc speed-preset=ultrafast ! mp4mux name=mux ! "
            "filesink name=fsink",
    "window": "autovideosink sync=false",
    "kms": "kmssink sync=false",
    "nv3d": "nvvidconv ! nv3dsink sync=false",
    "null": "fakesink sync=false",
}
FRAGMENT_MS = 1000  # what a recording cut short loses at most (and the encoder's delay)
KEEP_RECORDINGS = 3  # earlier recordings a host keeps beside its file output (keep_last)
# mp4mux takes no H.264 under 16x16 ("not-negotiated"): the appsrc's queue then fills and
# push-buffer blocks for good, so a file output refuses a smaller picture up front.
MIN_FILE_SIDE = 16
# The queue lets the muxer wait for x264's first frames without blocking the sound.
AUDIO_SINKS: dict[str, str] = {
    "file": "queue max-size-buffers=0 max-size-bytes=0 max-size-time=10000000000 ! "
            "audioconvert ! audio/x-raw,format=S16LE ! avenc_alac ! mux.",
    "window": "audioresample ! autoaudiosink sync=false",
    "kms": "audioresample ! autoaudiosink sync=false",
    "nv3d": "audioresample ! autoaudiosink sync=false",
    "null": "fakesink sync=false",
}


def _fragmented(mux) -> None:
    """Fragments while recording, one plain MP4 at the end; GStreamer before 1.20 has no
    such mode (fragments alone would stay fragments): its file is indexed at the EOS only."""
    if mux.find_property("fragment-mode") is not None:
        mux.set_property("fragment-duration", FRAGMENT_MS)
        Gst().util_set_object_arg(mux, "fragment-mode", "first-moov-then-finalise")


def keep_last(output: str | list[str]) -> list[Path]:
    """A host started again (systemd, after a crash) would write its recording over the
    last show's: each file output's earlier recording is moved beside it, named by when it
    was last written, and only the newest KEEP_RECORDINGS such are kept. Returns the
    recordings kept now."""
    kept = []
    for o in outputs_of(output):
        path = parse_output(o)[1]  # "auto" too, where it comes to a file
        if path is None or not path.is_file() or not path.stat().st_size:
            continue
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(path.stat().st_mtime))
        aside = path.with_name(f"{path.stem}.{stamp}{path.suffix}")
        os.replace(path, aside)
        kept.append(aside)
        named = re.compile(re.escape(path.stem) + r"\.\d{8}-\d{6}" + re.escape(path.suffix))
        older = sorted(p for p in path.parent.iterdir() if named.fullmatch(p.name))
        for p in older[:-KEEP_RECORDINGS]:
            p.unlink(missing_ok=True)
    return kept


class OutputError(RuntimeError):
    """No output of the chain could open. Exit status 78 (EX_CONFIG): the service unit does
    not restart on it (RestartPreventExitStatus=78), so a missing display cannot crash-loop."""

    exit_code = 78


class VideoWriter:
    """Push RGB frames with explicit PTS into an output pipeline; close() finalises it."""

    def __init__(self, output: str, width: int, height: int, fps: float, audio: bool = False,
                 gl_lut_size: int | None = None):
        """gl_lut_size: grade on the GPU (glgrade.py) with an n^3 table passed to each push."""
        Gst_ = Gst()
        self.kind, path = parse_output(output)
        self.width, self.height = int(width), int(height)
        if self.kind == "file" and min(self.width, self.height) < MIN_FILE_SIDE:
            raise OutputError(f"a file output needs {MIN_FILE_SIDE}x{MIN_FILE_SIDE} pixels at "
                              f"least (H.264 in MP4), not {self.width}x{self.height}")
        self.gl_lut_size = gl_lut_size
        f = fps_fraction(fps)
        fmt, h, grade = "RGB", self.height, ""
        if gl_lut_size:
            fmt, h = "RGBA", self.height + glgrade.lut_rows(self.width, gl_lut_size)
            grade = glgrade.pipeline(self.width, self.height, gl_lut_size) + " ! "
        caps = (f"video/x-raw,format={fmt},width={self.width},height={h},"
                f"framerate={f.numerator}/{f.denominator},pixel-aspect-ratio=1/1")
        desc = (f"appsrc name=src format=time is-live=false block=true max-bytes="
                f"{self.width * h * 4 * 8} caps={caps} ! {grade}videoconvert ! "
                + PIPELINES[self.kind])
        if audio:
            desc += (f" appsrc name=asrc format=time is-live=false block=true max-bytes="
                     f"{_audio.RATE * _audio.CHANNELS * 4 * 4} caps={_audio.CAPS} ! "
                     "audioconvert ! " + AUDIO_SINKS[self.kind])
        try:
            self.pipe = Gst_.parse_launch(desc)
        except Exception as e:  # GLib.GError: an element this machine lacks
            raise OutputError(f"cannot build {self.kind} output: {getattr(e, 'message', e)}") \
                from None
        set_thread_nice(self.pipe, 0)  # a pooled thread a decoder had may come back to us
        if gl_lut_size:
            self.pipe.get_by_name("lutshader").set_property(
                "fragment", glgrade.fragment_shader(self.width, self.height, gl_lut_size))
        self._packed: np.ndarray | None = None
        self._captioned = False
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise OutputError(f"cannot create {path.parent}: {e.strerror}") from None
            set_file(self.pipe.get_by_name("fsink"), path)
            _fragmented(self.pipe.get_by_name("mux"))
        self.path = path
        self.src = self.pipe.get_by_name("src")
        self.asrc = self.pipe.get_by_name("asrc") if audio else None
        if self.pipe.set_state(Gst_.State.PLAYING) == Gst_.StateChangeReturn.FAILURE:
            why = self.error()
            self.pipe.set_state(Gst_.State.NULL)
            raise OutputError(f"cannot start {self.kind} output" + (f": {why}" if why else ""))
        self._closed = False
        self._stopped: str | None = None  # the error that stopped the pipeline mid-stream

    @classmethod
    def open_chain(cls, output: str | list[str], *args, on_fault=None, **kw) -> "VideoWriter":
        """The first output of the chain that opens; each one that does not is logged and
        told to `on_fault(event)` (the show makes it a dashboard alert)."""
        chain, why = outputs_of(output), []
        for i, o in enumerate(chain):
            try:
                return cls(o, *args, **kw)
            except OutputError as e:
                why.append(f"{o}: {e}")
                nxt = chain[i + 1] if i + 1 < len(chain) else None
                log.error("output %s cannot open (%s)%s", o, e,
                          f"; trying {nxt}" if nxt else "")
                if on_fault:
                    on_fault({"event": "output_fault", "output": o, "why": str(e),
                              "next": nxt})
        raise OutputError("no output could open: " + "; ".join(why))

    def push(self, rgb: np.ndarray, pts_s: float, duration_s: float,
             table: np.ndarray | None = None) -> None:
        """One frame; on a GL output also the (n,n,n,3) table to grade it with."""
        depth = (3, 4) if self.gl_lut_size else (3,)  # GL: RGBA carries captions (glgrade)
        if rgb.shape not in [(self.height, self.width, d) for d in depth] \
                or rgb.dtype != np.uint8:
            raise ValueError(f"frame must be {self.height}x{self.width}x3 uint8, got "
                             f"{rgb.shape} {rgb.dtype}")
        Gst_ = Gst()
        if self.gl_lut_size:
            n = self.gl_lut_size
            if table is None or table.shape != (n, n, n, 3):
                raise ValueError(f"a GL output needs a {n}^3 table with every frame")
            self._packed = glgrade.pack(rgb, table, self._packed, self._captioned)
            self._captioned = rgb.shape[2] == 4  # its alpha holds captions (glgrade.pack)
            rgb = self._packed
        buf = Gst_.Buffer.new_wrapped(np.ascontiguousarray(rgb).tobytes())
        buf.pts = int(round(pts_s * Gst_.SECOND))
        buf.duration = int(round(duration_s * Gst_.SECOND))
        self._wait_for_room(self.src)
        ret = self.src.emit("push-buffer", buf)
        if ret != Gst_.FlowReturn.OK:
            raise RuntimeError(f"{self.kind} output refused a frame: {ret.value_nick}")

    def push_audio(self, pcm: np.ndarray, pts_s: float) -> None:
        """Interleaved float32 samples (n x CHANNELS) starting at pts_s."""
        if self.asrc is None:
            raise RuntimeError("this output was opened without audio")
        Gst_ = Gst()
        pcm = np.ascontiguousarray(pcm, np.float32)
        buf = Gst_.Buffer.new_wrapped(pcm.tobytes())
        buf.pts = int(round(pts_s * Gst_.SECOND))
        buf.duration = int(round(len(pcm) * Gst_.SECOND / _audio.RATE))
        self._wait_for_room(self.asrc)
        ret = self.asrc.emit("push-buffer", buf)
        if ret != Gst_.FlowReturn.OK:
            raise RuntimeError(f"{self.kind} output refused sound: {ret.value_nick}")

    def _wait_for_room(self, src) -> None:
        """Wait while src's queue is full, reading the bus: a pipeline stopped by an error
        (a full disk, a display gone) never drains it, and push-buffer would block for good."""
        while src.get_property("current-level-bytes") >= src.get_property("max-bytes"):
            why = self.error(5 * Gst().MSECOND)
            if why:
                self._stopped = why
                raise RuntimeError(f"{self.kind} output stopped: {why}")

    def error(self, wait_ns: int = 0) -> str | None:
        from .gst import bus_error

        return bus_error(self.pipe, wait_ns)

    def close(self, timeout_s: float = 20.0) -> bool:
        """Send EOS and wait for it to reach the sink (MP4 index written); True if clean."""
        if self._closed:
            return True
        self._closed = True
        Gst_ = Gst()
        if self._stopped:  # no EOS can come through a stopped pipeline
            log.error("%s output did not finish cleanly: %s", self.kind, self._stopped)
            self.pipe.set_state(Gst_.State.NULL)
            return False
        self.src.emit("end-of-stream")
        if self.asrc is not None:
            self.asrc.emit("end-of-stream")
        msg = self.pipe.get_bus().timed_pop_filtered(
            int(timeout_s * Gst_.SECOND), Gst_.MessageType.EOS | Gst_.MessageType.ERROR)
        ok = msg is not None and msg.type == Gst_.MessageType.EOS
        if not ok:
            why = msg.parse_error()[0].message if msg is not None else "timed out"
            log.error("%s output did not finish cleanly: %s", self.kind, why)
        self.pipe.set_state(Gst_.State.NULL)
        return ok
