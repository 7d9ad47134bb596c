"""`camera://`: face and IR eye cameras through GStreamer, as `Frame` readings.

    camera://auto/0        the platform's camera 0 (Jetson CSI, Raspberry Pi, else USB)
    camera://usb/0         v4l2src /dev/video0 (USB webcams, IR eye cameras)
    camera://pi/0          libcamerasrc (Raspberry Pi camera modules)
    camera://jetson/0      nvarguscamerasrc sensor-id=0 (Jetson CSI)
    camera://test          videotestsrc (no hardware)
    camera://file/PATH     a video file with its own timing (tests, demos); loop=1 repeats

Query: role (face | eye: eye frames are grey, for pupillometry), width, height, fps, and
pipeline (a full GStreamer source chain that replaces the platform's, e.g. from config).
Frame timestamps come from the capture clock: the buffer's PTS plus the pipeline's base
time, both on GStreamer's monotonic system clock, the same clock as `now_us()`.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import numpy as np

from empathy.clock import now_us
from empathy.sensors.base import Frame, Health, Reading, SourceError
from empathy.whole import whole

log = logging.getLogger("empathy.sensors.camera")

# platform -> source chain producing raw video at {w}x{h}@{fps}
PIPELINES = {
    "usb": "v4l2src device=/dev/video{index} ! decodebin ! videoconvert ! videoscale ! "
           "videorate ! video/x-raw,width={w},height={h},framerate={fps}/1",
    "pi": "libcamerasrc ! video/x-raw,width={w},height={h},framerate={fps}/1",
    "jetson": "nvarguscamerasrc sensor-id={index} ! video/x-raw(memory:NVMM),width={w},"
              "height={h},framerate={fps}/1 ! nvvidconv ! video/x-raw,format=BGRx",
    "test": "videotestsrc is-live=true pattern={pattern} ! "
            "video/x-raw,width={w},height={h},framerate={fps}/1",
    "file": "filesrc location={path} ! decodebin",
}
PLUGIN_HINTS = {"libcamerasrc": "apt install gstreamer1.0-libcamera",
                "nvarguscamerasrc": "part of NVIDIA JetPack (nvidia-l4t-gstreamer)"}
RESTART_S = 1.0
STALL_S = 3.0  # a live camera silent this long without an error is restarted too

_gst_lock = threading.Lock()


def _gst():
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    with _gst_lock:
        if not Gst.is_initialized():
            Gst.init(None)
    return Gst


def detect_platform(model: Optional[str] = None, tegra: Optional[bool] = None) -> str:
    """"jetson", "pi" or "usb", from the device-tree model (or what is given, for tests)."""
    if model is None:
        try:
            model = Path("/proc/device-tree/model").read_text(errors="replace")
        except OSError:
            model = ""
    if tegra is None:
        tegra = os.path.exists("/etc/nv_tegra_release")
    if tegra or "Jetson" in model:
        return "jetson"
    if "Raspberry Pi" in model:
        return "pi"
    return "usb"


def pipeline_for(url: str, query: dict) -> tuple[str, bool]:
    """The full pipeline description for a camera URL, and whether it is a live camera."""
    parts = urlsplit(url)
    kind = parts.netloc or "auto"
    rest = parts.path.lstrip("/")
    role = query.get("role", "face")
    if role not in ("face", "eye"):
        raise SourceError(f"{url}: role must be face or eye, got {role!r}")
    w, h, fps = (whole(query.get(k, d)) for k, d in (("width", "640"), ("height", "480"),
                                                     ("fps", "30")))
    index = whole(rest or "0") if kind not in ("file", "test") else 0
    if None in (w, h, fps, index):  # (int() said "invalid literal for int() with base 10")
        raise SourceError(f"{url}: the camera's number, width, height and fps are whole "
                          "numbers: camera://usb/0?width=640&height=480&fps=30")
    if kind == "auto":
        kind = detect_platform()
    if "pipeline" in query:
        source = query["pipeline"]
    elif kind in PIPELINES:
        if kind == "file" and not Path("/" + rest).is_file():
            raise SourceError(f"{url}: no such video file /{rest}")
        source = PIPELINES[kind].format(index=index, w=w, h=h, fps=fps, path="/" + rest,
                                        pattern=query.get("pattern", "ball"))
    else:
        raise SourceError(f"{url}: unknown camera kind {kind!r} "
                          f"(auto, {', '.join(PIPELINES)})")
    live = kind != "file"
    fmt = "GRAY8" if role == "eye" else "BGR"
    # Live cameras: keep only the newest frames, never stall the sensor. Files: every frame,
    # paced by the clock so they arrive with their original timing.
    sink = ("appsink name=sink max-buffers=2 drop=true sync=false" if live else
            "appsink name=sink max-buffers=4 drop=false sync=true")
    return f"{source} ! videoconvert ! video/x-raw,format={fmt} ! {sink}", live


class CameraSource:
    """Frames from one camera (see the module docstring). A camera that fails is reported
    as Health and restarted; it never takes the edge unit down."""

    def __init__(self, url: str, query: dict, **_):
        self.url = url
        self.role = query.get("role", "face")
        self.loop = query.get("loop", "0") == "1"
        self.description, self.live = pipeline_for(url, query)
        self.frames = 0
        self.restarts = 0
        self.finished = False
        self._restart_at: Optional[int] = None
        self.Gst = _gst()
        self._start()

    def _start(self) -> None:
        Gst = self.Gst
        try:
            self.pipe = Gst.parse_launch(self.description)
        except Exception as e:  # GLib.Error: no such element, bad syntax
            hint = next((f" ({v})" for k, v in PLUGIN_HINTS.items() if k in str(e)), "")
            raise SourceError(f"{self.url}: cannot build camera pipeline: {e}{hint}") from None
        self.sink = self.pipe.get_by_name("sink")
        self.bus = self.pipe.get_bus()
        self.pipe.set_state(Gst.State.PLAYING)
        self._last_frame_us = now_us()
        ok, _, _ = self.pipe.get_state(10 * Gst.SECOND)
        if ok == Gst.StateChangeReturn.FAILURE:
            err = self._bus_error() or "pipeline would not start"
            self.pipe.set_state(Gst.State.NULL)
            raise SourceError(f"{self.url}: camera would not start: {err}")

    def _bus_error(self) -> Optional[str]:
        msg = self.bus.pop_filtered(self.Gst.MessageType.ERROR)
        return msg.parse_error()[0].message if msg else None

    def _frame(self, sample) -> Frame:
        buf = sample.get_buffer()
        s = sample.get_caps().get_structure(0)
        w, h = s.get_value("width"), s.get_value("height")
        ok, info = buf.map(self.Gst.MapFlags.READ)
        try:
            ch = 1 if self.role == "eye" else 3
            stride = len(info.data) // h  # rows may be padded to 4 bytes
            rows = np.frombuffer(info.data, np.uint8).reshape(h, stride)[:, :w * ch]
            img = rows.reshape(h, w, ch).copy() if ch == 3 else rows.copy()
        finally:
            buf.unmap(info)
        ts = now_us()
        if buf.pts != self.Gst.CLOCK_TIME_NONE:
            capture = (self.pipe.get_base_time() + buf.pts) // 1000  # monotonic
            # A source stamped before the pipeline ran (a network camera prerolling) can be
            # seconds off: such a stamp would keep a vanished face fresh. Arrival time then.
            if abs(capture - ts) < 1_000_000:
                ts = capture
        return Frame(ts, self.role, img)

    def read(self, timeout_s: float = 0.1) -> list[Reading]:
        out: list[Reading] = []
        if self._restart_at is not None:
            if now_us() < self._restart_at:
                return out
            self._restart_at = None
            try:
                self._start()
                self.restarts += 1
                out.append(Health(now_us(), self.url, contact=True))
            except SourceError as e:
                log.warning("camera restart failed", extra={"url": self.url, "error": str(e)})
                self._restart_at = now_us() + int(RESTART_S * 1e6)
                return out
        err = self._bus_error()
        if not err and self.live and now_us() - self._last_frame_us > STALL_S * 1e6:
            # Seen with a camera re-plugged while its restart connected: no error, no frames.
            err = f"no frames for {STALL_S:.0f} s"
        if err:
            log.warning("camera failed", extra={"url": self.url, "error": err})
            self.pipe.set_state(self.Gst.State.NULL)
            self._restart_at = now_us() + int(RESTART_S * 1e6)
            return [Health(now_us(), self.url, contact=False, fault=f"camera: {err}")]
        if self.finished:
            return out
        timeout_ns = int(timeout_s * 1e9)
        while True:
            sample = self.sink.emit("try-pull-sample", timeout_ns)
            if sample is None:
                if self.sink.get_property("eos"):  # a file ran out (and was all pulled)
                    if self.loop:
                        self.pipe.seek_simple(self.Gst.Format.TIME, self.Gst.SeekFlags.FLUSH, 0)
                    elif not self.live:  # a live camera that ends went away: restarted
                        self.finished = True
                return out
            out.append(self._frame(sample))
            self.frames += 1
            self._last_frame_us = now_us()
            timeout_ns = 0

    def close(self) -> None:
        self.pipe.set_state(self.Gst.State.NULL)
