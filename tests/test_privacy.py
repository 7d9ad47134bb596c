"""Privacy proof: every byte an edge unit sends, on every transport, is a documented packet.

Three real edge units run at once, one per transport (UDP, MQTT through a private mosquitto
behind a recording TCP proxy, the serial link on a pty pair). Each watches a face camera
and an eye camera (video files), reads raw PPG waveforms from a simulated sensor board on
a pty, and has one opted-out seat. We record every byte each unit puts on its link and
check it with `leaks`: each message decodes with the unit's key as a documented kind of
its fixed size, samples come at the configured rate from seats that did not opt out, and
no run of the pixels or PPG counts the unit was given appears anywhere in the bytes.
`test_detector_flags_a_leaking_sender` shows the same check fails when a frame or a
waveform is sent.
"""

from __future__ import annotations

import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import tomli_w

from empathy import wire
from empathy.keys import Keystore
from empathy.sim.rigs import DemoRigs
from empathy.sim.faces import render_eye, render_face
from empathy.transports import open_sender
from empathy.transports.mqtt import LocalBroker
from empathy.transports.serial import SlipDecoder

RUN_S = 10.0
RATE_HZ = 5.0
SIZES = {wire.KIND_SAMPLE: wire.PACKET_SIZE, wire.KIND_HEALTH: wire.HEALTH_SIZE, wire.KIND_SYNC: 22}
PPG_RANGE = (100_000, 140_000)  # the simulated board's IR counts (DC 120k, AC 1.5k)


# --- what the unit is given (so we can look for it in what it sends) ----------------------

def _videos(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(5)
    face, eye = folder / "face.avi", folder / "eye.avi"
    wf = cv2.VideoWriter(str(face), cv2.VideoWriter_fourcc(*"MJPG"), 10, (192, 192))
    we = cv2.VideoWriter(str(eye), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for i in range(20):
        f = render_face(3, 0.8, rng, size=192)
        wf.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) if f.ndim == 2 else f)
        e = render_eye(3.5 + 0.05 * i, 15.0, rng)
        we.write(cv2.cvtColor(e, cv2.COLOR_GRAY2BGR))
    wf.release()
    we.release()
    return face, eye


