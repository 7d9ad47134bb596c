"""Red team, session 32: `lsl://` on a LAN that other devices and guests' laptops share.

Before: the seat took whichever matching stream answered first (two 'ECG' amplifiers: a
coin flip at every start, 4 of 10 one way in /tmp/lslred/exp1.py), and said nothing; a
stream lost and replaced by another of the same name was taken (another person's heart),
one that came back with the same source_id at another rate kept the old rate in its chunks
(liblsl's recovery, its info unchanged), a 10,000-channel stream cost 3.7 GB and 15 CPU
seconds in ten pulls, a nominal rate of 1e9 or 1e-4 Hz went on to the beat detector, a
1e300 sample went on as a reading, and `Bob's ECG` could not be named.
Real pylsl outlets in this process, the source as a unit opens it."""

from __future__ import annotations

import logging
import threading
import uuid
from urllib.parse import quote

import numpy as np
import pylsl
import pytest

from empathy.sensors.base import Health, Waveform, open_source
from polling import collect

pytestmark = pytest.mark.timeout(180)


class Device:
    """An LSL outlet pushing `value` in every channel at fs (10 samples a chunk; at most 100
    chunks a second: a stream saying 1e9 Hz spun a core for 9 CPU-s pushing as fast as it
    could, and only its stated rate is judged) until stopped; stopping destroys the outlet, as
    a device switched off does."""

    def __init__(self, name, source_id, value=1.0, fs=250.0, n=1, fmt=pylsl.cf_float32,
                 type_="ECG"):
        self.outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, type_, n, fs, fmt, source_id))
        self.row, self.fs = [value] * n, fs
        self._stop, self.paused = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop.wait(max(10 / self.fs, 0.01) if self.fs else 0.05):
            if not self.paused.is_set():
                self.outlet.push_chunk([self.row] * 10)

    def stop(self):
        self._stop.set()
        self.thread.join(5)
        self.outlet = None


def name() -> str:
    return f"ECG {uuid.uuid4().hex[:6]}"


def waves(src, until, timeout_s=30.0) -> list:
    return [r for r in collect(src, until, timeout_s) if isinstance(r, Waveform)]


def first_health(src, timeout_s=30.0) -> Health:
    return next(r for r in collect(src, lambda out: any(isinstance(r, Health) for r in out),
                                   timeout_s) if isinstance(r, Health))


def test_two_streams_that_match_are_named_and_neither_is_taken():
    """Two amplifiers both 'ECG x': before, one was taken (contact=True first), which one
    by chance; now one fault names both (source_id, host) and says how to pick."""
    n = name()
    devs = [Device(n, "amp-A"), Device(n, "guest-B", value=7.0)]
    src = open_source(f"lsl://{quote(n)}?type=ECG&resolve_s=10")
    try:
        h = first_health(src)
        assert not h.contact, h
        assert "2 LSL streams match" in h.fault and "source_id= or host=" in h.fault, h.fault
        assert "'amp-A'" in h.fault and "'guest-B'" in h.fault and "host '" in h.fault
        assert src.stats()["samples"] == 0
    finally:
        src.close()
    src = open_source(f"lsl://{quote(n)}?type=ECG&source_id=guest-B&resolve_s=10")
    try:  # named: taken
        got = waves(src, lambda out: any(isinstance(r, Waveform) for r in out))
        assert all(np.all(w.samples == 7.0) for w in got)
    finally:
        src.close()
        for d in devs:
            d.stop()


def test_a_lost_stream_is_not_replaced_by_another_device_with_its_name():
    """The seat's amplifier (no source_id) goes away; a guest's stream with the same name
    and type appears, then the amplifier comes back. Before: the guest's 7s were read (a
    reconnect to another device, nothing said); now only the amplifier's 3s."""
    n = name()
    amp = Device(n, "")
    src = open_source(f"lsl://{quote(n)}?type=ECG&resolve_s=10")
    guest = back = None
    try:
        waves(src, lambda out: any(isinstance(r, Waveform) for r in out))
        uid = src.stats().get("uid")
        amp.stop()
        lost = collect(src, lambda out: any(isinstance(r, Health) and not r.contact
                                            for r in out))
        assert "lost" in [r for r in lost if isinstance(r, Health)][-1].fault
        guest = Device(n, "guest-laptop", value=7.0)
        # the guest is there for three of the seat's one-second looks before the amp is back
        assert pylsl.resolve_bypred(f"source_id='guest-laptop' and name='{n}'", 1, 10)
        threading.Event().wait(3.0)
        back = Device(n, "", value=3.0)
        got = waves(src, lambda out: any(isinstance(r, Waveform) for r in out))
        assert all(np.all(w.samples == 3.0) for w in got), [w.samples[:1] for w in got]
        assert src.stats()["reconnects"] == 1 and src.stats()["uid"] != uid
    finally:
        src.close()
        for d in (amp, guest, back):
            if d is not None and d.outlet is not None:
                d.stop()


