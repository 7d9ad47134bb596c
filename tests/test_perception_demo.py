"""`empathy demo --face-video`: one seat's face camera is a video file, end to end."""

from __future__ import annotations

import glob
import json
import sqlite3
import subprocess
import sys

import cv2
import numpy as np
import pytest

skdata = pytest.importorskip("skimage.data")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_with_a_face_video(tmp_path):
    video = tmp_path / "face.avi"
    bgr = cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    for i in range(30):  # the viewer sways a little
        f = np.full((480, 640, 3), 40, np.uint8)
        x = 64 + int(20 * np.sin(i / 5))
        f[:, x:x + 512] = cv2.resize(bgr, (512, 480))
        w.write(f)
    w.release()
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "demo", "--seats", "2",
                        "--duration", "6", "--baseline", "2", "--face-video", str(video),
                        "--out", str(out), "--json"], capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, r.stderr[-2000:]
    stats = json.loads((out / "edge" / "unit1.stats.json").read_text())
    assert stats["readings"] > 20  # video frames reached seat 1's edge unit
    # seat 1's packets carry the smiling astronaut's expression (happy = 3)
    db = glob.glob(str(out / "session" / "*.db"))
    if db:
        # stored unit ids are per-session stand-ins: seat 1 is found by its seat pseudonym
        seat1 = json.loads((out / "edge" / "seat_pseudonyms.json").read_text())["1"]
        rows = sqlite3.connect(db[0]).execute(
            "select expression from samples where seat_id = ?", (seat1,)).fetchall()
        late = [e for (e,) in rows[len(rows) // 2:]]
        assert late and np.mean(np.array(late) == 3) > 0.8
