"""Cameras: platform pipelines, real GStreamer pipelines (videotestsrc, a video file),
capture-clock timestamps, the IR eye role, clear errors for missing plugins/devices."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from empathy.clock import now_us
from empathy.sensors.base import Frame, SourceError, open_source
from empathy.sensors.camera import detect_platform, pipeline_for


def read_frames(src, n, max_reads=400) -> list[Frame]:
    out = []
    for _ in range(max_reads):
        out += src.read(0.1)
        if len(out) >= n or getattr(src, "finished", False):
            break
    return out


def test_platform_detection_and_pipelines():
    assert detect_platform("Raspberry Pi 5 Model B Rev 1.0\x00", False) == "pi"
    assert detect_platform("NVIDIA Jetson Orin Nano Developer Kit", False) == "jetson"
    assert detect_platform("", True) == "jetson"
    assert detect_platform("", False) == "usb"
    usb, live = pipeline_for("camera://usb/2", {"fps": "60"})
    assert usb.startswith("v4l2src device=/dev/video2") and "framerate=60/1" in usb and live
    jet, _ = pipeline_for("camera://jetson/1", {"role": "eye"})
    assert "nvarguscamerasrc sensor-id=1" in jet and "format=GRAY8" in jet
    assert pipeline_for("camera://pi/0", {})[0].startswith("libcamerasrc")
    own, _ = pipeline_for("camera://usb/0", {"pipeline": "videotestsrc pattern=snow"})
    assert own.startswith("videotestsrc pattern=snow ! videoconvert")  # config overrides
    with pytest.raises(SourceError, match="role must be face or eye"):
        pipeline_for("camera://usb/0", {"role": "nose"})
    with pytest.raises(SourceError, match="unknown camera kind"):
        pipeline_for("camera://webcam/0", {})


def test_live_test_camera_frames_stamped_by_capture_clock():
    t0 = now_us()
    src = open_source("camera://test?width=160&height=120&fps=30")
    try:
        frames = read_frames(src, 15)
    finally:
        src.close()
    assert len(frames) >= 15 and all(f.role == "face" for f in frames)
    assert frames[0].image.shape == (120, 160, 3) and frames[0].image.dtype == np.uint8
    periods = np.diff([f.ts_us for f in frames]) / (1e6 / 30)
    # stamps come from buffer PTS on the pipeline clock, not from when we pulled them: whole
    # frame periods to the microsecond (a frame dropped under load skips one period)
    assert np.all(np.round(periods) >= 1) and np.allclose(periods, np.round(periods), atol=1e-4)
    assert t0 <= frames[0].ts_us <= frames[-1].ts_us <= now_us()


def test_eye_camera_is_grey_and_odd_widths_are_unpadded():
    src = open_source("camera://test?role=eye&width=162&height=81&fps=30&pattern=snow")
    try:
        f = read_frames(src, 1)[0]
    finally:
        src.close()
    assert f.role == "eye" and f.image.shape == (81, 162)  # GRAY8 rows padded to 164 bytes


def test_file_camera_plays_every_frame_with_its_timing(tmp_path):
    video = tmp_path / "face.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=96x64:rate=25", "-t", "1", "-pix_fmt", "yuv420p", str(video)],
                   check=True, timeout=60)
    src = open_source(f"camera://file{video}")
    try:
        frames = read_frames(src, 1000)
    finally:
        src.close()
    assert src.finished and len(frames) == 25
    assert frames[0].image.shape == (64, 96, 3)
    assert set(np.diff([f.ts_us for f in frames])) == {40000}


def test_missing_plugin_device_and_file_are_clear_errors(tmp_path):
    with pytest.raises(SourceError, match="libcamerasrc.*gstreamer1.0-libcamera"):
        open_source("camera://pi/0")
    with pytest.raises(SourceError, match="camera would not start"):
        open_source("camera://usb/97")
    with pytest.raises(SourceError, match="no such video file"):
        open_source(f"camera://file{tmp_path}/none.mp4")
