"""A researcher analysing a screening knows which stretches of which seat's data are a
sensor fault: the host's intake takes a unit's real (signed) sample and fault packets, the
show's way of passing its health events on feeds the real session recorder, and every
export (CSV, Parquet, BIDS, EDF+, XDF) and `session report` carry the spans, read back
by the field's own readers. A session recorded before kind 7 still opens: no faults."""

import csv
import json
import sqlite3
import subprocess

import pyarrow.parquet as pq
import pyedflib
import pytest
import pyxdf

from empathy import wire
from empathy.host.receive import Intake
from empathy.host.session import faults, store
from empathy.host.session.exports import export
from empathy.host.session.report import write as report
from empathy.keys import Keystore
from test_session_export import BIDS_VALIDATOR

S = 1_000_000
T0 = 1_000 * S  # the host clock at the recording's start
END_S = 30


def _record(folder):
    """30 s of two seats at 10 Hz from unit 1: seat 2's ECG lead off from 5 s to 15 s (the
    unit repeats it every 5 s, then says all clear), seat 1's board unplugged from 20 s to
    the end. The show's loop in small: samples and health events to its listeners."""
    key = Keystore.new([1]).units
    now = [T0]
    intake = Intake(key, clock=lambda: now[0])
    rec = store.Recorder(folder, {"story": "Neon Rain"}, clock=lambda: now[0])
    seq = 0

    def send(packet_of):
        nonlocal seq
        seq += 1
        return packet_of(seq)

    for i in range(END_S * 10 + 1):
        now[0] = t = T0 + i * S // 10
        packets = [send(lambda q, seat=seat: wire.encode(wire.SeatSample(
            1, seat, q, t & wire.TS_MASK, hr_bpm=70.0, arousal=0.1,
            flags=int(wire.Flag.HR_OK | wire.Flag.CONTACT)), key[1])) for seat in (1, 2)]
        s = i / 10
        said = {2: wire.mask_of(["lead_off"]) if 5 <= s < 15 else 0 if s == 15 else None,
                1: wire.mask_of(["unplugged"]) if s >= 20 else None}
        for seat, mask in said.items():
            if mask is not None and (s % 5 == 0 or mask == 0):
                packets.append(send(lambda q, seat=seat, mask=mask: wire.encode_faults(
                    wire.SeatFaults(1, q, seat, mask, 0), key[1])))
        rec("samples", intake.feed(packets, t))
        for event in intake.check_health(now=t):
            rec("health", event)
    rec.close()
    return store.sessions(folder)[0]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return _record(tmp_path_factory.mktemp("sessions"))


def _copy(session, dest, *changes):
    """The session copied to `dest` (a folder of its own) with SQL `changes` made to it."""
    dest.mkdir()
    db = sqlite3.connect(session)
    db.execute(f"VACUUM INTO '{dest / session.name}'")
    db.close()
    db = sqlite3.connect(dest / session.name)
    for sql, *args in changes:
        db.execute(sql, *args)
    db.commit()
    db.close()
    return dest / session.name


def _secs(us):
    return round((us - T0) / S, 1)


def test_the_store_holds_each_seat_s_fault_spans(session):
    got = [(f.seat_id, f.fault, _secs(f.start_us), f.end_us and _secs(f.end_us), f.ended)
           for f in faults.read(session)]
    assert got == [(1, "unplugged", 20.0, None, faults.STILL_SET),
                   (2, "lead_off", 5.0, 15.0, "cleared")]


def test_csv_and_parquet_have_a_faults_table(session, tmp_path):
    files = export(session, tmp_path, "csv")
    with open(next(f for f in files if f.name.endswith(".faults.csv"))) as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["seat_id"], r["fault"], r["text"], r["ended"]) for r in rows] == [
        ("1", "unplugged", "sensor unplugged", faults.STILL_SET),
        ("2", "lead_off", "ECG lead off", "cleared")]
    assert int(rows[1]["end_us"]) - int(rows[1]["start_us"]) == 10 * S and rows[0]["end_us"] == ""
    files = export(session, tmp_path, "parquet")
    table = pq.read_table(next(f for f in files if f.name.endswith(".faults.parquet")))
    assert table.column("fault").to_pylist() == ["unplugged", "lead_off"]
    assert table.column("end_us").to_pylist()[0] is None


