"""LSL outlets of a real host, read by a real LSL inlet (as LabRecorder would)."""

import json
import time

import pylsl

from empathy.host.lsl import SEAT
from test_api import HostRig


def inlet(source: str, name: str) -> pylsl.StreamInlet:
    found = pylsl.resolve_byprop("source_id", f"{source}-{name}", 1, 30.0)
    assert found, f"no LSL stream {name}"
    i = pylsl.StreamInlet(found[0], max_buflen=60)
    i.open_stream(10.0)
    return i


def test_seat_samples_and_events_reach_an_lsl_inlet(tmp_path):
    source = f"empathy-test-{time.monotonic_ns()}"
    rig = HostRig(tmp_path, lsl={"enabled": True, "source": source, "seats": True}).start()
    try:
        seats, events = inlet(source, "EmpathySeats"), inlet(source, "EmpathyEvents")
        audience = inlet(source, "EmpathyAudience")
        labels = []
        ch = seats.info(10.0).desc().child("channels").child("channel")
        while not ch.empty():
            labels.append(ch.child_value("label"))
            ch = ch.next_sibling()
        assert tuple(labels) == SEAT
        got, stamps = [], []
        deadline = time.monotonic() + 30
        while len(got) < 60 and time.monotonic() < deadline:
            chunk, ts = seats.pull_chunk(timeout=1.0)
            got += chunk
            stamps += ts
        sent = {(s.unit_id, s.seq): s for _, s in rig.sent}
        assert len(got) >= 60
        for row, ts in zip(got, stamps):
            s = sent[(int(row[1]), int(row[2]))]
            assert tuple(row) == tuple(float(getattr(s, c)) for c in SEAT)
            assert ts == s.ts_us / 1e6  # the measurement time, on the shared clock
        deadline, a = time.monotonic() + 20, None
        while time.monotonic() < deadline and not (a and a[4] == 3.0):  # all 3 seats good
            a, ts = audience.pull_sample(timeout=1.0)
        assert a and a[4] == a[5] == 3.0 and abs(ts - pylsl.local_clock()) < 5
        _, option, _ = rig.forceable()
        rig.post("/api/v1/control", json.dumps({"action": "force_branch", "option": option}
                                               ).encode(), rig.token)
        kinds = []
        deadline = time.monotonic() + 40
        while "decision" not in kinds and time.monotonic() < deadline:
            m, _ = events.pull_sample(timeout=1.0)
            if m:
                doc = json.loads(m[0])
                kinds.append(doc["kind"])
                if doc["kind"] == "decision":
                    assert doc["chosen"] == option
        assert "control" in kinds and "decision" in kinds
    finally:
        rig.close()


def test_per_seat_stream_is_off_unless_asked_for(tmp_path):
    """`[lsl] enabled = true` alone publishes the audience and events, not each seat."""
    source = f"empathy-test-{time.monotonic_ns()}"
    rig = HostRig(tmp_path, lsl={"enabled": True, "source": source}).start()
    try:
        assert inlet(source, "EmpathyAudience")  # the host's streams are up ...
        assert pylsl.resolve_byprop("source_id", f"{source}-EmpathySeats", 1, 3.0) == []
    finally:
        rig.close()


def graded(got) -> bool:
    """A grade marker at the operator's 0.4: the show ramps to it and blends in 1/256 steps
    (0.3984375), so never exactly 0.4; waiting for == 0.4 ran out the whole 40 s."""
    return any(d["kind"] == "grade" and abs(d["strength"] - 0.4) <= 1 / 256 for d, _ in got)


def test_marker_stream_names_segments_decisions_and_grades_like_the_session(tmp_path):
    """LabRecorder's way: resolve every stream of the host, open the marker inlet with clock
    sync, record while the show runs; the markers are the session's own, at the same times."""
    from empathy.host.session import store
    from empathy.host.session.exports import recording

    source = f"empathy-test-{time.monotonic_ns()}"
    rig = HostRig(tmp_path, lsl={"enabled": True, "source": source}).start()
    got = []
    try:
        found = [s for s in pylsl.resolve_streams(5.0) if s.source_id().startswith(source)]
        assert {s.name() for s in found} >= {"EmpathyMarkers", "EmpathyEvents"}
        info = next(s for s in found if s.name() == "EmpathyMarkers")
        assert info.type() == "Markers" and info.channel_format() == pylsl.cf_string
        markers = pylsl.StreamInlet(info, max_buflen=60,
                                    processing_flags=pylsl.proc_clocksync)
        markers.open_stream(10.0)
        forced, option, _ = rig.forceable()
        assert rig.post("/api/v1/control", json.dumps(
            {"action": "grade_strength", "strength": 0.4}).encode(), rig.token)[0] == 200
        assert rig.post("/api/v1/control", json.dumps(
            {"action": "force_branch", "option": option}).encode(), rig.token)[0] == 200
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not (  # and the segment the decision chose
                any(d.get("decision") == forced for d, _ in got) and graded(got)
                and any(d["kind"] == "segment" for d, _ in got)):
            chunk, stamps = markers.pull_chunk(timeout=1.0)
            got += [(json.loads(m[0]), ts) for m, ts in zip(chunk, stamps)]
    finally:
        rig.close()
    kinds = [d["kind"] for d, _ in got]
    assert {"segment", "decision", "grade"} <= set(kinds), kinds
    assert graded(got), [d for d, _ in got if d["kind"] == "grade"]
    decision = next(d for d, _ in got if d.get("decision") == forced)
    assert decision["chosen"] == option and decision["reason"] and "scores" in decision
    assert decision["text"].startswith(f"decision {decision['decision']}: {option}")
    # The session recorded the same markers; segments and grades at the very same times
    # (both stamp the frame as shown; LSL's clock correction on loopback is tens of us),
    # the decision within the show loop's turn.
    rec = recording.load(store.sessions(tmp_path / "sessions")[-1])
    for d, ts in got:
        same = [m for m in rec.markers if m.kind == d["kind"] and m.text() == d["text"]]
        assert same, d
        closest = min(abs(m.ts_us / 1e6 - ts) for m in same)
        assert closest < (0.05 if d["kind"] == "decision" else 1e-3), (d, closest)
