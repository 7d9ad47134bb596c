"""Red team, session 25: a story's title in a session's BIDS export.

The BIDS task label was the title's letters and digits, uncut: a story titled with 300
letters (a story's title has no bound) was "[Errno 36] File name too long" from every
`session export --format bids` of its screenings. The label is now cut to 64."""

from __future__ import annotations

import subprocess
import sys

from empathy import wire
from empathy.host.session import store


def test_a_long_title_still_exports_to_bids(tmp_path):
    title = "The Night Before the Morning After " * 9  # 315 characters
    rec = store.Recorder(tmp_path / "sessions", {"story": title}, session_id="s1")
    rec("samples", [wire.SeatSample(1, 1 + k % 4, k, 1_000_000 + k * 25_000, 70.0)
                    for k in range(400)])
    rec.close()
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "session", "export", "s1", "--dir",
                        str(tmp_path / "sessions"), "--format", "bids", "--out",
                        str(tmp_path / "bids")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-1500:]
    events = sorted((tmp_path / "bids").glob("sub-*/ses-s1/beh/*_events.tsv"))
    assert len(events) == 4 and all(len(p.name) < 120 for p in events), events
    label = events[0].name.split("_task-")[1].split("_")[0]
    assert len(label) == 64 and title.replace(" ", "").startswith(label), label
