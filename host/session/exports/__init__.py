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
    """Write session file `path` to folder `out` in format `fmt`; returns the files written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    module = importlib.import_module(f"empathy.host.session.exports.{FORMATS[fmt]}")
    if FORMATS[fmt] == "table":
        return module.write(path, Path(out), fmt)
    from empathy.host.session.exports.recording import load

    return module.write(load(path), Path(out))
