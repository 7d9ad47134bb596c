"""Session recording: crash safety (SIGKILL of a real host), export round trips, purge."""

import contextlib
import csv
import io
import json
from pathlib import Path
import os
import signal
import subprocess
import time
from dataclasses import replace

import pyarrow.parquet as pq

from empathy import wire
from empathy.cli import main
from empathy.host.session import store
from test_api import HostRig

FIELDS = store.SAMPLE_FIELDS


def cli(*args, check=True):
    """`empathy session ...` through the real CLI entry point, in this process (fast)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(["session", *args])
        except SystemExit as e:  # argparse's usage errors
            rc = e.code
    r = subprocess.CompletedProcess(args, rc, out.getvalue(), err.getvalue())
    assert not check or r.returncode == 0, r.stderr
    return r


def as_rows(samples):
    return [tuple(getattr(s, f) for f in FIELDS) for s in samples]


def exported_rows(folder, sid, fmt):
    if fmt == "csv":
        with open(folder / f"{sid}.samples.csv", newline="") as f:
            rows = list(csv.reader(f))
        head, body = rows[0], rows[1:]
        types = [int, int, int, int, float, float, float, float, float, int, float, int]
        return head, [tuple(t(v) for t, v in zip(types, r)) for r in body]
    table = pq.read_table(folder / f"{sid}.samples.parquet")
    return table.column_names, [tuple(r[c] for c in table.column_names)
                                for r in table.to_pylist()]


def test_killed_host_loses_at_most_one_second_and_export_round_trips(tmp_path):
    rig = HostRig(tmp_path, seats=4, dashboard=False).start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(rig.sent) < 4 * 40:
            time.sleep(0.1)
        rig.proc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        rig.proc.wait(10)
        rig.stop_feed()
    finally:
        rig.close()
    (db,) = store.sessions(tmp_path / "sessions")
    _, stored = store.read(db, "samples")
    # Unit ids are stored as this session's stand-ins: one per unit, none shared.
    sent_unit = {(s.seat_id, s.seq): s.unit_id for _, s in rig.sent}
    stand_in = {sent_unit[(r[2], r[3])]: r[1] for r in stored}
    assert {(sent_unit[(r[2], r[3])], r[1]) for r in stored} == set(stand_in.items())
    assert len(set(stand_in.values())) == len(stand_in) == 4
    back_to_real = {v: k for k, v in stand_in.items()}
    rows = [(r[0], back_to_real[r[1]], *r[2:]) for r in stored]
    recorded = set(rows)
    sent = {row: t for t, row in zip([t for t, _ in rig.sent], as_rows(s for _, s in rig.sent))}
    # nothing recorded that was not sent, exactly as sent
    assert recorded <= set(sent)
    assert len(rows) == len(recorded)  # and nothing twice
    assert sum(t < killed_at - 1.0 for t in sent.values()) >= 4 * 20  # not vacuous
    lost_before = [t for row, t in sent.items() if row not in recorded and t < killed_at - 1.0]
    assert lost_before == [], f"{len(lost_before)} samples sent > 1 s before the kill are lost"
    newest = max(sent[r] for r in recorded)
    print(f"recorded {len(rows)} samples; newest sent {killed_at - newest:.3f} s before SIGKILL")
    _, events = store.read(db, "events")
    kinds = [k for _, k, _ in events]
    assert "state" in kinds and "segment" in kinds and "grade" in kinds
    units = json.loads(next(d for _, k, d in events if k == "units"))
    assert units and {u["unit"] for u in units} <= set(back_to_real)  # the units report, too
    assert all(u["loss"] == 0 for u in units)

    # the session a killed host left behind lists, and exports every recorded sample
    sid = store.session_id(db)
    listed = json.loads(cli("list", "--dir", str(tmp_path / "sessions"), "--json").stdout)
    assert listed[0]["session"] == sid and listed[0]["samples"] == len(rows)
    assert "ended_utc" not in listed[0]  # it was never closed
    for fmt in ("csv", "parquet"):
        cli("export", sid, "--format", fmt, "--out", str(tmp_path / "x"), "--dir",
            str(tmp_path / "sessions"))
        head, back = exported_rows(tmp_path / "x", sid, fmt)
        assert tuple(head) == FIELDS and back == stored


def test_closed_session_has_events_and_every_sample(tmp_path):
    rec = store.Recorder(tmp_path, {"story": "test"})
    samples = [wire.SeatSample(u, u + 100, seq, 1_000_000 + seq * 100_000 + u, 60 + seq * 0.01,
                               35.5, 3.25, (seq % 255 - 127) / 127, -0.5, seq % 7, 0.4,
                               seq & 0xFF)
               for seq in range(300) for u in (1, 2)]
    for i in range(0, len(samples), 7):
        rec("samples", samples[i:i + 7])
    rec("decision", {"at_s": 8.5, "decision": "first_turn", "chosen": "chase", "reason": "r",
                     "scores": {"chase": 1.0}, "fallback": False})
    rec("control", {"action": "kill_switch", "value": True, "by": "test", "at_s": 9.0})
    rec.event("health", {"unit": 1, "contact": False})
    rec.close()
    info = store.info(rec.path)
    assert info["samples"] == 600 and info["seats"] == 2 and info["story"] == "test"
    assert info["events"] == {"decision": 1, "control": 1, "health": 1}
    assert info["ended_utc"]
    for fmt in ("csv", "parquet"):
        r = cli("export", rec.id, "--format", fmt, "--out", str(tmp_path / fmt), "--dir",
                str(tmp_path), "--json")
        files = [Path(f).name for f in json.loads(r.stdout)]
        assert files == [f"{rec.id}.{t}.{fmt}"
                         for t in ("samples", "events", "frames", "faults")]
        stored = as_rows(replace(s, unit_id=rec.units(s.unit_id)) for s in samples)
        assert exported_rows(tmp_path / fmt, rec.id, fmt)[1] == stored
    assert rec.units(1) != rec.units(2)
    with open(tmp_path / "csv" / f"{rec.id}.events.csv") as f:
        events = list(csv.DictReader(f))
    assert [e["kind"] for e in events] == ["decision", "control", "health"]
    assert json.loads(events[2]["data"]) == {"unit": rec.units(1), "contact": False}
    assert json.loads(events[0]["data"])["chosen"] == "chase"


def test_bad_requests_fail_clearly_and_purge_deletes(tmp_path):
    r = cli("export", "nope", "--dir", str(tmp_path), check=False)
    assert r.returncode == 1 and "no session 'nope'" in r.stderr
    (tmp_path / f"junk{store.SUFFIX}").write_bytes(b"not a database at all" * 100)
    listed = json.loads(cli("list", "--dir", str(tmp_path), "--json").stdout)
    assert "not a readable session" in listed[0]["error"]
    assert cli("purge", "--dir", str(tmp_path), check=False).returncode == 1
    keep = store.Recorder(tmp_path, session_id="keep")
    keep.close()
    old = store.Recorder(tmp_path, session_id="old")
    old.close()
    past = time.time() - 10 * 86400
    os.utime(old.path, (past, past))
    # a slip of the keyboard must not delete this week's shows: --older-than -5 or nan
    for days in ("-5", "nan"):
        r = cli("purge", "--older-than", days, "--dir", str(tmp_path), check=False)
        assert r.returncode == 2 and "--older-than" in r.stderr and "Traceback" not in r.stderr
    # nor a --dir that names a file: said, not "no sessions"
    for verb in ("list", "purge --all"):
        r = cli(*verb.split(), "--dir", str(old.path), check=False)
        assert r.returncode == 1 and "not a folder" in r.stderr, r
    assert json.loads(cli("purge", "--older-than", "5", "--dir", str(tmp_path),
                          "--json").stdout) == ["old"]
    assert json.loads(cli("purge", "--all", "--dir", str(tmp_path), "--json").stdout) \
        == ["junk", "keep"]
    assert list(tmp_path.iterdir()) == []


def test_report_explains_a_recorded_show(tmp_path):
    rec = store.Recorder(tmp_path, {"story": "Neon Rain"}, unit_report=lambda: [
        {"unit": 1, "silent_s": 0.0, "loss": 0.02}])
    t0 = 5_000_000
    rec("segment", {"segment": "arrival", "start_us": t0, "at_s": 0.0})
    for k in range(40):
        rec("samples", [wire.SeatSample(1, 1, k, t0 + k * 100_000, arousal=k / 40)])
        if k % 5 == 0:
            rec("state", {"ts_us": t0 + k * 100_000, "arousal": k / 40})
    rec("decision", {"at_s": 3.0, "decision": "first_turn", "chosen": "chase",
                     "reason": "arc says so", "scores": {"chase": 0.1, "hideout": -0.2},
                     "fallback": False})
    rec("control", {"action": "kill_switch", "value": True, "by": "10.0.0.7", "at_s": 3.5})
    rec.event("health", {"event": "unit_quiet", "unit": 1})
    rec.close()
    r = cli("report", rec.id, "--dir", str(tmp_path), "--out", str(tmp_path / "r"), "--json")
    page = (tmp_path / "r" / f"{rec.id}.html").read_text()
    assert json.loads(r.stdout).endswith(".html")
    assert page.count("data:image/png;base64,") == 3  # audience, seats, unit loss
    assert "first_turn" in page and "arc says so" in page and "kill_switch" in page
    assert "10.0.0.7" in page and "unit_quiet" in page and "40 samples from 1 seats" in page
