"""A heart-corpus record for a test, or the test skipped when its distribution was not
fetched (scripts/install.sh puts them in cache/heart-corpus)."""

import pytest

from empathy.edge.heart_corpus import available, record


def need(name: str):
    rec = record(name)
    if not available(rec):
        pytest.skip(f"{name}: its distribution is not in cache/heart-corpus (scripts/install.sh)")
    return rec


def signal_json(verb: str, name: str, tmp_path, kind: str = "ppg", fmt: str = "%.6g") -> dict:
    """`empathy signal VERB FILE --json` on a corpus record written as text, in its own
    process as a user runs it: exit 0, and its JSON."""
    import json
    import subprocess
    import sys

    import numpy as np

    from empathy.edge.heart_corpus import record_data

    x, fs = record_data(need(name))
    f = tmp_path / f"{kind}.txt"
    np.savetxt(f, x, fmt=fmt)
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", verb, str(f), "--fs",
                        str(fs), "--kind", kind, "--json"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)
