"""The outputs a config may name, and their check, without GStreamer or numpy: a config
check or `--help` reads them; outputs.py's pipelines (one per kind here) play them."""

from __future__ import annotations

import os
from pathlib import Path

KINDS = ("file", "window", "kms", "nv3d", "null")  # outputs.PIPELINES' keys


def detect() -> str:
    """The output kind for this machine: Jetson, Raspberry Pi, a desktop, else a file."""
    if Path("/etc/nv_tegra_release").exists():
        return "nv3d"
    try:
        if b"Raspberry Pi" in Path("/proc/device-tree/model").read_bytes():
            return "kms"
    except OSError:
        pass
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return "window"
    return "file"


def outputs_of(output: str | list[str]) -> list[str]:
    """The output chain: one output, or several tried in order until one opens."""
    return [output] if isinstance(output, str) else list(output)


def output_chain(output: str | list[str]) -> None:
    """Config check: a known output, or a non-empty chain of them (ValueError otherwise)."""
    chain = outputs_of(output)
    if not chain:
        raise ValueError("an output chain needs at least one output")
    for o in chain:
        parse_output(o)


def parse_output(output: str) -> tuple[str, Path | None]:
    """'file:/x.mp4' -> ('file', Path); 'auto' resolved; ValueError for anything unknown."""
    if output.startswith("file:"):
        path = output[5:]
        if not path:
            raise ValueError("file output needs a path: file:/path/out.mp4")
        return "file", Path(path)
    kind = detect() if output == "auto" else output
    if kind == "file":
        return "file", Path("empathy-show.mp4")
    if kind not in KINDS:
        raise ValueError(f"unknown output {output!r}: "
                         "use file:PATH, window, kms, nv3d, null or auto")
    return kind, None
