"""An image sequence still plays when no reader thread can be started at its clip's start
(memory or threads exhausted): pool.submit raised RuntimeError, the frames thread died,
and neither a frame nor an end came (the show stalled). The frames are read on the frames
thread itself, said once."""

import json
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Plays s.%04d.png (8 numbered 160x96 frames) once as it is, then with every new Python
# thread given a 64 MB stack and the address space limited, as the frames thread opens
# its first frame (before it starts a reader), to what is mapped then and 16 MB: a
# reader's stack cannot be mapped, so starting one fails for real ("can't start new
# thread"). One core: one reader, and GStreamer's scaler starts no threads of its own.
NO_THREADS = """import json, os, resource, sys, threading
os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:1])
sys.path.insert(0, sys.argv[2])
import logging
from pathlib import Path
from imgseq_media import make_sequence
from numbered import frame_number
from empathy.host.player.decode import read_frames

logging.basicConfig(level=logging.WARNING, format="%(message)s")
shot = make_sequence(Path(sys.argv[1]), "s", range(1, 9))
threading.excepthook = lambda a: (print("DIED", a.thread.name, a.exc_type.__name__,
                                        flush=True), os._exit(3))
play = lambda: [frame_number(f.rgb) for f in read_frames(shot / "s.%04d.png", fps=25, rate=25)]
print("FREE", play(), flush=True)
threading.stack_size(64 << 20)
limited = []


def limit(event, args):  # the frames thread opening its first frame: no reader yet
    name = threading.current_thread().name
    if event == "open" and name.startswith("frames-") and not limited:
        limited.append(name)
        vm = next(int(s.split()[1]) for s in open("/proc/self/status")
                  if s.startswith("VmSize"))
        resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + (16 << 20), resource.RLIM_INFINITY))


sys.addaudithook(limit)
print("LIMITED", play(), flush=True)
print("BY", json.dumps(limited), flush=True)
"""


def test_a_sequence_plays_when_no_reader_thread_can_start(tmp_path):
    r = subprocess.run([sys.executable, "-c", NO_THREADS, str(tmp_path), str(TESTS)],
                       capture_output=True, text=True, timeout=300)
    assert "DIED" not in r.stdout and r.returncode == 0, r.stdout + r.stderr[-3000:]
    said = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert json.loads(said["FREE"]) == list(range(1, 9))
    assert len(json.loads(said["BY"])) == 1  # limited as the frames thread began reading
    assert json.loads(said["LIMITED"]) == list(range(1, 9))  # every frame, none black
    # said once, with the error a thread that cannot be mapped truly gives
    assert r.stderr.count("no reader thread could be started (can't start new thread)") == 1, \
        r.stderr