def _pixel_probes(videos, n: int = 400) -> list[bytes]:
    """12-byte runs of the decoded frames (what the unit sees), from busy parts of them."""
    rng, probes = random.Random(3), []
    for v in videos:
        cap = cv2.VideoCapture(str(v))
        ok, img = cap.read()
        while ok:
            for flat in (img.tobytes(), cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).tobytes()):
                for _ in range(n // 20):
                    i = rng.randrange(len(flat) - 12)
                    if len(set(flat[i:i + 12])) > 4:
                        probes.append(flat[i:i + 12])
            ok, img = cap.read()
    return probes


def ppg_runs(data: bytes, run: int = 4) -> int:
    """How many places hold `run` consecutive 32-bit values in the PPG's range (any byte
    order, any alignment): what a leaked stretch of raw waveform looks like."""
    hits = 0
    for fmt in ("<u4", ">u4"):
        for off in range(4):
            n = (len(data) - off) // 4
            v = np.frombuffer(data, fmt, n, off)
            inside = ((v >= PPG_RANGE[0]) & (v <= PPG_RANGE[1])).astype(np.int8)
            if len(inside) >= run:
                hits += int((np.convolve(inside, np.ones(run, np.int8), "valid") == run).sum())
    return hits


def leaks(messages: list[bytes], raw: bytes, key: bytes, unit: int, seats: set,
          duration_s: float, probes: list[bytes]) -> list[str]:
    """Everything about a capture that is not a documented packet; [] = clean."""
    problems, per_seat = [], Counter()
    keys = {unit: key}
    decoders = {wire.KIND_SAMPLE: lambda p: wire.decode(p, keys),
                wire.KIND_HEALTH: lambda p: wire.decode_health(p, keys),
                wire.KIND_SYNC: lambda p: wire.decode_sync(p, keys)}
    for m in messages:
        kind = wire.kind_of(m)
        if kind not in decoders or len(m) != SIZES[kind]:
            problems.append(f"undocumented message: kind {kind}, {len(m)} bytes")
            continue
        try:
            got = decoders[kind](m)
        except wire.WireError as e:
            problems.append(f"message does not decode as its kind: {e}")
            continue
        if kind == wire.KIND_SAMPLE:
            if got.seat_id not in seats:
                problems.append(f"sample for seat {got.seat_id} (opted out or unknown)")
            per_seat[got.seat_id] += 1
    for seat, n in per_seat.items():  # more samples than the rate allows: something rides them
        if n > RATE_HZ * duration_s * 1.5 + 10:
            problems.append(f"seat {seat}: {n} samples in {duration_s:.0f} s at {RATE_HZ} Hz")
    if ppg_runs(raw):
        problems.append(f"{ppg_runs(raw)} runs of PPG-range values in the bytes")
    found = sum(p in raw for p in probes)
    if found:
        problems.append(f"{found} pixel runs of the camera frames in the bytes")
    return problems


# --- capturing each transport -------------------------------------------------------------

class UdpCapture:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"udp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.messages: list[bytes] = []
        self._run = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self._run:
            try:
                self.messages.append(self.sock.recv(65536))
            except socket.timeout:
                pass

    def close(self):
        self._run = False
        self.thread.join(2)
        self.sock.close()

    @property
    def raw(self) -> bytes:
        return b"".join(self.messages)


class SerialCapture:
    """The host's end of a pty pair: every byte the unit writes to its cable."""

    def __init__(self):
        self.master, slave = os.openpty()
        self.url = f"serial://{os.ttyname(slave)}"
        self._slave = slave
        self.buf = bytearray()
        self._run = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        import select

        while self._run:
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.buf += os.read(self.master, 65536)
                except OSError:
                    return

    def close(self):
        self._run = False
        self.thread.join(2)
        os.close(self.master)
        os.close(self._slave)

    @property
    def raw(self) -> bytes:
        return bytes(self.buf)

    @property
    def messages(self) -> list[bytes]:
        return SlipDecoder().feed(self.raw)


def _varint(b: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        n |= (b[i] & 0x7F) << shift
        shift += 7
        i += 1
        if not b[i - 1] & 0x80:
            return n, i


class MqttCapture:
    """A TCP proxy in front of a private mosquitto, keeping what the unit sends upstream."""

    def __init__(self, folder: Path):
        self.broker = LocalBroker(folder)
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.url = f"mqtt://127.0.0.1:{self.lsock.getsockname()[1]}/privacy"
        self.buf = bytearray()
        self._socks: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.broker.port))
            self._socks += [client, up]
            threading.Thread(target=self._pump, args=(client, up, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, client, False), daemon=True).start()

    def _pump(self, src, dst, keep):
        try:
            while data := src.recv(65536):
                if keep:
                    self.buf += data
                dst.sendall(data)
        except OSError:
            pass

    def close(self):
        self.lsock.close()
        for s in self._socks:
            s.close()
        self.broker.stop()

    @property
    def raw(self) -> bytes:
        return bytes(self.buf)

    def control_packets(self) -> list[tuple[int, bytes]]:
        """(type, body) of every MQTT control packet in the upstream bytes."""
        b, i, out = self.raw, 0, []
        while i < len(b):
            kind = b[i] >> 4
            n, j = _varint(b, i + 1)
            out.append((kind, b[i], b[j:j + n]))
            i = j + n
        return out

    @property
    def messages(self) -> list[bytes]:
        """PUBLISH payloads on the packet topics; status words and control packets are
        checked here, as they must hold nothing else."""
        out = []
        for kind, first, body in self.control_packets():
            if kind == 3:  # PUBLISH: topic, [packet id], MQTT 5 properties, payload
                tlen = struct.unpack_from(">H", body)[0]
                topic = body[2:2 + tlen].decode()
                j = 2 + tlen + (2 if (first >> 1) & 3 else 0)
                plen, j = _varint(body, j)
                payload = body[j + plen:]
                if topic.endswith("/status"):
                    assert payload in (b"online", b"offline"), payload[:40]
                else:
                    assert topic.rsplit("/", 1)[1] in ("s", "h", "c"), topic
                    out.append(payload)
            else:  # CONNECT, SUBSCRIBE, PINGREQ, DISCONNECT, acks: small and fixed
                assert kind in (1, 4, 8, 12, 14) and len(body) < 200, (kind, len(body))
        return out