def test_bids_events_edf_annotations_and_an_xdf_marker_stream(session, tmp_path):
    files = export(session, tmp_path / "bids", "bids")
    events = {f.name.split("_")[0]: f for f in files if f.name.endswith("_events.tsv")}
    with open(events["sub-2"]) as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["trial_type"] == "sensor_fault"]
    assert [(r["fault"], float(r["duration"])) for r in rows] == [("lead_off", 10.0)]
    with open(events["sub-1"]) as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["trial_type"] == "sensor_fault"]
    assert [(r["fault"], float(r["duration"])) for r in rows] == [("unplugged", 10.0)]
    side = json.loads(next(f for f in files if f.name.endswith("_events.json")).read_text())
    assert "sensor_fault" in side["trial_type"]["Levels"] and "fault" in side
    r = subprocess.run([*BIDS_VALIDATOR, str(tmp_path / "bids"), "--format", "json"],
                       capture_output=True, text=True, timeout=180)
    assert r.stdout.startswith("{"), f"validator exit {r.returncode}: {r.stderr[-300:]}"
    errors = [i for i in json.loads(r.stdout)["issues"]["issues"] if i["severity"] == "error"]
    assert not errors, errors

    (edf,) = export(session, tmp_path / "edf", "edf")
    f = pyedflib.EdfReader(str(edf))
    try:
        onsets, durations, texts = f.readAnnotations()
    finally:
        f.close()
    got = {t: (round(o, 1), round(d, 1)) for o, d, t in zip(onsets, durations, texts)
           if "fault" in t}
    assert got == {"seat 2 fault lead_off": (5.0, 10.0), "seat 1 fault unplugged": (20.0, 10.0)}

    (xdf,) = export(session, tmp_path / "xdf", "xdf")
    streams, _ = pyxdf.load_xdf(xdf, dejitter_timestamps=False)
    (st,) = [s for s in streams if s["info"]["name"][0] == "empathy sensor faults"]
    marks = [(round(t - T0 / S, 1), json.loads(m[0])) for t, m in
             zip(st["time_stamps"], st["time_series"])]
    assert [(t, m["seat"], m["fault"], m["event"]) for t, m in marks] == [
        (5.0, 2, "lead_off", "start"), (15.0, 2, "lead_off", "end"),
        (20.0, 1, "unplugged", "start"), (30.0, 1, "unplugged", "end")]


def test_session_report_lists_the_spans(session, tmp_path):
    page = report(session, tmp_path).read_text()
    assert "<h2>Sensor faults</h2>" in page
    assert "ECG lead off" in page and "sensor unplugged" in page and faults.STILL_SET in page


def test_a_session_recorded_before_kind_7_opens_with_no_faults(session, tmp_path):
    """The store as it was before: no fault events (a show of session 30), and one older
    still, before frames were kept."""
    old = _copy(session, tmp_path / "old", ("DELETE FROM events WHERE data LIKE '%seat_fault%'",),
                ("DROP TABLE frames",))
    assert faults.read(old) == []
    for fmt in ("csv", "parquet", "xdf", "edf", "bids"):
        assert export(old, tmp_path / fmt, fmt)
    assert "Sensor faults" in report(old, tmp_path).read_text()


def test_a_fault_event_no_host_wrote_is_one_line(session, tmp_path):
    bent = _copy(session, tmp_path / "bent", ("INSERT INTO events VALUES (?, 'health', ?)", (
        T0, json.dumps({"event": "seat_fault", "seat": "x" * 99, "fault": "lead_off",
                        "since_s": 1}))))
    with pytest.raises(store.SessionError, match="seat_fault event's seat is 'xxx"):
        faults.read(bent)


def test_a_host_restarted_mid_show_ends_the_spans_it_held_where_it_stopped(tmp_path):
    """A resumed session: what held while the host was down is not known. The restarted
    host's intake hears the still-set fault afresh (held since before the crash, the unit
    says): its new span starts where the old one ended, never over it."""
    rec = store.Recorder(tmp_path, {"story": "t"})
    lead = {"event": "seat_fault", "seat": 3, "unit": 1, "fault": "lead_off", "since_s": 0.0}
    rec.event("health", lead, T0 + 2 * S)
    rec.event("state", {"arousal": 0.0}, T0 + 9 * S)  # the last word before the crash
    rec.event("resumed", {"session": rec.id}, T0 + 40 * S)
    rec.event("health", {**lead, "since_s": 38.5}, T0 + 41 * S)
    rec.event("health", {"event": "seat_fault_cleared", "seat": 3, "unit": 1,
                         "fault": "lead_off", "why": "cleared"}, T0 + 50 * S)
    rec.close()
    got = [(_secs(f.start_us), _secs(f.end_us), f.ended) for f in faults.read(rec.path)]
    assert got == [(2.0, 9.0, faults.HOST_STOPPED), (9.0, 50.0, "cleared")]
