"""video:// plays a file as a camera, with the file's own timing."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from empathy.sensors.base import Frame, Health, SourceError, open_source


def _write(path, n=6, fps=20.0, size=(160, 120)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert w.isOpened()
    for i in range(n):
        img = np.full((size[1], size[0], 3), 20 + 30 * i, np.uint8)
        w.write(img)
    w.release()
    return path


def _read_all(src, until_s=3.0):
    out, end = [], time.monotonic() + until_s
    while time.monotonic() < end:
        got = src.read(timeout_s=0.05)
        out.extend(got)
        if any(isinstance(r, Health) for r in got):
            break
    return out


def test_frames_come_in_order_with_the_files_timing(tmp_path):
    src = open_source(f"video://{_write(tmp_path / 'face.avi')}?role=face")
    out = _read_all(src)
    src.close()
    frames = [r for r in out if isinstance(r, Frame)]
    assert isinstance(out[-1], Health) and out[-1].fault == "end of file"
    assert len(frames) + src.skipped == 6 and len(frames) >= 3
    assert all(f.role == "face" and f.image.shape == (120, 160, 3) for f in frames)
    steps = np.diff([f.ts_us for f in frames])
    assert np.all(steps % 50_000 == 0) and np.all(steps > 0)  # 20 fps: 50 ms apart
    means = [f.image.mean() for f in frames]
    assert means == sorted(means)  # the file's frame order


def test_loop_starts_again(tmp_path):
    src = open_source(f"video://{_write(tmp_path / 'eye.avi', n=3)}?role=eye&loop=1")
    out = _read_all(src, until_s=0.6)
    src.close()
    assert not any(isinstance(r, Health) for r in out)
    assert sum(isinstance(r, Frame) and r.role == "eye" for r in out) > 3


def test_bad_urls_fail_clearly(tmp_path):
    with pytest.raises(SourceError, match="no such video"):
        open_source(f"video://{tmp_path / 'missing.mp4'}")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(SourceError, match="cannot decode"):
        open_source(f"video://{bad}")
    with pytest.raises(SourceError, match="role"):
        open_source(f"video://{_write(tmp_path / 'x.avi')}?role=ear")


def test_read_waits_instead_of_spinning(tmp_path):
    src = open_source(f"video://{_write(tmp_path / 'slow.avi', n=3, fps=2.0)}?role=face")
    src.read(timeout_s=0.01)  # the first frame is due at once
    t0 = time.monotonic()
    got = src.read(timeout_s=0.1)  # the next is due in 0.5 s
    src.close()
    assert got == [] and time.monotonic() - t0 >= 0.09
