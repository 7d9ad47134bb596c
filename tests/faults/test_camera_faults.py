"""A face camera disappears mid-show and comes back: the camera is a real GStreamer
producer process serving MJPEG on a local TCP port (an IP camera), read by the edge unit's
`camera://` source through `tcpclientsrc`; killing the producer is the camera vanishing,
starting it again on the same port is plugging it back in."""

import signal
import socket
import subprocess
import time
from urllib.parse import quote

import cv2
import numpy as np
import pytest

from conftest import assert_screen_alive, free_port, wait_for

W, H, FPS = 320, 240, 15


def face_image(path):
    skdata = pytest.importorskip("skimage.data")
    bgr = cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)
    frame = np.full((H, W, 3), 40, np.uint8)
    frame[:, 40:280] = cv2.resize(bgr, (240, H))
    cv2.imwrite(str(path), frame)


class Camera:
    """gst-launch: a still face, live at 15 fps, as MJPEG on a TCP port."""

    def __init__(self, image):
        self.image, self.port, self.proc = image, free_port(socket.SOCK_STREAM), None

    def plug(self):
        self.proc = subprocess.Popen(
            ["gst-launch-1.0", "-q", "multifilesrc", f"location={self.image}", "loop=true",
             f"caps=image/jpeg,framerate={FPS}/1", "!", "multipartmux", "!", "tcpserversink",
             "host=127.0.0.1", f"port={self.port}", "sync=true"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def serving():  # a picture arrives, not only a listening port
            try:
                with socket.create_connection(("127.0.0.1", self.port), 2) as c:
                    return len(c.recv(4096)) > 0
            except OSError:
                return False

        wait_for(serving, 30, "the camera serving pictures")

    def pull_out(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def face_ok(cinema, seat) -> bool:
    """The seat's samples are fresh and carry a face (its only quality bit here)."""
    s = next((s for s in cinema.state()["seats"] if s["seat"] == seat), None)
    return bool(s and s["age_s"] < 1.0 and s["quality"] > 0)


@pytest.mark.slow
def test_face_camera_disappears_and_comes_back(cinema_factory, tmp_path):
    image = tmp_path / "face.jpg"
    face_image(image)
    cam = Camera(image)
    cam.plug()
    pipeline = (f"tcpclientsrc host=127.0.0.1 port={cam.port} do-timestamp=true ! "
                f"multipartdemux ! jpegdec")
    try:
        cinema = cinema_factory(units=2, seat_sources={
            2: f"camera://usb/0?role=face&pipeline={quote(pipeline)}"})
        cinema.start()
        cinema.wait_all_heard()
        cinema.wait_film_s(3)
        # a face seen first (a camera-only seat's quality is its face), then pulled out
        wait_for(lambda: face_ok(cinema, 102), 60, "a face from the camera seat")
        cam.pull_out()
        gone_at = time.monotonic()
        quiet = wait_for(lambda: [e for e in cinema.tap.health("sensor_quiet", gone_at)
                                  if e["seat"] == 102 and e["sensor"] == "face"], 15,
                         "sensor_quiet (face) on the API")
        assert cinema.hearing(2) and cinema.hearing(1)  # the unit itself goes on
        time.sleep(2)
        cam.plug()
        back_at = time.monotonic()
        wait_for(lambda: [e for e in cinema.tap.health("sensor_back", back_at)
                          if e["seat"] == 102 and e["sensor"] == "face"], 10,
                 "sensor_back (face) on the API")
        back_s = time.monotonic() - back_at
        cinema.wait_film_s(14)
        cinema.stop_host()
        assert_screen_alive(cinema.frames(), cinema.screen())
        print(f"camera: quiet {quiet}, face back on the API {back_s:.2f} s after replug")
        assert back_s <= 5.0
    finally:
        cam.close()
