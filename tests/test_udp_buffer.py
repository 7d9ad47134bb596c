"""The host's UDP receive buffer is the queue in front of a thousand seats: asked 4 MiB, a
stock kernel gives 208 KiB (net.core.rmem_max), and a host stalled for a moment then drops
packets. The host says so when it starts, and `doctor` says so before the show, each with
the fix; real sockets, this machine's real limit."""

import logging
from pathlib import Path

from empathy.host.doctor_config import check_listen
from empathy.transports import udp

RMEM_MAX = int(Path("/proc/sys/net/core/rmem_max").read_text())


def test_a_buffer_the_kernel_caps_is_said_with_the_fix(caplog):
    with caplog.at_level(logging.WARNING):
        capped = udp.Receiver("udp://127.0.0.1:0", rcvbuf_bytes=4 * RMEM_MAX)
        capped.close()
        granted = udp.Receiver("udp://127.0.0.1:0", rcvbuf_bytes=RMEM_MAX // 2)
        granted.close()
    assert capped.rcvbuf_bytes < 4 * RMEM_MAX and granted.rcvbuf_bytes >= RMEM_MAX // 2
    said = [r.getMessage() for r in caplog.records if "rmem_max" in r.getMessage()]
    assert len(said) == 1 and f"{4 * RMEM_MAX >> 10} KiB" in said[0], said
    assert "sysctl" in said[0]


def test_doctor_says_it_before_the_show(tmp_path):
    (found,) = [f for f in check_listen("udp://127.0.0.1:0", rcvbuf_bytes=4 * RMEM_MAX)
                if "buffer" in f.check]
    assert found.status == "warn" and "net.core.rmem_max" in found.fix
    (found,) = [f for f in check_listen("udp://127.0.0.1:0", rcvbuf_bytes=RMEM_MAX // 2)
                if "buffer" in f.check]
    assert found.status == "ok"
