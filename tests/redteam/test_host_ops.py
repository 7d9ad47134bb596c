"""Red team on the host's operations day (`empathy host run` on the venue's machine, or a
Pi host): what an ssh session, a clock without a battery and a failing card do to it.
Real processes: `empathy host run` / `empathy edge run` as systemd or an operator starts
them."""

import json
import signal

from empathy.host.session import store
from empathy.keys import Keystore
from redteam_rig import Host, free_udp_port


def test_a_host_whose_terminal_closes_ends_its_show_as_on_sigterm(tmp_path):
    """`empathy host run` typed in an ssh session to the show machine and the session
    dropped: the kernel sends SIGHUP. Before: Python's default, the host died where it
    stood: the session never marked ended, no summary. Now SIGHUP ends the show as SIGTERM
    does, in one log line."""
    host = Host(tmp_path, f"udp://127.0.0.1:{free_udp_port()}", Keystore.new([1])).start()
    try:
        host.proc.send_signal(signal.SIGHUP)
        out = host.proc.communicate(timeout=60)[0]
    finally:
        if host.alive():
            host.proc.kill()
            host.proc.wait()
    log = host.log()
    assert host.proc.returncode == 0, f"rc {host.proc.returncode}: {log[-2000:]}"
    assert "Traceback" not in log, log[-2000:]
    assert sum("SIGHUP" in line for line in log.splitlines()) == 1, log[-2000:]
    assert "frames_rendered" in json.loads(out.strip().splitlines()[-1])
    [session] = store.sessions(host.sessions)
    assert "ended_utc" in store.info(session), store.info(session)
