"""Check a .tflite file before the interpreter in this process touches it.

LiteRT does not verify a model fully: a truncated or foreign file can crash the whole
process (seen: a segfault in ``Interpreter.__init__`` on a truncated model). The models we
ship are trusted by their SHA-256 (``models/SHA256SUMS``); any other file is loaded once in
a throwaway child process, and only a file that loads there is loaded here. The verdict is
cached per content hash, so the probe costs one start-up per new model file.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from empathy.models import MODELS_DIR

SUMS = MODELS_DIR / "SHA256SUMS"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "empathy" / "models-ok"

_PROBE = ("import sys; from empathy.edge.infer import _interpreter_class; "
          "I = _interpreter_class()[0](model_path=sys.argv[1]); I.allocate_tensors()")


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


def check_model(path: Path) -> str | None:
    """None when `path` is safe to load here, else the reason it is not."""
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
