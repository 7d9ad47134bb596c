"""The host's cue signing key leaked (a copied keystore backup): the operator rotates it with
`empathy keys cue-key` while the show runs. A real `empathy host run` must sign with the new
key from its next keystore check, a unit that has its new keystore must take those cues, and
the old key must no longer move any unit that has it."""

import socket
import subprocess
import sys

from empathy import wire
from empathy.clock import now_us
from empathy.edge.screen import ScreenState
from empathy.keys import Keystore

from redteam_rig import Host, free_udp_port, wait_for


def test_a_cue_key_rotated_mid_show_is_used_by_the_running_host_and_the_old_one_is_dead(
        tmp_path):
    keys = Keystore.new([1])
    old_signer = wire.CueSigner(keys.cue_signing)  # what the thief copied
    screen = ScreenState(0, keys.public_cue_key(), host_now=now_us)
    host = Host(tmp_path, f"udp://127.0.0.1:{free_udp_port()}", keys)
    host.cfg["show"]["cue_targets"] = [f"127.0.0.1:{screen.port}"]
    host.start()
    try:
        wait_for(lambda: screen.taken > 5, 30, "the unit to follow the host's cues")
        assert screen.rejected == 0
        edge = tmp_path / "edge"
        done = subprocess.run([sys.executable, "-m", "empathy.cli", "keys", "cue-key",
                               "--keystore", str(tmp_path / "host.keys.toml"),
                               "--edge-dir", str(edge)], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        # The running host re-reads its keystore and signs with the new key: the unit, still
        # on the old public key, refuses what it now sends.
        wait_for(lambda: screen.rejected > 3, 20, "the host to sign with the new cue key")
        assert "screen cues: new cue key in use" in host.log()
        new_public = Keystore.load(edge / "unit1.keys.toml", "unit").cue_public
        assert new_public != old_signer.public
        screen.use_key(new_public)  # the unit's keystore watch, as on a heartbeat
        taken = screen.taken
        wait_for(lambda: screen.taken > taken + 3, 20, "the unit to take the new key's cues")
        # The thief's copy of the old key now moves nobody, however fresh its cue.
        rejected, before = screen.rejected, screen.last
        forged = wire.ScreenCue(before.seq + 1000, now_us() & wire.TS_MASK, "dawn", 0, 1.0)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(wire.encode_cue(forged, old_signer), ("127.0.0.1", screen.port))
        wait_for(lambda: screen.rejected > rejected, 5, "the old key's cue to be refused")
        assert screen.last.seq != forged.seq
        assert host.alive()
    finally:
        host.stop()
        screen.close()