def test_a_stream_back_with_other_channels_is_refused_and_at_another_rate_is_followed():
    """The same source_id comes back with 3 int64 channels: refused, one fault saying so
    (before: liblsl's recovery refused it without a word, 'silent' only). Then at 500 Hz
    instead of 250: its chunks say 500 Hz (before: 250, the heart rate off by 2x)."""
    n, sid = name(), f"amp-{uuid.uuid4().hex[:6]}"
    dev = Device(n, sid)
    src = open_source(f"lsl://?source_id={sid}&resolve_s=10")
    try:
        got = waves(src, lambda out: any(isinstance(r, Waveform) for r in out))
        assert got[0].fs_hz == 250.0
        dev.stop()
        dev = Device(n, sid, value=2, n=3, fmt=pylsl.cf_int64)
        out = collect(src, lambda out: any(isinstance(r, Health) and "came back" in r.fault
                                           for r in out))
        said = [r.fault for r in out if isinstance(r, Health) and "came back" in r.fault]
        assert len(said) == 1 and "3 int64 channels" in said[0] and "was 1 float32" in said[0]
        dev.stop()
        dev = Device(n, sid, value=5.0, fs=500.0)
        got = waves(src, lambda out: any(isinstance(r, Waveform) and r.fs_hz == 500.0
                                         for r in out))
        assert all(w.fs_hz == 500.0 for w in got if w.samples[0] == 5.0)
    finally:
        src.close()
        dev.stop()


@pytest.mark.parametrize("shape,said", [
    (dict(n=10_000), "stream has 10000 channels"),
    (dict(fs=1e9), "nominal rate 1e+09 Hz is outside"),
    (dict(fs=1e-4), "nominal rate 0.0001 Hz is outside"),
    (dict(fmt=pylsl.cf_string, value="x"), "strings, not numbers"),
])
def test_a_stream_no_seat_can_read_is_refused_in_one_line(shape, said):
    """Before: the 10,000-channel and both rates were opened (contact=True) and read."""
    sid = f"odd-{uuid.uuid4().hex[:6]}"
    dev = Device(name(), sid, **shape)
    src = open_source(f"lsl://?source_id={sid}&resolve_s=10")
    try:
        h = first_health(src)
        assert not h.contact and said in h.fault, h
        assert src.stats()["samples"] == 0
    finally:
        src.close()
        dev.stop()


def test_names_with_quotes_are_found():
    """A device called `Bob's ECG` (and one with both quotes): before, refused at start."""
    for n in (f"Bob's ECG {uuid.uuid4().hex[:4]}", f"Ann \"A\" O'Neil {uuid.uuid4().hex[:4]}"):
        dev = Device(n, "")
        src = open_source(f"lsl://{quote(n)}?resolve_s=10")
        try:
            assert waves(src, lambda out: any(isinstance(r, Waveform) for r in out))
            assert src.stats()["name"] == n
        finally:
            src.close()
            dev.stop()


