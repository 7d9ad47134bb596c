"""Red team, session 22: session files the host's tools load, bent as a file from elsewhere
can be (a partner lab's session, a copy edited by hand, a tool that wrote its own rows):
SQLite keeps any type in any column. Through the real CLI, `empathy session list |
report | export`. Each test failed first; the fix is named in its story."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from empathy import cli
from test_cinema_sessions import recorded

# (the SQL that bends a recorded session, the words the refusal must hold)
BENT = {
    "ts_text": ("UPDATE samples SET ts_us = 'abc' WHERE rowid = 5", "samples row 5: ts_us"),
    "ts_negative": ("UPDATE samples SET ts_us = -9223372036854775808 WHERE rowid = 5",
                    "samples row 5: ts_us"),
    "ts_past_the_wire": ("UPDATE samples SET ts_us = 9223372036854775807 WHERE rowid = 5",
                         "samples row 5: ts_us"),
    "seat_text": ("UPDATE samples SET seat_id = 'x' WHERE rowid = 5", "samples row 5: seat_id"),
    "hr_blob": ("UPDATE samples SET hr_bpm = x'00ff' WHERE rowid = 5", "samples row 5: hr_bpm"),
    "flags_text": ("UPDATE samples SET flags = 'x' WHERE rowid = 5", "samples row 5: flags"),
    "kind_null": ("UPDATE events SET kind = NULL WHERE rowid = 5", "events row 5: kind"),
    "frame_text": ("INSERT INTO frames VALUES ('x', 'y', NULL, 'z', 'w')", "frames row 1: ts_us"),
    "meta_not_json": ("UPDATE meta SET value = '{{' WHERE key = 'story'", "meta 'story'"),
}


def _bent(tmp_path, sql: str):
    folder = tmp_path / "sessions"
    base = recorded(tmp_path / "base", "s")
    folder.mkdir()
    shutil.copy(base, folder / base.name)
    db = sqlite3.connect(folder / base.name)
    db.execute("CREATE TABLE IF NOT EXISTS frames (ts_us INTEGER, frame INTEGER, segment TEXT, "
               "clip_t_s REAL, luminance REAL)")
    db.execute(sql)
    db.commit()
    db.close()
    return folder


def _run(capfd, *argv) -> tuple[int, str]:
    rc = cli.main(["session", *map(str, argv)])
    out, err = capfd.readouterr()
    assert "unexpected error" not in err and "Traceback" not in err, err
    return rc, out + err


@pytest.mark.parametrize("name", BENT)
def test_a_bent_session_is_named_with_its_row_by_every_verb(tmp_path, capfd, monkeypatch, name):
    """Of these nine, seven ended a verb in 'unexpected error' (TypeError, ValueError,
    JSONDecodeError, IndexError, a MemoryError of 671 TiB for EDF and BIDS from a negative
    stamp); `session list` crashed for the whole folder on three. Each value is now
    checked as it is read: the session, its table, row and column, in one line."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    sql, says = BENT[name]
    folder = _bent(tmp_path, sql)
    rc, said = _run(capfd, "list", "--dir", folder)
    if name in ("ts_text", "ts_negative", "ts_past_the_wire", "kind_null", "meta_not_json"):
        assert rc == 0 and "UNREADABLE" in said and says in said, said
    for verb in (["report", "s", "--out", tmp_path / "out"],
                 *(["export", "s", "--format", f, "--out", tmp_path / f]
                   for f in ("xdf", "edf", "bids"))):
        rc, said = _run(capfd, *verb, "--dir", folder)
        if verb[0] == "report" and name == "frame_text":
            continue  # the report reads no frames
        assert rc == 1 and says in said and len(said.strip().splitlines()) == 1, (verb, said)


@pytest.mark.parametrize("data", ["{{{", "[" * 100_000])
def test_an_event_that_is_not_json_is_passed_over_by_report_and_export(tmp_path, capfd,
                                                                       monkeypatch, data):
    """An event's JSON that does not parse, or nests past the parser's recursion: the report
    ended in JSONDecodeError or RecursionError, XDF/EDF/BIDS in RecursionError. The exports
    already passed over an event that is not JSON (as the report does now); one nested too
    deeply is passed over alike."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = _bent(tmp_path, f"UPDATE events SET data = '{data}' WHERE rowid = 5")
    for verb in (["report", "s", "--out", tmp_path / "out"],
                 *(["export", "s", "--format", f, "--out", tmp_path / f]
                   for f in ("xdf", "edf", "bids"))):
        rc, said = _run(capfd, *verb, "--dir", folder)
        assert rc == 0, (verb, said)


def test_a_sessions_words_cannot_put_script_in_its_report(tmp_path, capfd, monkeypatch):
    """The report wrote the session's started_utc and ended_utc (its meta table) into the
    page as they were: a session from elsewhere ran its script in the reviewer's browser."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = _bent(tmp_path, "UPDATE meta SET value = '\"<script>alert(1)</script>\"' "
                             "WHERE key = 'started_utc'")
    rc, said = _run(capfd, "report", "s", "--out", tmp_path / "out", "--dir", folder)
    page = (tmp_path / "out" / "s.html").read_text()
    assert rc == 0 and "<script>" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("name, sql", [
    ("state_of_words", "INSERT INTO events VALUES (2000000, 'state', "
                       "'{\"arousal\": \"x\", \"ts_us\": \"y\"}')"),
    ("units_without_loss", "INSERT INTO events VALUES (2000000, 'units', '[{\"unit\": 1}]')"),
])
def test_an_event_of_the_wrong_shape_is_one_line_from_the_report(tmp_path, capfd, monkeypatch,
                                                                 name, sql):
    """JSON of the wrong shape for its kind (a state of words, a unit report without its
    loss): the report ended in 'unexpected error' (ValueError, KeyError). Now one line."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = _bent(tmp_path, sql)
    rc, said = _run(capfd, "report", "s", "--out", tmp_path / "out", "--dir", folder)
    assert rc == 1 and "events are not a show's" in said, said


@pytest.mark.parametrize("mode, kind, says", [
    (0o644, "file", "lets others read"),
    (0o640, "latin-1", "not UTF-8 text"),
    (0o600, "fifo", "not a regular file"),
])
def test_a_token_file_others_can_read_or_no_token_is_refused_at_start(tmp_path, mode, kind,
                                                                      says):
    """The operator token controls the show; `host run` read its token file whatever its
    mode (doctor fails one others can read; keystores are refused so): left 0644, as a
    shell's umask writes it, any account on the machine could take the show. A token file
    in Latin-1 ended `host run` in 'unexpected error: UnicodeDecodeError'; a FIFO held it
    at start for ever. Each is now refused in one line, as an unsafe keystore is."""
    import os
    import subprocess
    import sys

    import tomli_w

    from empathy.keys import Keystore
    from redteam_rig import Host, free_udp_port

    token = tmp_path / "operator.token"
    if kind == "fifo":
        os.mkfifo(token)
    else:
        token.write_bytes(("é" * 40).encode("latin-1") if kind == "latin-1" else b"t" * 40)
    token.chmod(mode)
    host = Host(tmp_path, f"udp://127.0.0.1:{free_udp_port()}", Keystore.new([1]))
    host.cfg["dashboard"]["token_file"] = str(token)
    (tmp_path / "host.toml").write_text(tomli_w.dumps(host.cfg))
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "host", "run", "--config",
                        str(tmp_path / "host.toml")], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "x")})
    err = r.stderr.strip().splitlines()
    assert r.returncode != 0 and says in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert sum("dashboard.token_file" in line for line in err) == 1, r.stderr
