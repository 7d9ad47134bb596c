"""Red team, session 23: files handed to the host's tools that held them for ever.

A session file is SQL: a `samples` that is a view runs whatever query the file's author
wrote at every read, and a recursive one never ends. A LUT path is any path: a FIFO waits
for a writer that never comes, /dev/zero never ends. Through the real CLI, in a process
of its own (before the fixes each of these ran until killed)."""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
import subprocess
import sys

import pytest

from test_cinema_sessions import recorded

FOREVER = ("CREATE VIEW samples AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
           "FROM c) SELECT x AS ts_us, 1 AS unit_id, 1 AS seat_id FROM c")


def _empathy(*argv, timeout: float = 60, memory: int | None = None) -> tuple[int, str]:
    def limit():
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        r = subprocess.run([sys.executable, "-m", "empathy.cli", *map(str, argv)],
                           capture_output=True, text=True, timeout=timeout, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"empathy {' '.join(map(str, argv))}: still running after {timeout} s")
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "unexpected error" not in out, out
    return r.returncode, out


@pytest.mark.parametrize("table", ["samples", "events"])
def test_a_session_whose_table_is_a_view_is_refused_not_run(tmp_path, table):
    """Before: `session list` ran the recursive view until killed (20 s, 7 CPU-s, no
    output); so did report and export. Now: one line naming the session and the view."""
    folder = tmp_path / "sessions"
    folder.mkdir()
    base = recorded(tmp_path / "base", "s")
    shutil.copy(base, folder / base.name)
    db = sqlite3.connect(folder / base.name)
    db.execute(f"DROP TABLE {table}")
    db.execute(FOREVER.replace("samples", table, 1))
    db.commit()
    db.close()
    sid = base.name.removesuffix(".session.db")
    rc, out = _empathy("session", "list", "--dir", folder)
    assert rc == 0 and f"UNREADABLE: {folder / base.name}: {table} is a view, not a table" \
        in out, out
    for verb in (["report", sid, "--out", tmp_path / "r"],
                 ["export", sid, "--out", tmp_path / "e", "--format", "csv"]):
        rc, out = _empathy("session", verb[0], "--dir", folder, *verb[1:])
        assert rc == 1 and f"{table} is a view, not a table" in out, out
        assert len(out.strip().splitlines()) == 1, out


def test_a_lut_that_is_a_pipe_or_a_device_is_one_line(tmp_path):
    """Before: `empathy lut check` on a FIFO waited for ever; on /dev/zero it read until its
    memory ran out (stat says 0 bytes for a device). Now: not a regular file, at once."""
    fifo = tmp_path / "grade.cube"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero"):
        rc, out = _empathy("lut", "check", path, timeout=30, memory=4 << 30)
        assert rc == 1 and f"{path}: not a regular file" in out, out


def _token_host(tmp_path, text: bytes):
    import tomli_w

    from empathy.keys import Keystore
    from redteam_rig import Host, free_udp_port

    token = tmp_path / "operator.token"
    token.write_bytes(text)
    token.chmod(0o600)
    host = Host(tmp_path, f"udp://127.0.0.1:{free_udp_port()}", Keystore.new([1]))
    host.cfg["dashboard"]["token_file"] = str(token)
    host.cfg["duration_s"] = 2.0
    (tmp_path / "host.toml").write_text(tomli_w.dumps(host.cfg))
    return tmp_path / "host.toml"


