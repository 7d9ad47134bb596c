"""A cinema's session folder after a power cut or a failing SD card: one session file with
a damaged page. Finding: open_readonly checked only the samples table, so a damaged
events or meta page surfaced later as sqlite3.DatabaseError: `session list` ended in an
unexpected error (exit 70) for the whole folder, hiding every good session, and `session
report` did the same for that one. Now each says which session is unreadable and why."""

import sqlite3

import pytest

from empathy import cli, wire
from empathy.host.session import store


def recorded(folder, sid: str):
    rec = store.Recorder(folder, {"story": "red"}, session_id=sid)
    rec("samples", [wire.SeatSample(1, 1 + k % 4, k, 1_000_000 + k * 25_000, 70.0)
                    for k in range(400)])
    for k in range(300):
        rec.event("health", {"unit": 1, "contact": bool(k % 2), "note": "x" * 40})
    rec.close()
    return rec.path


def damage_table(path, table: str) -> None:
    """Garbage over the table's root page, the rest of the file as it was."""
    db = sqlite3.connect(path)
    page = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    db.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * page)
        f.write(bytes(range(256)) * (page // 256))


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # crash reports land here
    recorded(tmp_path / "sessions", "good")
    damage_table(recorded(tmp_path / "sessions", "bad"), "events")
    return tmp_path / "sessions"


def run(capfd, *argv):
    rc = cli.main(["session", *map(str, argv)])
    out, err = capfd.readouterr()
    assert "unexpected error" not in err and "Traceback" not in err, err
    return rc, out, err


def test_one_damaged_session_does_not_hide_the_others(folder, capfd):
    rc, out, err = run(capfd, "list", "--dir", folder)
    assert rc == 0, err
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "UNREADABLE" in lines["bad"] and "not a readable session" in lines["bad"], out
    assert "400 samples" in lines["good"], out


@pytest.mark.parametrize("verb", [["report", "bad", "--out", "r"],
                                  ["export", "bad", "--format", "csv", "--out", "e"]],
                         ids=["report", "export"])
def test_the_damaged_session_is_named_in_one_line(folder, capfd, verb):
    verb[verb.index("--out") + 1] = str(folder.parent / verb[-1])
    rc, out, err = run(capfd, *verb, "--dir", folder)
    assert rc == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"empathy session {verb[0]}: ") and "bad" in err, err
