"""A broken face model stops an edge unit at its start, not the show once someone sits
down: the real `empathy edge run`, given a bad `expression_model` (truncated, a text file,
a model of another input, a missing path, a folder) or an install whose shipped face-tracker
or iris model is damaged, exits 1 with one line naming the file and what to do, before it
sends a packet. The iris model was loaded only at the first face found: a unit whose face
camera saw an empty seat ran its whole show and exited 0 (the damaged-install case below,
failed before). Counts and exit codes only, no timing."""

import shutil
import socket
import subprocess
import sys

import cv2
import numpy as np
import pytest

from empathy.keys import Keystore
from empathy.models import MODELS_DIR

# The damaged install: a copy of models/ the unit's process takes as its own (the models'
# folder as an install elsewhere would have it), then `empathy edge run`.
RUN = ("import sys; from pathlib import Path; import empathy.models as m; "
       "m.MODELS_DIR = Path(sys.argv.pop(1)); from empathy.cli import main; "
       "sys.exit(main(sys.argv[1:]))")


def _empty_seat_video(path):
    """Two seconds of a face camera looking at an empty seat (no face to find)."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(20):
        w.write(np.full((120, 160, 3), 90 + i, np.uint8))
    w.release()


def _bad_models(folder):
    """name -> (path, what the one line must say) for each kind of bad expression model."""
    fer = (MODELS_DIR / "expression_fer_int8.tflite").read_bytes()
    (folder / "truncated.tflite").write_bytes(fer[:30000])
    (folder / "notes.tflite").write_text("model: expression_fer_int8\n")
    shutil.copy(MODELS_DIR / "face_landmark.tflite", folder / "landmarks.tflite")
    (folder / "dir.tflite").mkdir()
    return {"truncated": (folder / "truncated.tflite", "runtime refused it"),
            "text": (folder / "notes.tflite", "not a TFLite model"),
            "other input": (folder / "landmarks.tflite", "expected input [N,H,W,1]"),
            "missing": (folder / "gone.tflite", "no such file"),
            "folder": (folder / "dir.tflite", "a folder")}


def _unit(tmp_path, rx, seat_source: str, extra: str = "", models_dir=None) -> tuple:
    """(exit code, stderr lines that are not LiteRT's own INFO, datagrams received)."""
    Keystore.new([7]).for_unit(7).save(tmp_path / "unit7.keys.toml")
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'unit_id = 7\nuplink = "udp://127.0.0.1:{rx.getsockname()[1]}"\n'
                   f'keystore = "{tmp_path}/unit7.keys.toml"\nseq_file = "{tmp_path}/seq"\n'
                   f'{extra}[[seats]]\nseat_id = 70\nsource = "{seat_source}"\n')
    argv = ["edge", "run", "--config", str(cfg), "--duration", "3"]
    cmd = ([sys.executable, "-c", RUN, str(models_dir)] if models_dir else
           [sys.executable, "-m", "empathy.cli"]) + argv
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    got = 0
    rx.settimeout(0)
    try:
        while rx.recv(2048):
            got += 1
    except BlockingIOError:
        pass
    said = [ln for ln in p.stderr.splitlines() if not ln.startswith("INFO: ")]
    return p.returncode, said, got


@pytest.fixture
def rx():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield s


@pytest.mark.parametrize("kind", ["truncated", "text", "other input", "missing", "folder"])
def test_a_bad_expression_model_stops_the_start(tmp_path, rx, kind):
    path, why = _bad_models(tmp_path)[kind]
    code, said, sent = _unit(tmp_path, rx, "sim://seat?seed=1",
                             f'expression_model = "{path}"\n')
    assert code == 1 and sent == 0, (code, sent, said)
    assert len(said) == 1 and said[0].startswith("empathy edge run: expression_model: "), said
    assert str(path) in said[0] and why in said[0] and 'expression_model = "auto"' in said[0]


@pytest.mark.parametrize("kind", ["text", "missing", "folder"])
def test_config_check_reads_the_expression_models_first_bytes(tmp_path, kind):
    """`config check` says what the file's first bytes can (not a truncation: the unit's
    start loads the model)."""
    path, why = _bad_models(tmp_path)[kind]
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'unit_id = 7\nkeystore = "{tmp_path}/k.toml"\n'
                   f'expression_model = "{path}"\n')
    Keystore.new([7]).for_unit(7).save(tmp_path / "k.toml")
    p = subprocess.run([sys.executable, "-m", "empathy.cli", "config", "check", str(cfg)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and f"{cfg}:3: expression_model: '{path}': " in p.stderr, p
    assert why in p.stderr


@pytest.mark.parametrize("damage", ["iris_landmark.tflite", "face_detection_short_range.tflite"])
def test_a_damaged_face_tracker_model_stops_a_face_camera_unit(tmp_path, rx, damage):
    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    whole = (models / damage).read_bytes()
    (models / damage).write_bytes(whole[:len(whole) // 2])  # a copy cut short
    video = tmp_path / "empty_seat.avi"
    _empty_seat_video(video)
    code, said, sent = _unit(tmp_path, rx, f"video://{video}?role=face&loop=1", "faces = false\n",
                             models_dir=models)
    assert code == 1 and sent == 0, (code, sent, said)
    assert len(said) == 1 and f"{models / damage}" in said[0], said
    assert said[0].startswith("empathy edge run: face camera: ") and "reinstall" in said[0]


def test_the_shipped_models_start_a_face_camera_unit(tmp_path, rx):
    """The check refuses nothing whole: the same unit on the shipped models runs its show."""
    video = tmp_path / "empty_seat.avi"
    _empty_seat_video(video)
    code, said, sent = _unit(tmp_path, rx, f"video://{video}?role=face&loop=1")
    assert code == 0 and sent > 0 and not said, (code, sent, said)


@pytest.mark.parametrize("damage", ["face_landmark.tflite", "expression_fer_int8.tflite"])
def test_a_shipped_model_with_a_flipped_byte_stops_the_start(tmp_path, rx, damage):
    """A flipped weight still loads (the runtime checks no sums), giving wrong faces: the
    start check probed a file whose hash was not the shipped one by loading it, and let it
    through (exit 0, session 31, found by watchers; `doctor` already said it). A file the
    install ships is now held to its line in models/SHA256SUMS."""
    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    data = bytearray((models / damage).read_bytes())
    data[len(data) // 2] ^= 0x01
    (models / damage).write_bytes(bytes(data))
    video = tmp_path / "empty_seat.avi"
    _empty_seat_video(video)
    code, said, sent = _unit(tmp_path, rx, f"video://{video}?role=face&loop=1",
                             models_dir=models)
    assert code == 1 and sent == 0, (code, sent, said)
    assert len(said) == 1 and f"{models / damage}" in said[0], said
    assert "not the shipped file" in said[0] and "reinstall" in said[0], said
