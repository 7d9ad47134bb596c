"""Session exports: one module per format, each `write(recording, out_folder) -> [files]`.

- `table` (csv, parquet): the store's tables as they are, nothing resampled;
- `bids`: Brain Imaging Data Structure, physiological recordings of the `beh` datatype;
- `edf`: EDF+ (clinical viewers, MNE), one signal per seat and measure at 10 Hz;
- `xdf`: XDF (LabRecorder's format), every sample with its own host-clock stamp.
"""

from __future__ import annotations

import importlib
from pathlib import Path

FORMATS = {"csv": "table", "parquet": "table", "bids": "bids", "edf": "edf", "xdf": "xdf"}


def export(path: Path, out: Path, fmt: str) -> list[Path]:
    """Write session file `path` to folder `out` in format `fmt` (files 0600, folders 0700);
    returns the files written."""
    from empathy.host.session import store
    from empathy.host.session.exports.recording import griddable, load

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    module = importlib.import_module(f"empathy.host.session.exports.{FORMATS[fmt]}")
    with store.private_files():  # biometric data: every file and folder the owner's alone
        if FORMATS[fmt] == "table":
            return module.write(path, Path(out), fmt)
        rec = load(path)
        return module.write(griddable(rec, path) if fmt in ("bids", "edf") else rec, Path(out))
