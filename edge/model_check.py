"""Check a .tflite file before the interpreter in this process touches it, and an edge
unit's face models at its start.

LiteRT does not verify a model fully: a truncated or foreign file can crash the whole
process (seen: a segfault in ``Interpreter.__init__`` on a truncated model). A file that is
not a TFLite flatbuffer at all (no ``TFL3`` identifier: a text file, an ONNX or Keras file)
is refused from its first bytes. The models we ship are trusted by their SHA-256
(``models/SHA256SUMS``); any other file is loaded once in a throwaway child process, and
only a file that loads there is loaded here. The verdict is cached per content hash, so the
probe costs one start-up per new model file.

`face_models` is what a unit checks at its start, so that a broken model stops the start
(one line, exit 1) rather than the show when someone first sits down: the expression model
(loaded) where a seat gives faces, and the shipped face tracker's and iris models (their
hashes: loaded at the first frame, the iris model at the first face) where a seat has a
face camera. A unit whose seats give no face (straps, boards, eye cameras) loads none of
it, nor OpenCV or LiteRT, whatever its `faces` says.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from empathy.errors import UserError
from empathy.models import MODELS_DIR

SUMS = MODELS_DIR / "SHA256SUMS"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "empathy" / "models-ok"

_PROBE = ("import sys; from empathy.edge.infer import _interpreter_class; "
          "I = _interpreter_class()[0](model_path=sys.argv[1]); I.allocate_tensors()")


TFLITE_ID = b"TFL3"  # a TFLite flatbuffer's file identifier, bytes 4-8
REINSTALL = "the install's models/ is damaged: reinstall (scripts/install.sh --role edge,camera)"


def file_problem(path: Path) -> str:
    """Why `path` cannot be a TFLite model, from its first bytes ("" if it may be one)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        return "no such file"
    except IsADirectoryError:
        return "a folder, not a model file"
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if len(head) < 8 or head[4:8] != TFLITE_ID:
        return "not a TFLite model (no TFL3 identifier): a .tflite file is wanted"
    return ""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def shipped() -> dict[str, str]:
    """sha256 -> file name for the models in models/ (lines as written by sha256sum)."""
    if not SUMS.is_file():
        return {}
    return dict(line.split(None, 1) for line in SUMS.read_text().splitlines() if line.strip())


def shipped_problem(path: Path) -> str | None:
    """None when `path`, where the install ships a file of its name, is that file (its
    SHA-256 as models/SHA256SUMS lists it); else what is wrong. A flipped weight still
    loads, giving wrong faces: only the sum tells. A file the install does not ship: None."""
    want = {name: digest for digest, name in shipped().items()}.get(path.name)
    if not want or path.parent.resolve() != SUMS.parent.resolve():
        return None
    why = file_problem(path)
    if not why and sha256(path) != want:
        why = (f"is not the shipped file (its SHA-256 differs from {SUMS.name}): cut short "
               "or corrupt")
    return why


def check_model(path: Path) -> str | None:
    """None when `path` is safe to load here, else the reason it is not."""
    why = file_problem(path)
    if why:
        return why
    digest = sha256(path)
    if digest in shipped() or (CACHE / digest).exists():
        return None
    try:
        r = subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True,
                           text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "the runtime hung loading it"
    if r.returncode != 0:
        if r.returncode < 0:
            return f"it crashed the runtime (signal {-r.returncode}): corrupt or not a TFLite model"
        last = (r.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"the runtime refused it: {last}"
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        (CACHE / digest).touch()
    except OSError:
        pass  # a read-only home only costs a probe next time
    return None


def face_readings(url: str) -> set[str]:
    """What face readings a seat's source gives: "frame" (a face camera's, for the face
    tracker), "crop" (a simulated seat's face crops); a recording may hold either."""
    u = urlsplit(url)
    q = {k: v[-1] for k, v in parse_qs(u.query).items()}
    if u.scheme == "sim":
        return {"crop"} if q.get("faces", "1") != "0" else set()
    if u.scheme in ("camera", "video"):
        return {"frame"} if q.get("role", "face") == "face" else set()
    if u.scheme == "replay" and not u.path.endswith(".csv"):
        return {"frame", "crop"}
    return set()


def face_model_problems(cfg) -> tuple[object, list[UserError]]:
    """The unit's expression model (None where no seat gives faces, `faces` is off or it is
    broken) and what is wrong with each face model its seats will load, one UserError a
    model, so that all are fixed in one go."""
    given = set().union(*(face_readings(s.source) for s in cfg.seats if not s.opt_out))
    expression = cfg.faces and given
    if not (expression or "frame" in given):
        return None, []
    from empathy.edge.infer import ModelError, _interpreter_class

    _interpreter_class()  # no runtime: its own ModelError, said now (nothing would load)
    problems = []
    if "frame" in given:  # faces are tracked whatever `faces` says (a face is someone there)
        from empathy.edge.perception import MODELS

        for path in MODELS:
            why = shipped_problem(path) or check_model(path)
            if why:
                problems.append(UserError(f"face camera: cannot load model {path}: {why}",
                                          REINSTALL))
    if not expression:
        return None, problems
    from empathy.edge.expression import ExpressionModel

    auto = cfg.expression_model == "auto"
    try:
        from empathy.edge.expression import DEFAULT_MODEL

        why = shipped_problem(DEFAULT_MODEL) if auto else None
        if why:
            raise ModelError(f"cannot load model {DEFAULT_MODEL}: {why}")
        return ExpressionModel(None if auto else cfg.expression_model,
                               threads=cfg.model_threads), problems
    except ModelError as e:
        return None, problems + [UserError(
            f"expression_model: {e}", REINSTALL if auto else "give a .tflite of grey face "
            'crops in and 7 expression classes out, or expression_model = "auto"')]


def face_models(cfg):
    """The unit's expression model (see `face_model_problems`); a UserError naming the
    first broken model, and how many more there are, if any is."""
    model, problems = face_model_problems(cfg)
    if len(problems) > 1:
        raise UserError(f"{problems[0]} (and {len(problems) - 1} more broken: `empathy doctor "
                        "--config` names each)", problems[0].hint)
    if problems:
        raise problems[0]
    return model