@pytest.mark.parametrize("kind", ["wrapped", "long"])
def test_a_token_no_header_can_carry_is_refused_at_start(tmp_path, kind):
    """`head -c 64 /dev/urandom | base64 > FILE` wraps its 88 characters at 76: the host
    started with a two-line token that no Authorization header can carry (the operator
    locked out of the API, with nothing said), and a token file over 4096 bytes was cut
    there without a word. Now `host run` refuses both in one line, and doctor says it."""
    import base64
    import textwrap

    b64 = base64.b64encode(os.urandom(64 if kind == "wrapped" else 4000)).decode()
    config = _token_host(tmp_path, ("\n".join(textwrap.wrap(b64, 76)) if kind == "wrapped"
                                    else b64).encode() + b"\n")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "x")}
    try:
        r = subprocess.run([sys.executable, "-m", "empathy.cli", "host", "run", "--config",
                            str(config)], capture_output=True, text=True,
                           timeout=60, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("host run started with a token no header can carry")
    err = [ln for ln in r.stderr.splitlines() if "dashboard.token_file" in ln]
    assert r.returncode != 0 and len(err) == 1 and "single-line token" in err[0], r.stderr
    rc, out = _empathy("doctor", "--config", config, timeout=120)
    assert "single-line token" in out, out


def test_a_log_named_on_a_keystore_by_a_typo_leaves_the_keystore_alone(tmp_path):
    """`channels_log = "/etc/empathy/unit1.keys.toml"` (a line copied from the keystore's
    and half edited): `edge run` opened it for writing, the unit's key was gone and the
    unit could not start again ('Expected = after a key'); the host's `frame_log` on its
    keystore appended frame rows into it. Now each is refused at start in one line, the
    keystore as it was."""
    from empathy.keys import Keystore
    from redteam_rig import Host, free_udp_port

    Keystore.new([1]).for_unit(1).save(tmp_path / "k.toml")
    kept = (tmp_path / "k.toml").read_bytes()
    (tmp_path / "edge.toml").write_text(
        f'unit_id = 1\nkeystore = "{tmp_path}/k.toml"\nseq_file = "{tmp_path}/seq"\n'
        f'uplink = "udp://127.0.0.1:9"\nfaces = false\nchannels_log = "{tmp_path}/k.toml"\n'
        '[[seats]]\nseat_id = 1\nsource = "sim://seat?seed=1&faces=0"\n')
    rc, out = _empathy("edge", "run", "--config", tmp_path / "edge.toml", "--duration", "2")
    assert rc != 0 and f"channels_log {tmp_path}/k.toml holds something else" in out, out
    assert (tmp_path / "k.toml").read_bytes() == kept

    host_dir = tmp_path / "host"
    host_dir.mkdir()
    host = Host(host_dir, f"udp://127.0.0.1:{free_udp_port()}", Keystore.new([1]))
    host.cfg["frame_log"] = host.cfg["keystore"]
    host.cfg["duration_s"] = 2.0
    kept = (host_dir / "host.keys.toml").read_bytes()
    (host_dir / "host.toml").write_text(__import__("tomli_w").dumps(host.cfg))
    rc, out = _empathy("host", "run", "--config", host_dir / "host.toml", timeout=90)
    assert rc != 0 and "frame_log" in out and "holds something else" in out, out[-2000:]
    assert (host_dir / "host.keys.toml").read_bytes() == kept


def test_a_lut_value_past_float32_is_one_line(tmp_path):
    """A row of 1e300: `lut check` printed numpy's RuntimeWarning and the source line it
    came from above its refusal. Now the refusal alone."""
    cube = tmp_path / "big.cube"
    cube.write_text("LUT_3D_SIZE 2\n1e300 0 0\n" + "0 0 0\n" * 7)
    rc, out = _empathy("lut", "check", cube)
    assert rc == 1 and out.strip() == f"empathy lut check: {cube}:2: value too large for " \
        "float32 in row '1e300 0 0'", out


@pytest.mark.parametrize("doc", [
    {"segment": "$" + "{" * 3000 + "x" + "}" * 3000 + "$", "start_us": 1_000_000},
    {"segment": "arrival", "start_us": 2 ** 70},
    {"segment": "arrival", "start_us": 1e308},
], ids=["mathtext_nesting", "stamp_2_to_70", "stamp_1e308"])
def test_a_segment_event_no_show_writes_is_one_line_from_the_report(tmp_path, capfd,
                                                                     monkeypatch, doc):
    """A session's `segment` event from elsewhere: a name that is matplotlib mathtext nested
    3,000 deep ended `session report` in 'unexpected error: RecursionError', a start past
    64 bits in 'OverflowError' (with a crash report each). Now the name is drawn as plain
    text (at most a segment id's 24 characters) and any such value is the report's one
    line naming the session."""
    import json

    from empathy import cli

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = tmp_path / "sessions"
    path = recorded(folder, "s")
    db = sqlite3.connect(path)
    db.execute("INSERT INTO events VALUES (1000000, 'segment', ?)", (json.dumps(doc),))
    db.commit()
    db.close()
    rc = cli.main(["session", "report", "s", "--dir", str(folder), "--out",
                   str(tmp_path / "out")])
    out, err = capfd.readouterr()
    assert "unexpected error" not in err and "Traceback" not in err, err
    if "$" in doc["segment"]:
        assert rc == 0, err  # drawn as the text it is
    else:
        assert rc == 1 and f"{path}: its events are not a show's" in err, err


def _bent_session(tmp_path, sql: str, params=()) -> tuple:
    folder = tmp_path / "sessions"
    path = recorded(folder, "s")
    db = sqlite3.connect(path)
    db.execute(sql, params)
    db.commit()
    db.close()
    return folder, path


@pytest.mark.parametrize("fmt", ["bids", "edf"])
@pytest.mark.parametrize("bend", ["segment_2_to_70", "segment_1e308", "sample_48_bit_end"])
def test_a_stamp_years_off_is_one_line_from_the_gridded_exports(tmp_path, fmt, bend):
    """EDF+ and BIDS put every seat on a 10 Hz grid over the session's span. One sample
    stamped at the wire's 48-bit end (session 22's check lets it by) asked numpy for
    21.0 GiB ('unexpected error: MemoryError' here, under a 4 GiB limit; without one, the
    machine's memory); a segment's start of 2^70 or 1e308 ended both in OverflowError.
    Now a start is checked as read, and a span over a week is refused for the gridded
    formats, naming those that keep the samples as recorded."""
    import json

    if bend == "sample_48_bit_end":
        folder, path = _bent_session(tmp_path, "UPDATE samples SET ts_us = ? WHERE rowid = 5",
                                     ((1 << 48) - 1,))
        says = "export csv, parquet or xdf"
    else:
        start = 2 ** 70 if bend == "segment_2_to_70" else 1e308
        folder, path = _bent_session(tmp_path, "INSERT INTO events VALUES (1000000, 'segment', "
                                     "?)", (json.dumps({"segment": "a", "start_us": start}),))
        says = "segment event's start_us is"
    rc, out = _empathy("session", "export", "s", "--format", fmt, "--dir", folder, "--out",
                       tmp_path / "out", timeout=120, memory=4 << 30)
    assert rc == 1 and f"{path}: " in out and says in out, out


@pytest.mark.parametrize("target", ["fifo", "/dev/zero"])
def test_a_story_or_config_that_is_a_pipe_or_a_device_is_one_line(tmp_path, target):
    """A story's `screenplay` may name any file, as its LUTs may: a FIFO held `story check`
    (and `host run` at start) for ever, /dev/zero read until memory ran out ('unexpected
    error: MemoryError' under a 3 GiB limit). So did the story or config file itself given
    on the command line (`story check`, `config check`, `host run --config`). Each is now
    refused in one line before it is read."""
    import tomllib

    import tomli_w

    from empathy.host.sample.render import ensure
    from redteam_rig import SAMPLE

    if target == "fifo":
        target = str(tmp_path / "pipe")
        os.mkfifo(target)
    story = tomllib.loads(SAMPLE.read_text())
    story["screenplay"] = target
    (tmp_path / "story.toml").write_text(tomli_w.dumps(story))
    rc, out = _empathy("story", "check", tmp_path / "story.toml", "--media-root", ensure(),
                       timeout=60, memory=3 << 30)
    assert rc == 1 and f"screenplay: {target}: cannot read: it is a" in out, out
    for argv in (["story", "check", target], ["config", "check", target],
                 ["host", "run", "--config", target]):
        rc, out = _empathy(*argv, timeout=30, memory=3 << 30)
        assert rc == 1 and f"{target}: cannot read: it is a" in out, out
