"""A heart-corpus record for a test, or the test skipped when its distribution was not
fetched (scripts/install.sh puts them in cache/heart-corpus)."""

import pytest

from empathy.edge.heart_corpus import available, record


def need(name: str):
    rec = record(name)
    if not available(rec):
        pytest.skip(f"{name}: its distribution is not in cache/heart-corpus (scripts/install.sh)")
    return rec
