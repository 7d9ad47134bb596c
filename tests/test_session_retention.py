"""`[session] retention_days`: the host deletes sessions older than that when it starts and
once a day after, never the one it is recording, and notes each purge in that session.
Real session files (SQLite WAL) aged with utime; a real `empathy host run`."""

import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from empathy.host.session import retention, store
from test_api import HostRig

DAY_S = 86400


def days(n: float):
    return SimpleNamespace(retention_days=n, keep_sessions=0, max_mb=0.0)


def recorded(folder, age_days: float, story="Neon Rain"):
    """A real closed session, last written `age_days` ago."""
    rec = store.Recorder(folder, {"story": story})
    rec.event("note", {"made_by": "test"})
    rec.close()
    t = time.time() - age_days * DAY_S
    for f in folder.glob(rec.path.name + "*"):
        os.utime(f, (t, t))
    return rec.path


def test_retention_purges_old_sessions_at_start_and_daily_but_never_the_kept_one(tmp_path):
    old, young = recorded(tmp_path, 40), recorded(tmp_path, 10)
    recording = recorded(tmp_path, 45)  # as old as any, but it is the one being recorded
    notes = []
    r = retention.Retention(tmp_path, days(30), keep=recording, every_s=0.2,
                            on_purge=lambda kind, data: notes.append((kind, data))).start()
    try:
        # at start, before start() returns
        assert not old.exists() and young.exists() and recording.exists()
        assert not list(tmp_path.glob(old.name + "*"))  # its WAL and SHM too
        assert notes == [("retention", {"purged": [store.session_id(old)],
                                        "retention_days": 30})]
        # "daily" (every 0.2 s here): a session that has aged since is purged next round
        t = time.time() - 31 * DAY_S
        for f in tmp_path.glob(young.name + "*"):
            os.utime(f, (t, t))
        deadline = time.monotonic() + 10
        while len(notes) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not young.exists() and recording.exists()
        assert notes[1][1]["purged"] == [store.session_id(young)]
    finally:
        r.close()


def test_a_session_written_minutes_ago_is_never_purged_however_short_the_retention(tmp_path):
    fresh = recorded(tmp_path, 60 / DAY_S)  # a minute ago: a crashed host may resume it
    stale = recorded(tmp_path, 1)
    assert retention.Retention(tmp_path, days(0.0001)).run_once() == [store.session_id(stale)]
    assert fresh.exists()


def test_host_enforces_retention_when_it_starts(tmp_path):
    folder = tmp_path / "sessions"
    folder.mkdir()
    old, young = recorded(folder, 40), recorded(folder, 10)
    rig = HostRig(tmp_path, seats=1, dashboard=False, session={"retention_days": 30}).start()
    try:
        deadline = time.monotonic() + 20
        while old.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not old.exists() and young.exists()
        current = [p for p in store.sessions(folder) if p not in (old, young)]
        assert len(current) == 1  # the show's own session, being recorded
    finally:
        rig.close()
    log = (tmp_path / "host.stderr").read_text()
    assert f"retention: purged 1 session(s) older than 30 days: {store.session_id(old)}" in log
    _, events = store.read(current[0], "events")
    notes = [json.loads(data) for _, kind, data in events if kind == "retention"]
    assert notes == [{"purged": [store.session_id(old)], "retention_days": 30}]
    assert young.exists() and current[0].exists()


@pytest.mark.parametrize("days", ["-1", "4000", "nan"])
def test_bad_retention_is_a_config_error_with_its_line(tmp_path, days):
    rig = HostRig(tmp_path, seats=1, dashboard=False)
    text = rig.config.read_text().replace('[session]\n', f'[session]\nretention_days = {days}\n')
    rig.config.write_text(text)
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "config", "check",
                        "--schema-only", str(rig.config)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0 and "retention_days" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
