"""mDNS discovery with a real zeroconf announcer and browser on this machine's LAN side."""

import time

import pytest

from empathy import wire
from empathy.clock import now_us
from empathy.discovery import Announcement, find_host
from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.transports import TransportError, open_receiver, open_sender

KEY = bytes(32)  # a cue signing key: announcements are signed


def test_unit_with_auto_uplink_finds_and_reaches_the_host():
    keys = Keystore.new([1])
    rx = open_receiver("udp://0.0.0.0:0")
    ann = Announcement(f"udp://0.0.0.0:{rx.port}", keys.cue_signing, screen="disc1")
    try:
        tx = open_sender("udp://auto", 1, host_key=keys.public_cue_key())
        assert tx.addr[1] == rx.port and not tx.addr[0].startswith("0.")
        intake = Intake(keys.units)
        for seq in range(20):
            tx.send(wire.encode(wire.SeatSample(1, 1, seq, now_us()), keys.units[1]))
        end = time.monotonic() + 5
        while intake.accepted < 20 and time.monotonic() < end:
            intake.feed(rx.recv_batch(0.05))
        assert intake.accepted == 20
        tx.close()
    finally:
        ann.close()
        rx.close()


def test_only_the_asked_scheme_and_screen_and_a_clear_error_otherwise():
    keys = Keystore.new([])
    ann = Announcement("mqtt://0.0.0.0:1883/screen2", keys.cue_signing, screen="disc2")
    try:
        assert find_host("mqtt", keys.public_cue_key(), 5, screen="disc2").endswith(
            ":1883/screen2")
        with pytest.raises(TransportError, match="configure the host's address"):
            find_host("serial", keys.public_cue_key(), 1.0)
    finally:
        ann.close()


def test_announce_only_beyond_loopback_and_never_fatal():
    from empathy.discovery import announce_if_lan

    assert announce_if_lan("udp://127.0.0.1:47100", KEY) is None
    assert announce_if_lan("serial:///dev/ttyUSB0", KEY) is None
    assert announce_if_lan("udp://10.9.9.9:47100", KEY) is None  # not our address: warn, go on


def test_a_foreign_address_leaves_no_socket_open():
    # zeroconf opens its listening socket before it finds the address is not ours; left to
    # the garbage collector (or held by the logged error), a host that retries announcing
    # runs out of descriptors
    import gc
    import os
    import warnings

    from empathy.discovery import announce_if_lan

    gc.collect()  # what earlier tests left to the collector is not ours to count
    fds = len(os.listdir("/proc/self/fd"))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(3):
            assert announce_if_lan("udp://10.9.9.9:47100", KEY) is None
        gc.collect()
        assert len(os.listdir("/proc/self/fd")) <= fds
    assert not [w for w in seen if issubclass(w.category, ResourceWarning)], \
        [str(w.message) for w in seen]
