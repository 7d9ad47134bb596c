"""An image sequence's frame reader cannot stall the show: a frame whose read raises anything
(out of memory, a decoder's own error) is a bad frame, held and said once with its type and
file, while the readers go on; and no decoder opens a frame by its name (a FIFO swapped in
after the reader's check held Pillow's open() for ever)."""

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Plays s.%04d.png (8 frames of WxH, their numbers drawn as tests/numbered.py draws them;
# 1005 with PAD bytes after its end, as a file with a huge metadata block): once as it is,
# then with the address space limited to what the first play used and a margin smaller
# than PAD, so that reading 1005 (a fresh PAD-byte allocation) fails as it would on a host
# out of memory. A thread that dies says so and ends the process: the show would stall.
MEMORY = """import os, resource, sys, threading
os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])  # 2 readers, any machine
sys.path.insert(0, sys.argv[2])
import logging
from pathlib import Path
import cv2, numpy as np
from numbered import frame_number, numbered_frame
from empathy.host.player.decode import read_frames

logging.basicConfig(level=logging.WARNING, format="%(message)s")
shot, W, H, PAD, MARGIN = Path(sys.argv[1]), 1280, 720, 70 << 20, 32 << 20
shot.mkdir()
for i in range(1, 9):
    f = np.full((H, W, 3), 30, np.uint8)
    f[:96, :160] = numbered_frame(i)
    cv2.imwrite(str(shot / f"s.{1000 + i}.png"), f)
with open(shot / "s.1005.png", "r+b") as fh:
    fh.truncate(fh.seek(0, 2) + PAD)


def died(a):
    print("DIED", a.thread.name, a.exc_type.__name__, flush=True)
    os._exit(3)


threading.excepthook = died
play = lambda: [frame_number(f.rgb) for f in read_frames(shot / "s.%04d.png", fps=25, rate=25)]
print("FREE", play(), flush=True)
vm = next(int(s.split()[1]) for s in open("/proc/self/status") if s.startswith("VmSize"))
resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + MARGIN, resource.RLIM_INFINITY))
print("LIMITED", play(), flush=True)
"""


def test_a_frame_out_of_memory_is_held_and_the_show_goes_on(tmp_path):
    """A MemoryError reading one frame ended the read-ahead thread: no frame and no end
    came, and the decoder said "stalled" (red35)."""
    r = subprocess.run([sys.executable, "-c", MEMORY, str(tmp_path / "s"), str(TESTS)],
                       capture_output=True, text=True, timeout=300)
    assert "DIED" not in r.stdout and r.returncode == 0, r.stdout + r.stderr[-3000:]
    said = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert json.loads(said["FREE"]) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert json.loads(said["LIMITED"]) == [1, 2, 3, 4, 4, 6, 7, 8]  # 1005 held, then on
    assert r.stderr.count("s.1005.png: MemoryError") == 1, r.stderr  # said once


# Reads a PNG and a TIFF sequence with every open() of a frame file listed: how (by name,
# or os.open with its flags) and from where.
OPENS = """import json, os, sys
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from imgseq_media import make_sequence
from empathy.host.player.decode import read_frames

opens = []
sys.addaudithook(lambda event, args: event == "open" and "/shot" in str(args[0])
                 and opens.append([str(args[0]), args[1], args[2]]))
n = 0
for ext in ("png", "tif"):
    shot = make_sequence(Path(sys.argv[1]), f"shot_{ext}", range(1, 4), ext)
    n += len(list(read_frames(shot / f"shot_{ext}.%04d.{ext}", fps=25, rate=25)))
print(json.dumps([n, opens]))
"""


def test_no_frame_is_opened_by_name_by_a_decoder(tmp_path):
    """Pillow opened each still by its name after the reader's own non-blocking open and
    check: a frame swapped for a FIFO between the two held Pillow's open() for ever."""
    r = subprocess.run([sys.executable, "-c", OPENS, str(tmp_path), str(TESTS)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    n, opens = json.loads(r.stdout.splitlines()[-1])
    frames = [o for o in opens if o[0].endswith((".png", ".tif"))]
    assert n == 6 and len({o[0] for o in frames}) == 6, frames
    blocking = [o for o in frames if o[1] is not None or not o[2] & os.O_NONBLOCK]
    assert not blocking, blocking