# --- the run ------------------------------------------------------------------------------

def _unit_config(folder: Path, unit: int, uplink: str, keys: Keystore, face: Path, eye: Path,
                 board_url: str, seats: list[int]) -> Path:
    keys.for_unit(unit).save(folder / f"unit{unit}.keys.toml")
    cfg = {"unit_id": unit, "uplink": uplink, "keystore": str(folder / f"unit{unit}.keys.toml"),
           "rate_hz": RATE_HZ, "baseline_s": 2.0, "seq_file": str(folder / f"unit{unit}.seq"),
           "seats": [{"seat_id": seats[0], "source": f"video://{face}?role=face&loop=1"},
                     {"seat_id": seats[1], "source": f"video://{eye}?role=eye&loop=1"},
                     {"seat_id": seats[2], "source": board_url},
                     {"seat_id": seats[3], "source": "sim://seat?seed=4", "opt_out": True}]}
    path = folder / f"unit{unit}.toml"
    path.write_bytes(tomli_w.dumps(cfg).encode())
    return path


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    folder = tmp_path_factory.mktemp("privacy")
    face, eye = _videos(folder)
    keys = Keystore.new([1, 2, 3])
    caps = {"udp": UdpCapture(), "mqtt": MqttCapture(folder / "broker"),
            "serial": SerialCapture()}
    rigs, procs, runs = [], [], {}
    try:
        for unit, (name, cap) in enumerate(caps.items(), 1):
            rig = DemoRigs(folder / f"rig{unit}", serial_seat=3, ble_seat=None, seed=unit)
            rigs.append(rig)
            seats = random.sample(range(1, 0x10000), 4)
            cfg = _unit_config(folder, unit, cap.url, keys, face, eye, rig.sources[3], seats)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "empathy.cli", "edge", "run", "--config", str(cfg),
                 "--duration", str(RUN_S), "--stats", str(folder / f"unit{unit}.stats.json")],
                stdout=open(folder / f"unit{unit}.log", "w"), stderr=subprocess.STDOUT,
                env={**os.environ, "OMP_NUM_THREADS": "1"}))
            runs[name] = {"unit": unit, "key": keys.units[unit], "seats": seats, "cap": cap}
        for p in procs:
            assert p.wait(120) == 0, (folder / "unit1.log").read_text()[-2000:]
        time.sleep(0.5)  # the last datagrams / bytes reach the capture threads
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for r in rigs:
            r.close()
    probes = _pixel_probes((face, eye))
    assert len(probes) > 500  # the pixel check is not vacuous
    yield runs, probes, folder
    for cap in caps.values():
        cap.close()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("transport", ["udp", "mqtt", "serial"])
def test_only_documented_packets_leave_the_unit(captured, transport):
    runs, probes, folder = captured
    r = runs[transport]
    cap = r["cap"]
    msgs = cap.messages
    kinds = Counter(wire.kind_of(m) for m in msgs)
    # The run was real: samples and heartbeats flowed ...
    assert kinds[wire.KIND_SAMPLE] >= 3 * RATE_HZ * 2 and kinds[wire.KIND_HEALTH] >= 3, kinds
    assert leaks(msgs, cap.raw, r["key"], r["unit"], set(r["seats"][:3]), RUN_S, probes) == []
    # ... and the unit really had camera frames and PPG waveforms in hand: its last
    # heartbeats say seats 0-2 gave readings (bit i = seat i), its counters say how many.
    beats = [wire.decode_health(m, {r["unit"]: r["key"]}) for m in msgs
             if wire.kind_of(m) == wire.KIND_HEALTH]
    assert any(h.sensors & 0b111 == 0b111 for h in beats), [h.sensors for h in beats]
    import json

    stats = json.loads((folder / f"unit{r['unit']}.stats.json").read_text())
    assert stats["readings"] > 50, stats
    # The opted-out seat sent nothing; every sample byte count is the fixed 32.
    seats = {wire.decode(m, {r["unit"]: r["key"]}).seat_id for m in msgs
             if wire.kind_of(m) == wire.KIND_SAMPLE}
    assert r["seats"][3] not in seats and seats <= set(r["seats"][:3])


