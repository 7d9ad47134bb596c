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
