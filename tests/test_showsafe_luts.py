"""A host start reads each of its story's LUTs once: the story check and the grade share the
parsed file (each read of the sample story's ~50 ms; a cinema restarts its host mid-show
after a fault, and the screen waits for it), and a LUT edited since is read again."""

import json
import os
import subprocess
import sys
from pathlib import Path

import tomli_w

from empathy.host.player.lutfile import read_lut
from empathy.host.sample.render import ensure
from empathy.keys import Keystore

STORY = Path(__file__).resolve().parents[1] / "host" / "sample" / "neon_rain.toml"
# `empathy ARGS` with every open() of a .cube file counted (Python's audit events)
RUNNER = """import collections, json, runpy, sys
out, sys.argv = sys.argv[1], ["empathy", *sys.argv[2:]]
opened = collections.Counter()
sys.addaudithook(lambda event, args: event == "open" and str(args[0]).endswith(".cube")
                 and opened.update([str(args[0])]))
try:
    runpy.run_module("empathy.cli", run_name="__main__")
finally:
    with open(out, "w") as f:
        json.dump(opened, f)
"""


def test_a_host_start_reads_each_lut_once(tmp_path):
    """It read the sample story's five LUTs twice each (10 parses, ~0.5 CPU-s a start)."""
    keys, cfg = tmp_path / "host.keys.toml", tmp_path / "host.toml"
    Keystore.new([1]).save(keys)
    show = {"listen": "udp://127.0.0.1:0", "output": "null", "fps": 10.0}
    cfg.write_text(tomli_w.dumps({"keystore": str(keys), "story": str(STORY), "show": show,
                                  "media_root": str(ensure()), "duration_s": 1.0,
                                  "frame_log": str(tmp_path / "frames.csv"),
                                  "state_dir": str(tmp_path), "session": {"enabled": False}}))
    out = tmp_path / "opened.json"
    r = subprocess.run([sys.executable, "-c", RUNNER, str(out), "host", "run", "--config",
                        str(cfg)], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    opened = json.loads(out.read_text())
    assert len(opened) == 5 and set(opened.values()) == {1}, opened
    assert (tmp_path / "frames.csv").read_text().count("\n") > 1  # it played, graded


def cube(v: float) -> str:
    """A 2-point .cube whose blue corner is `v`."""
    return "LUT_3D_SIZE 2\n" + "".join(f"{r} {g} {b}\n" for b in (0, v) for g in (0, 1)
                                       for r in (0, 1))


def test_a_kept_lut_edited_or_replaced_is_read_again(tmp_path):
    lut = tmp_path / "look.cube"
    lut.write_text(cube(0.5))
    first = read_lut(lut, keep=True)
    assert read_lut(lut, keep=True) is first  # unchanged: the parsed file again
    assert read_lut(lut) is not first  # not asked to keep: read
    st = lut.stat()
    lut.write_text(cube(0.7))  # edited in place, the same size
    os.utime(lut, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    edited = read_lut(lut, keep=True)
    assert edited is not first and edited.lut3d.max() == 1.0 and 0.7 in edited.lut3d
    new = tmp_path / "new.cube"
    new.write_text(cube(0.3))
    os.utime(new, ns=(st.st_atime_ns, lut.stat().st_mtime_ns))  # same size and time
    os.replace(new, lut)  # saved as a new file over it (what editors do): another inode
    assert 0.3 in read_lut(lut, keep=True).lut3d
