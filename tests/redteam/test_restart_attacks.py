"""A host that crashes and restarts must not forget what it has seen: replay windows and
seat locks survive in its state folder, and nothing stamped before its start is taken."""

import json
import signal
import time

from empathy.keys import Keystore

from redteam_rig import Host, Unit, free_udp_port, udp_send, wait_for


def _saved_seats(host: Host) -> dict:
    try:
        return json.loads((host.state_dir / "intake.json").read_text())["seats"]
    except (OSError, ValueError, KeyError):  # not written yet (or mid-replace)
        return {}


def test_replays_and_seat_grabs_after_a_host_crash_are_refused(tmp_path):
    """Finding: replay protection forgot everything when the host restarted."""
    keys = Keystore.new([1, 2])
    port = free_udp_port()
    host = Host(tmp_path, f"udp://127.0.0.1:{port}", keys).start()  # seats lock on first sight
    send = udp_send(port)
    unit = Unit(1, [7], keys.units[1], send).start()
    try:
        host.wait_state(lambda s: [x["seat"] for x in s["seats"]] == [7], 30, "seat 7 heard")
        wait_for(lambda: "7" in _saved_seats(host), 30,  # written once a second, so
                 "seat 7's lock in the state folder")  # 1.5 s was not sure on a loaded host
        unit.stop()
        captured = list(unit.sent)  # everything the host took: an eavesdropper has it all
        host.stop(signal.SIGKILL)  # a crash: no goodbye, the state up to 1 s old
        host.start()
        for p in captured:
            send(p)
        grab = Unit(2, [7], keys.units[2], send, 0.9).start()  # unit 2 wants seat 7 now
        time.sleep(1.0)
        grab.stop()
        total = len(captured) + len(grab.sent)
        s = host.wait_state(lambda s: s["packets"]["received"] == total
                            and sum(s["packets"]["rejected"].values()) == total,
                            20, "every replay and every grab read and refused")
        rejected = s["packets"]["rejected"]
        assert rejected.get("replayed", 0) + rejected.get("stale", 0) == len(captured)
        assert rejected["foreign_seat"] == len(grab.sent)
        assert s["packets"]["accepted"] == 0 and s["seats"] == []
        # the honest unit goes on where it left off, and is heard at once
        resumed = Unit(1, [7], keys.units[1], send, seq0=unit.seq).start()
        try:
            host.wait_state(lambda s: [(x["seat"], x["unit"]) for x in s["seats"]] == [(7, 1)],
                            10, "unit 1 back on seat 7")
        finally:
            resumed.stop()
    finally:
        unit.stop()
        host.stop()
