"""Operations, pass 25 (continued from test_ops25.py): what a cinema's operator meets when
the disks misbehave: a unit on a read-only card whose wall clock NTP stepped back, the
host's disk filling mid-show, and how many shows its session folder has room for. Real
parts: `empathy edge run` and `empathy host run` processes, an ext4 card image and tmpfs
mounts (root)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from empathy.keys import Keystore

from redteam_rig import Host, Unit
from test_ops22 import needs_root


@needs_root
def test_a_unit_on_a_read_only_card_restarted_after_its_clock_went_back(tmp_path):
    """test_ops24's unit on a card read-only from its start (sequence file written a
    minute before), restarted by systemd after NTP stepped its wall clock back an hour
    (as it does on a Pi that booted on a saved time ahead of the real one): the start is
    reckoned from the time since the file was written, which the clock now puts before
    the write, so the unit started from the file's number again, below everything it had
    sent, and the host refused its packets as replays. Here the step back is the file's
    time moved an hour ahead between the runs (the same reading for the unit, without
    moving this machine's clock). Now a unit that cannot write its card keeps its
    reserve in its runtime folder (tmpfs: systemd's RuntimeDirectory, or
    $XDG_RUNTIME_DIR), which lasts the boot and never reads a clock: a restart goes on
    past it."""
    from empathy.host.receive import Intake
    from empathy.transports import open_receiver

    from test_ops22 import _card, _one_seat

    ks = Keystore.new([1])
    rx = open_receiver("udp://127.0.0.1:0")
    intake = Intake(ks.units, reply=rx.reply)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    (tmp_path / "run").mkdir(mode=0o700)
    accepted, refused = [], []
    try:
        with _card(tmp_path) as card:
            seq = card / "unit1.seq"
            seq.write_text("5000")
            written = time.time() - 60
            os.utime(seq, (written, written))
            subprocess.run(["mount", "-o", "remount,ro", str(card)], check=True)
            cfg = _one_seat(tmp_path, f"udp://127.0.0.1:{rx.port}")
            cfg.write_text(cfg.read_text().replace(f"{tmp_path}/seq", str(seq)))
            ks.for_unit(1).save(tmp_path / "k.toml")
            for run in range(2):
                if run:  # the clock an hour back: the card's write an hour ahead of it
                    subprocess.run(["mount", "-o", "remount,rw", str(card)], check=True)
                    os.utime(seq, (written + 3600, written + 3600))
                    subprocess.run(["mount", "-o", "remount,ro", str(card)], check=True)
                a0, r0 = intake.accepted, sum(intake.rejected.values())
                unit = subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run",
                                         "--config", str(cfg), "--duration", "6"], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
                while unit.poll() is None:
                    intake.feed(rx.recv_batch(0.05))
                out = unit.communicate(timeout=10)[0]
                assert unit.returncode == 0 and "Traceback" not in out, out
                intake.feed(rx.recv_batch(0.2))
                accepted.append(intake.accepted - a0)
                refused.append(sum(intake.rejected.values()) - r0)
    finally:
        rx.close()
    loss = intake.unit_report()[0]["loss"]
    print({"accepted": accepted, "refused": refused, "rejected": dict(intake.rejected),
           "loss": loss})
    assert min(accepted) > 50 and refused == [0, 0], intake.rejected
    assert loss < 0.02, loss


@needs_root
def test_a_host_whose_disk_fills_mid_show_keeps_playing_and_says_so_once(tmp_path):
    """The host's disk fills 3 s into the show (a recording left running, a log grown):
    its frame log, session and state folder on a 2 MB tmpfs, filled to the last byte.
    Before: the frame log's flush raised in the player's thread, which died (a traceback,
    'player failed'): the picture stopped with the unit still sending (70 frames in an
    11-s show at 10 fps), the state's failure was logged every second, and SIGTERM took
    31 s (the
    show waited for a player that never said it was done; systemd kills at 30 s). Now
    the frame log drops its rows while the disk is full and says so once; the picture
    goes on, the state's failure is said once, and the show ends at once. With room
    again the log takes rows again, and a row the full disk cut is ended."""
    from empathy.host.player import framelog
    from redteam_rig import free_udp_port, udp_send, wait_for

    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(full)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    keys = Keystore.new([1])
    port = free_udp_port()
    host = Host(tmp_path, f"udp://127.0.0.1:{port}", keys)
    host.cfg.update(frame_log=str(full / "frames.csv"), state_dir=str(full / "state"))
    host.cfg["session"]["dir"] = str(full / "sessions")
    unit = Unit(1, [1, 2], keys.units[1], udp_send(port))
    try:
        host.start()
        unit.start()
        time.sleep(3)
        with open(full / "filler", "wb", buffering=0) as f:  # (a buffer's close would raise)
            try:
                while True:
                    f.write(b"x" * 65536)
            except OSError:
                pass
        t_full = time.monotonic()
        time.sleep(8)
        (full / "filler").unlink()  # room again: the log takes rows again within 5 s
        wait_for(lambda: "frames.csv: writing again" in host.log(), 6, "the frame log's rows")
        time.sleep(1)  # a second of rows since (not the fixed 6 s it was)
        unit.stop()
        t0 = time.monotonic()
        summary = host.stop() or {}
        stop_s = time.monotonic() - t0
        played_s = time.monotonic() - t_full
        rows = framelog.read(full / "frames.csv")
        framelog.summarise(full / "frames.csv")  # a row cut by the full disk reads
    finally:
        unit.stop()
        host.stop()
        subprocess.run(["umount", str(full)])
    log = host.log()
    assert "writing again" in log and int(rows[-1]["index"]) >= 10 * (played_s - 2), rows[-1]
    said = {"state": log.count("cannot save the intake's state"),
            "frame_log": log.count("frames.csv: cannot write"),
            "tracebacks": log.count("Traceback")}
    frames = summary.get("frames_rendered", 0)
    print({"frames": frames, "stop_s": round(stop_s, 1), **said})
    assert said["tracebacks"] == 0 and "player failed" not in log, log[-3000:]
    assert frames >= 10 * (played_s - 1), (frames, played_s)  # 10 fps on through the full disk
    assert said["state"] <= 2 and said["frame_log"] == 1, log[-3000:]  # the show's end's own
    assert stop_s < 10, stop_s


@needs_root
def test_doctor_says_how_many_shows_the_session_folder_has_room_for(tmp_path):
    """The doctor's only measure of the session folder was a fixed floor: ok from 1 GB
    free, where a 2-h show of 1,000 seats at 10 Hz records 5.7 GB (79 bytes a sample,
    measured on the store). Now, once a session was recorded, it says how many shows the
    size of the largest of the last five still fit: ok from 3, a warning under, a
    failure under one. A real session (30,000 samples) on an 8 MB tmpfs."""
    from empathy import wire
    from empathy.host.doctor_files import check_session_room
    from empathy.host.session.store import Recorder

    folder = tmp_path / "sessions"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        assert check_session_room(folder) == []  # no show recorded yet: nothing to go by
        rec = Recorder(folder, {"story": "ops25"})
        for k in range(300):
            rec("samples", [wire.SeatSample(1 + s // 8, s, k, 10**6 + k * 10**5, 70.0, 40.0,
                                            3.5, 0.1, 0.1, 3, 0.8, 0) for s in range(100)])
        rec.close()
        size = sum(p.stat().st_size for p in folder.iterdir())
        got = [check_session_room(folder)]
        with open(folder / "filler", "wb") as f:  # the rest of the disk, less half a show
            f.write(b"x" * (int(os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize)
                            - size // 2))
        got.append(check_session_room(folder))
    finally:
        subprocess.run(["umount", str(folder)])
    print(size, [(f.status, f.detail) for fs in got for f in fs])
    assert [f.status for fs in got for f in fs] == ["warn", "fail"], got
    assert "room for 2 show(s)" in got[0][0].detail and "purge" in got[0][0].fix
    assert "room for 0 show(s)" in got[1][0].detail