def test_detector_flags_a_leaking_sender(captured):
    """The same check on a capture where a unit also sends a frame or a waveform."""
    runs, probes, folder = captured
    r = runs["udp"]
    key, unit, clean = r["key"], r["unit"], r["cap"].messages
    cap = cv2.VideoCapture(str(folder / "face.avi"))
    frame = cap.read()[1].tobytes()
    ppg = struct.pack("<40I", *np.random.default_rng(1).integers(118_000, 122_000, 40))

    def check(extra):
        msgs = clean + extra
        return leaks(msgs, b"".join(msgs), key, unit, set(r["seats"][:3]), RUN_S, probes)

    # Real datagrams from a real sender, captured the same way as the unit's.
    leak_cap = UdpCapture()
    sender = open_sender(leak_cap.url, unit)
    # name -> (packets, the words the report must hold)
    leaked = {"frame in 32-byte datagrams": ([frame[i:i + 32] for i in range(0, 64 * 32, 32)],
                                             "undocumented message"),
              "frame in one datagram": ([frame[:60000]], "pixel runs"),
              "PPG waveform": ([ppg], "runs of PPG-range values")}
    # Waveform samples smuggled inside authentic sample packets (hr field, at 100 Hz).
    leaked["waveform inside valid packets"] = ([wire.encode(wire.SeatSample(
        unit, r["seats"][2], 10**6 + i, i * 10_000, hr_bpm=v / 1000), key)
        for i, v in enumerate(np.random.default_rng(2).integers(118_000, 122_000, 1000))],
        "samples in")
    try:
        for name, (packets, reason) in leaked.items():
            leak_cap.messages.clear()
            for p in packets:
                sender.send(p)
                if len(packets) > 100:
                    time.sleep(0.0005)  # a loaded machine drops a burst of datagrams
            end = time.monotonic() + 5
            while len(leak_cap.messages) < 0.9 * len(packets) and time.monotonic() < end:
                time.sleep(0.05)
            found = check(list(leak_cap.messages))
            assert any(reason in f for f in found), (name, found)
    finally:
        sender.close()
        leak_cap.close()
    assert check([]) == []


def test_demo_gives_fresh_seat_pseudonyms_per_session():
    from empathy.host.demo import seat_pseudonyms

    a, b = seat_pseudonyms(8), seat_pseudonyms(8)
    assert len(set(a)) == 8 and all(1 <= s <= 0xFFFF for s in a)
    assert a != b  # two shows: a seat's id does not link its records


def test_session_purge_removes_the_biometric_data(tmp_path):
    from empathy.host.session.store import Recorder

    rec = Recorder(tmp_path, {"screen": "privacy"})
    marker = 123.456789  # an unusual heart rate to look for in the bytes afterwards
    rec("samples", [wire.SeatSample(1, 77, i, 1000 + i, hr_bpm=marker) for i in range(500)])
    rec.close()
    keep = Recorder(tmp_path, {"screen": "other"})  # another session must survive
    keep.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert any(rec.id in f for f in files)
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "session", "purge", rec.id, "--dir",
                        str(tmp_path), "--json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    left = list(tmp_path.iterdir())
    assert not any(rec.id in p.name for p in left), left
    assert any(keep.id in p.name for p in left)
    needle = struct.pack("<d", marker)
    for p in left:  # nothing of the purged session lingers in another file
        assert needle not in p.read_bytes() and b"privacy" not in p.read_bytes()