def test_huge_values_and_a_stamp_that_is_no_time_are_dropped_and_the_show_goes_on(caplog):
    """A double64 ECG stream sends 1e300 samples among good ones, then one chunk stamped inf
    (or 1e300 s). The 1e300 chunks are dropped, said once (before: they went on as
    readings). A stamp that is no time leaves every later stamp of liblsl's de-jitter NaN
    (or 1e300): before, the reader thread died on int(NaN) and the seat was silent for the
    rest of the show; now the stream is reopened, said once, and good chunks follow."""
    sid = f"big-{uuid.uuid4().hex[:6]}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name(), "ECG", 1, 250.0, pylsl.cf_double64,
                                                 sid))
    src = open_source(f"lsl://?source_id={sid}&resolve_s=10")
    caplog.set_level(logging.WARNING, logger="empathy.sensors.lsl")
    got = []

    def until(pred):  # push a chunk (value, stamp) at a time until pred holds
        for _ in range(2000):
            value, stamp = feed.pop(0) if feed else (1.0, pylsl.local_clock())
            outlet.push_chunk([[value]] * 10, stamp)
            got.extend(collect(src, lambda out: True))
            if pred():
                return
        raise AssertionError(f"timed out; stats {src.stats()}")

    try:
        assert src.wait_connected(30)
        feed = []
        until(lambda: src.stats()["samples"])  # the inlet subscribes on its first pull
        n0 = src.stats()["samples"]
        feed = [(1e300 if k % 2 else 1.0, pylsl.local_clock() + k / 25) for k in range(10)]
        until(lambda: src.stats()["samples"] >= n0 + 100)
        assert src.stats()["rejected"] == 50
        for bad in (float("inf"), 1e300):
            n = src.stats()["reconnects"]
            feed = [(1.0, bad)]
            until(lambda: src.stats()["reconnects"] > n and any(
                isinstance(r, Waveform) for r in got[-3:]))
    finally:
        src.close()
    waves = [r for r in got if isinstance(r, Waveform)]
    assert all(np.all(w.samples == 1.0) and 0 < w.ts_us < 2**62 for w in waves)
    said = [r.getMessage() for r in caplog.records]
    assert said.count("LSL samples rejected") == 1, said
    faults = [r.fault for r in got if isinstance(r, Health) and "not a time" in r.fault]
    assert len(faults) == 2 and src.stats()["reconnects"] == 2


def test_a_silent_stream_is_looked_for_again_and_its_contact_said_once():
    """Without liblsl's recovery nothing notices a link cut that sends no FIN (a cable, a
    Wi-Fi drop): the seat drops a stream silent for 5 x silence_s and looks for it again. A
    device paused through two such reopens: one 'silent', no contact flapping at each
    reopen, then its samples and one contact=True."""
    sid = f"paused-{uuid.uuid4().hex[:6]}"
    dev = Device(name(), sid)
    src = open_source(f"lsl://?source_id={sid}&silence_s=0.4&resolve_s=10")
    try:
        waves(src, lambda out: any(isinstance(r, Waveform) for r in out))
        dev.paused.set()
        got = collect(src, lambda out: src.stats()["reconnects"] >= 2, 60)
        dev.paused.clear()
        got += collect(src, lambda out: any(isinstance(r, Waveform) for r in out))
    finally:
        src.close()
        dev.stop()
    said = [(h.contact, h.fault) for h in got if isinstance(h, Health)]
    assert said == [(False, "LSL stream silent"), (True, "")], said


def test_a_second_stream_appearing_after_the_first_was_taken_is_named_and_not_read():
    """Another device with the seat's stream's name comes on the network after the seat took
    the first (a guest's laptop, an amplifier switched on late). Before: nothing noticed it,
    only a second answering within the first second was. Now one fault, a few seconds on,
    names both; the stream taken is still read and only its (the seat keeps its person)."""
    n = name()
    amp = Device(n, "amp-A")
    src = open_source(f"lsl://{quote(n)}?type=ECG&resolve_s=10")
    guest = None
    try:
        waves(src, lambda out: any(isinstance(r, Waveform) for r in out))
        guest = Device(n, "guest-B", value=7.0)
        got = collect(src, lambda out: any(isinstance(r, Health) and "guest-B" in r.fault
                                           for r in out), 60)
        said = [r for r in got if isinstance(r, Health) and r.fault]
        got += waves(src, lambda out: len([r for r in out if isinstance(r, Waveform)]) >= 3)
    finally:
        src.close()
        for d in (amp, guest):
            if d is not None:
                d.stop()
    assert len(said) == 1 and said[0].contact, said
    assert "'amp-A'" in said[0].fault and "'guest-B'" in said[0].fault, said[0].fault
    assert "still reading" in said[0].fault and "source_id" in said[0].fault, said[0].fault
    wv = [r for r in got if isinstance(r, Waveform)]
    assert len(wv) >= 3 and all(np.all(w.samples == 1.0) for w in wv), \
        sorted({float(w.samples[0]) for w in wv})
    assert src.stats()["source_id"] == "amp-A" and src.stats()["reconnects"] == 0
