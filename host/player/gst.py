"""GStreamer plumbing shared by decoding, encoding and the player."""

from __future__ import annotations

import logging
import os
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np

from empathy.plots import before_gstreamer

log = logging.getLogger(__name__)
_lock = threading.Lock()
_ready = False
_BASE_NICE = os.getpriority(os.PRIO_PROCESS, os.getpid())  # the main thread's
_can_restore: bool | None = None


def Gst():  # noqa: N802 - returns the Gst module, imported lazily so the CLI stays fast
    global _ready
    if not _ready:
        before_gstreamer()
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstVideo", "1.0")
    from gi.repository import Gst as _Gst

    with _lock:
        if not _ready:
            _Gst.init(None)
            _ready = True
    return _Gst


def GstVideo():  # noqa: N802
    Gst()
    from gi.repository import GstVideo as _GstVideo

    return _GstVideo


def _renice_allowed() -> bool:
    """Whether this process may lower a nice value again (CAP_SYS_NICE or LimitNICE)."""
    if _can_restore is None:
        def probe():
            global _can_restore
            tid = threading.get_native_id()
            try:
                os.setpriority(os.PRIO_PROCESS, tid, _BASE_NICE + 1)
                os.setpriority(os.PRIO_PROCESS, tid, _BASE_NICE)
                _can_restore = True
            except OSError:
                _can_restore = False
                log.info("decoders run at normal priority: this process may not restore a "
                         "nice value (give it CAP_SYS_NICE, or LimitNICE in its service unit)")
        t = threading.Thread(target=probe, name="nice-probe")
        t.start()
        t.join()
    return bool(_can_restore)


def renice_this_thread(extra: int) -> None:
    """Run the calling thread `extra` steps nicer than the process (0: back to normal);
    only where it can be undone, since threads it starts (GLib's pooled ones) inherit it."""
    if not _renice_allowed():
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _BASE_NICE + extra)
    except OSError as e:  # not fatal: the show plays, with less protection under load
        log.debug("cannot renice thread: %s", e)


def set_thread_nice(pipeline, extra: int) -> None:
    """Run the pipeline's streaming threads `extra` steps nicer (codec threads they start
    inherit it). Streaming threads are pooled and shared between pipelines, so each gets the
    normal value back when its task ends, and an `extra` of 0 puts a reused one right; where
    a nice value cannot be lowered again, nothing is changed at all."""
    if not _renice_allowed():
        return
    Gst_ = Gst()

    def on_status(_bus, msg):  # a sync handler runs in the posting thread: the task's own
        if msg.type == Gst_.MessageType.STREAM_STATUS:
            kind, _owner = msg.parse_stream_status()
            if kind == Gst_.StreamStatusType.ENTER:
                renice_this_thread(extra)
            elif kind == Gst_.StreamStatusType.LEAVE and extra:
                renice_this_thread(0)
        return Gst_.BusSyncReply.PASS

    pipeline.get_bus().set_sync_handler(on_status)


def fps_fraction(fps: float) -> Fraction:
    """25 -> 25/1, 29.97 -> 30000/1001: the caps GStreamer expects."""
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return Fraction(fps).limit_denominator(1001)


def set_file(element, path) -> None:
    """A filesrc's or filesink's file, as a file:// URI: the location property takes UTF-8
    text only, a URI any bytes a name holds (a folder named in Latin-1)."""
    if not element.set_uri(Path(path).resolve().as_uri()):
        raise ValueError(f"{path}: {element.get_name()} does not take it")


def bus_error(pipeline, timeout_ns: int = 0) -> str | None:
    """First ERROR on the pipeline's bus, as text, or None."""
    Gst_ = Gst()
    bus = pipeline.get_bus()
    msg = bus.timed_pop_filtered(timeout_ns, Gst_.MessageType.ERROR)
    if msg is None:
        return None
    err, dbg = msg.parse_error()
    return f"{err.message} ({msg.src.get_name() if msg.src else '?'})"


def sample_to_array(sample) -> np.ndarray:
    """Copy a decoded sample into an HxWx3 array, honouring row stride.

    RGB gives uint8; RGBA64_LE (what the decoder asks for when the source has more than
    8 bits) gives uint16 with alpha dropped, so 10-bit pictures reach the grade intact.
    """
    caps = sample.get_caps()
    info = GstVideo().VideoInfo.new_from_caps(caps)
    w, h, stride = info.width, info.height, info.stride[0]
    wide = info.finfo.format == GstVideo().VideoFormat.RGBA64_LE
    buf = sample.get_buffer()
    ok, mi = buf.map(Gst().MapFlags.READ)
    if not ok:
        raise RuntimeError("cannot map decoded buffer")
    try:
        rows = np.frombuffer(mi.data, np.uint8, count=stride * h).reshape(h, stride)
        if wide:  # OpenCV drops the alpha: numpy's strided copy took 10.6 ms at 1080p, it 0.8
            import cv2

            return cv2.cvtColor(rows[:, : w * 8].view("<u2").reshape(h, w, 4),
                                cv2.COLOR_RGBA2RGB)
        return rows[:, : w * 3].reshape(h, w, 3).copy()
    finally:
        buf.unmap(mi)


def to_8bit(frame: np.ndarray) -> np.ndarray:
    """uint16 RGB -> uint8 with rounding (65535 -> 255); uint8 passes through."""
    if frame.dtype == np.uint8:
        return frame
    # round(x / 257): OpenCV's saturating convert rounds to nearest, and x / 257 never lies
    # within float error of a half (tests/test_playback_deep.py checks all 65536 values).
    # 1080p: 6.7 CPU ms in numpy's integer steps, 0.8 here, on the play thread of every
    # deep source (10-bit ProRes, DPX, EXR) before its grade
    import cv2

    return cv2.convertScaleAbs(frame, alpha=1 / 257)
