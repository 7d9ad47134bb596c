"""The command line of the scripts that write a docs page (`python -m empathy.edge.X docs/`).

They read sys.argv[1] as the folder: `--help` scored every corpus record for minutes and
then wrote a folder named "--help/", and a typo ("doc") made a new folder of that name."""

from __future__ import annotations

import argparse
from pathlib import Path


def docs_folder(module: str, page: str, argv: list[str] | None = None) -> Path:
    """The existing folder to write `page` in (default docs/); usage and exit 2 otherwise."""
    ap = argparse.ArgumentParser(prog=f"python -m empathy.edge.{module}",
                                 description=f"score the records and write {page} there")
    ap.add_argument("folder", nargs="?", default="docs", type=Path,
                    help="an existing folder (default: docs)")
    folder = ap.parse_args(argv).folder
    if not folder.is_dir():
        ap.error(f"{folder} is not a folder: give the docs folder (e.g. docs)")
    return folder
