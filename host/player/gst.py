"""GStreamer plumbing shared by decoding, encoding and the player."""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np

_lock = threading.Lock()
_ready = False


def Gst():  # noqa: N802 - returns the Gst module, imported lazily so the CLI stays fast
    global _ready
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


def fps_fraction(fps: float) -> Fraction:
    """25 -> 25/1, 29.97 -> 30000/1001: the caps GStreamer expects."""
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return Fraction(fps).limit_denominator(1001)


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
        if wide:
            return rows[:, : w * 8].view("<u2").reshape(h, w, 4)[..., :3].copy()
        return rows[:, : w * 3].reshape(h, w, 3).copy()
    finally:
        buf.unmap(mi)


def to_8bit(frame: np.ndarray) -> np.ndarray:
    """uint16 RGB -> uint8 with rounding (65535 -> 255); uint8 passes through."""
    if frame.dtype == np.uint8:
        return frame
    return ((frame.astype(np.uint32) + 128) // 257).astype(np.uint8)
