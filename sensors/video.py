"""A video file as a camera: ``video://PATH?role=face&loop=1``.

Plays the file with its own timing (frame i is due at start + its presentation time), as
``Frame`` readings stamped on the unit's clock, so the edge sees what a live camera of the
same frame rate would give. ``role`` is "face" or "eye"; ``loop=1`` starts again at the
end, else the source reports end-of-file with a ``Health`` fault and then stays quiet.
A frame that falls more than a frame period behind is skipped, as a live camera would drop
it, rather than bursting. Frames stay on the edge unit: perception turns them into numbers.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import cv2

from empathy.clock import now_us
from empathy.sensors.base import Frame, Health, Reading, SourceError


class VideoSource:
    def __init__(self, url: str, query: dict, **_):
        self.url = url
        parts = urlsplit(url)
        self.path = Path(unquote(parts.netloc + parts.path))
        self.role = query.get("role", "face")
        if self.role not in ("face", "eye"):
            raise SourceError(f"{url}: role must be face or eye, not {self.role!r}")
        self.loop = query.get("loop", "0") == "1"
        if not self.path.is_file():
            raise SourceError(f"{url}: no such video file {self.path}")
        self.cap = cv2.VideoCapture(str(self.path))
        if not self.cap.isOpened():
            raise SourceError(f"{url}: cannot decode {self.path}")
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.period_us = int(1e6 / fps) if fps and fps > 0 else 40_000
        self.frames = 0
        self.skipped = 0
        self.ended = False
        self._start = now_us()
        self._next = 0  # due time of the next frame, µs after _start

    def _rewind(self) -> bool:
        self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._start = now_us()
        self._next = 0
        return self.cap.grab()

    def read(self, timeout_s: float = 0.1) -> list[Reading]:
        if self.ended:
            time.sleep(timeout_s)
            return []
        out: list[Reading] = []
        deadline = now_us() + int(timeout_s * 1e6)
        while True:
            due = self._start + self._next
            t = now_us()
            if due > t:
                if out:
                    return out
                if due > deadline:  # nothing due within the timeout: wait it out, no spin
                    time.sleep(max(deadline - t, 0) / 1e6)
                    return out
                time.sleep((due - t) / 1e6)
                continue
            ok = self.cap.grab()
            if not ok and self.loop and self.frames:
                ok = self._rewind()
                due = self._start
            if not ok:
                self.ended = True
                out.append(Health(now_us(), f"video:{self.path.name}", fault="end of file"))
                return out
            self._next += self.period_us
            if now_us() - due > self.period_us:  # fell behind: drop, like a live camera
                self.skipped += 1
                continue
            ok, img = self.cap.retrieve()
            if ok:
                self.frames += 1
                out.append(Frame(due, self.role, img))

    def close(self) -> None:
        self.cap.release()
