"""Fuzz every parser that takes outside input: random bytes and mutations of valid inputs.

`empathy bench fuzz` feeds each parser EMPATHY_FUZZ_N inputs (default 1,000,000; half
random bytes, half mutations of real packets/files) and reports inputs/s and how many
inputs raised anything but the parser's documented error (value 0 expected), plus the
slowest single input (a hang would show there). tests/test_fuzz_parsers.py drives the same
table with hypothesis.

Wire packets are fuzzed twice per input: as received, and re-tagged (screen cues re-signed)
with the right key, so the field checks behind the HMAC or signature are reached too (a
forger cannot, a buggy unit or host can).
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import tomli_w

from empathy import wire, wire_batch
from empathy.config import ConfigError, loads as config_loads, to_dict
from empathy.sensors.base import SourceError

KEY = bytes(range(32))
KEYS = {1: KEY}
CUE_SIGNER = wire.CueSigner(KEY)
CUE_VERIFIER = wire.CueVerifier(CUE_SIGNER.public)
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "host" / "sample"
PROFILE_DIR = Path(__file__).resolve().parent.parent / "calibration" / "profiles"


@dataclass
class Parser:
    name: str
    parse: Callable[[bytes], object]  # bytes in; raises only `allowed`
    allowed: tuple  # the documented error types (empty: must never raise)
    seeds: list  # valid inputs to mutate


def _retag(data: bytes) -> bytes:
    return data[:-wire.TAG_SIZE] + wire.tag(KEY, data[:-wire.TAG_SIZE]) if len(data) > 7 else data


def _resign(data: bytes) -> bytes:
    n = wire.SIG_SIZE
    return data[:-n] + CUE_SIGNER.sign(data[:-n]) if len(data) > n else data


def _wire(decode, retag=_retag) -> Callable[[bytes], object]:
    def parse(data: bytes):
        try:
            decode(data)
        except wire.WireError:
            pass
        return decode(retag(data))
    return parse


def _batch(data: bytes):
    # One datagram stream cut into packets at arbitrary places, plus the re-tagged batch.
    cuts = sorted({0, len(data), *(b % (len(data) + 1) for b in data[:6])})
    packets = [data[a:b] for a, b in zip(cuts, cuts[1:])] or [b""]
    for batch in (packets, [_retag(p) for p in packets]):
        rows, codes = wire_batch.decode_batch(batch, TABLE)
        assert len(rows) == len(codes) == len(batch)
        for p, c in zip(batch, codes):  # same verdict as decode, packet by packet
            try:
                wire.decode(p, KEYS)
                ok = wire_batch.OK
            except wire.WireError as e:
                ok = wire_batch.CODE[e.reason]
            assert ok == c, (p, ok, c)


TABLE = wire_batch.KeyTable(KEYS)


def _serial(data: bytes):
    from empathy.sensors.firmware import protocol

    d = protocol.Decoder()
    step = 1 + (data[0] if data else 0) % 17  # arbitrary chunking, as a UART delivers it
    for i in range(0, len(data), step):
        d.feed(data[i:i + step])


def _serial_payload(data: bytes):
    from empathy.sensors.firmware import protocol

    return protocol.parse(data)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _cube(data: bytes):
    from empathy.host.player.cube import parse_cube

    return parse_cube(_text(data))


def _lut(data: bytes):
    """The other LUT formats, each told from its first words (as a story's grade.txt is)."""
    from empathy.host.player.lutfile import READ, format_of

    text = _text(data)
    return READ[format_of(Path("look.txt"), text)](text)


def _seeds_lut() -> list:
    ramp = "".join(f"{r * 2047} {g * 2047} {b * 2047}\n" for r in range(3) for g in range(3)
                   for b in range(3))
    array = '<Array dim="2 2 2 3">' + " ".join(f"{v / 7:.4f}" for v in range(24)) + "</Array>"
    return [t.encode() for t in (
        "3DMESH\nMesh 1 12\n" + ramp + "LUT8\ngamma 1.0\n",
        "SPILUT 1.0\n3 3\n2 2 2\n" + "".join(f"{i} {j} {k} {i} {j / 2} {k}\n" for i in range(2)
                                            for j in range(2) for k in range(2)),
        "Version 1\nFrom 0 1\nLength 3\nComponents 1\n{\n0\n0.5\n1\n}\n",
        "CSPLUTV100\n3D\nBEGIN METADATA\nm\nEND METADATA\n" + "3\n0 0.5 1\n0 0.4 1\n" * 3
        + "2 2 2\n" + "0 0.5 1\n" * 8,
        '<?xml version="1.0"?>\n<ProcessList id="x" compCLFversion="3"><LUT1D inBitDepth="32f"'
        ' outBitDepth="32f"><Array dim="2 1">0 1</Array></LUT1D><LUT3D inBitDepth="32f" '
        f'outBitDepth="10i">{array}</LUT3D></ProcessList>\n')]


def _story(data: bytes):
    from empathy.host.story import loads

    return loads(_text(data), SAMPLE_DIR / "fuzz.toml", check_files=False)


def _screenplay(data: bytes):
    from empathy.host.arc import screenplay_scenes

    return screenplay_scenes(_text(data))


def _config(cls) -> Callable[[bytes], object]:
    return lambda data: config_loads(cls, _text(data), "<fuzz>")


def _recording(data: bytes):
    from empathy.sensors.replay import loads_emrec

    return loads_emrec(data)


def _health_v1() -> bytes:
    """A heartbeat as units before `uplink_fail` send it (43 bytes): still decoded."""
    body = wire.encode_health(wire.Health(1, 10, 78, (1, 2, 3), 3, 80, 5, -12, 300, 900),
                              KEY)[:36]
    return body + wire.tag(KEY, body)


def _seeds_wire() -> dict:
    s = wire.SeatSample(1, 7, 42, 123456789, 72.5, 41.2, 3.9, 0.3, -0.2, 3, 0.8, 0x1F)
    return {
        "decode": [wire.encode(s, KEY)],
        "cue": [wire.encode_cue(wire.ScreenCue(5, 99, "crash_42", 1200, 0.4), CUE_SIGNER)],
        "health": [wire.encode_health(wire.Health(1, 9, 77, (1, 2, 3), 3, 80, 5, -12, 300, 900,
                                                  4), KEY), _health_v1()],
        "sync": [wire.encode_sync(wire.SyncRequest(1, 3, 10**12), KEY)],
        "sync_reply": [wire.encode_sync_reply(wire.SyncReply(1, 3, 1, 2, 3), KEY)],
        "status": [wire.encode_status(wire.Status(1, 77, o, "main"), KEY) for o in (0, 1)],
        "faults": [wire.encode_faults(wire.SeatFaults(1, 78, 7, m, 12), KEY)
                   for m in (0, 1 << 3, 0x80000000 | 1)],  # all clear, unplugged, a newer code
    }


def _seeds_serial() -> list:
    from empathy.sensors.firmware import protocol as p

    frames = [p.hello(0, 10, 0xBEEF, (1, 2, 3), "board"),
              p.ppg(1, 20, 100, list(range(1000, 1040))), p.pupil(2, 30, 3900, 200),
              p.status(3, 40, p.CONTACT, 80, 0, "ok")]
    return frames + [b"".join(frames)]


def _payload(frame: bytes) -> bytes:
    from empathy.sensors.firmware import protocol

    return protocol.cobs_decode(frame[1:-1])[:-2]  # no delimiters, no CRC


def _seeds_hrs() -> list:
    from empathy.sensors.firmware.hrs import measurement_encode as m

    return [m(72), m(300, (800, 810), True, 12), m(60, (1000,), False), m(65, wide=True)]


def _seeds_cube() -> list:
    rows = [f"{r / 2:.4f} {g / 2:.4f} {b / 2:.4f}" for b in range(3) for g in range(3)
            for r in range(3)]
    one = "\n".join(f"{v:.3f} {v:.3f} {v:.3f}" for v in np.linspace(0, 1, 4))
    return [("TITLE \"t\"\nLUT_3D_SIZE 3\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 1 1\n"
             + "\n".join(rows) + "\n").encode(), f"LUT_1D_SIZE 4\n{one}\n".encode()]


def _seed_recording() -> bytes:
    from empathy.sensors import base
    from empathy.sensors.replay import Recorder

    with tempfile.TemporaryDirectory() as d:
        rec = Recorder(Path(d) / "r.emrec", "sim://seat")
        for r in (base.Beat(1, 812.0), base.HeartRate(2, 71.0), base.Pupil(3, 3.9, 1.0),
                  base.Waveform(4, "ppg", 100.0, np.arange(8, dtype=np.float32))):
            rec.add(r)
        rec.close()
        return (Path(d) / "r.emrec").read_bytes()


def parsers() -> list[Parser]:
    from empathy.calibration.hr import RigProfile
    from empathy.edge.unit_config import EdgeConfig
    from empathy.host.cli import HostConfig
    from empathy.host.player.cube import CubeError
    from empathy.host.story import StoryError

    w = _seeds_wire()
    edge = tomli_w.dumps(to_dict(EdgeConfig())).encode()
    host = tomli_w.dumps({**to_dict(HostConfig()), "story": "s.toml"}).encode()
    return [
        Parser("wire_sample", _wire(lambda d: wire.decode(d, KEYS)), (wire.WireError,),
               w["decode"]),
        Parser("wire_batch", _batch, (), [w["decode"][0] * 3, w["decode"][0] + w["cue"][0]]),
        Parser("wire_cue", _wire(lambda d: wire.decode_cue(d, CUE_VERIFIER), _resign),
               (wire.WireError,), w["cue"]),
        Parser("wire_health", _wire(lambda d: wire.decode_health(d, KEYS)), (wire.WireError,),
               w["health"]),
        Parser("wire_sync", _wire(lambda d: wire.decode_sync(d, KEYS)), (wire.WireError,),
               w["sync"]),
        Parser("wire_sync_reply", _wire(lambda d: wire.decode_sync_reply(d, KEY)),
               (wire.WireError,), w["sync_reply"]),
        Parser("wire_status", _wire(lambda d: wire.decode_status(d, KEYS)), (wire.WireError,),
               w["status"]),
        Parser("wire_faults", _wire(lambda d: wire.decode_faults(d, KEYS)), (wire.WireError,),
               w["faults"]),
        Parser("serial_stream", _serial, (), _seeds_serial()),
        Parser("serial_payload", _serial_payload, (ValueError,),
               [_payload(f) for f in _seeds_serial()[:4]]),
        Parser("ble_hr_measurement", _hrs, (ValueError,), _seeds_hrs()),
        Parser("cube", _cube, (CubeError,), _seeds_cube()),
        Parser("lut_formats", _lut, (CubeError,), _seeds_lut()),
        Parser("story", _story, (StoryError,), [(SAMPLE_DIR / "neon_rain.toml").read_bytes()]),
        Parser("screenplay", _screenplay, (), [(SAMPLE_DIR / "neon_rain.fountain").read_bytes()]),
        Parser("config_edge", _config(EdgeConfig), (ConfigError,), [edge]),
        Parser("config_host", _config(HostConfig), (ConfigError,), [host]),
        Parser("calibration_profile", _config(RigProfile), (ConfigError,),
               [p.read_bytes() for p in sorted(PROFILE_DIR.glob("*.toml"))]),
        Parser("recording", _recording, (SourceError,), [_seed_recording()]),
    ]


def _hrs(data: bytes):
    from empathy.sensors.firmware.hrs import measurement_parse

    return measurement_parse(data)


# Values that break naive number handling, spliced into text inputs.
_TOKENS = [b"nan", b"inf", b"-inf", b"1e400", b"-1", b"0", b"4294967296", b"\"\"", b"[]",
           b"{}", b"\x00", b"\xff\xfe", b"=", b"[[seats]]", b"\n", b"#", b"true", b"9" * 40]


def mutate(rng: random.Random, seed: bytes, seeds: list) -> bytes:
    """One to four random edits: bit flips, byte sets, cuts, inserts, repeats, splices."""
    b = bytearray(seed)
    for _ in range(rng.randint(1, 4)):
        op, n = rng.randrange(8), len(b)
        i = rng.randrange(n + 1)
        if op == 0 and n:
            b[min(i, n - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            b[min(i, n - 1)] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif op == 2:
            del b[i:i + rng.randint(1, 16)]
        elif op == 3:
            b[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 4:
            b[i:i] = rng.choice(_TOKENS)
        elif op == 5 and n:
            j = rng.randrange(n)
            b[i:i] = b[j:j + rng.randint(1, 32)] * rng.randint(1, 3)
        elif op == 6:
            other = rng.choice(seeds)
            b = b[:i] + other[rng.randrange(len(other) + 1):]
        else:
            del b[i:]
    return bytes(b)


def inputs(rng: random.Random, seeds: list, n: int):
    """Half random bytes (short ones most often), half mutations of valid inputs."""
    for k in range(n):
        if k % 2:
            yield mutate(rng, rng.choice(seeds), seeds)
        else:
            yield rng.randbytes(min(int(rng.expovariate(1 / 24)), 4096))


def fuzz(p: Parser, n: int, seed: int = 1, progress=None) -> dict:
    """Feed n inputs; count unexpected exceptions; keep the first few for the report."""
    rng, unexpected, examples, slowest = random.Random(seed), 0, [], 0.0
    t0 = time.perf_counter()
    for k, data in enumerate(inputs(rng, p.seeds, n)):
        t = time.perf_counter()
        try:
            p.parse(data)
        except p.allowed:
            pass
        except Exception as e:  # the finding: anything else escaped
            unexpected += 1
            if len(examples) < 3:
                examples.append(f"{type(e).__name__}: {e} <- {data[:80]!r}")
        slowest = max(slowest, time.perf_counter() - t)
        if progress and k % 5000 == 0:
            progress(k)
    wall = time.perf_counter() - t0
    return {"parser": p.name, "inputs": n, "inputs_per_s": n / wall, "unexpected": unexpected,
            "slowest_ms": slowest * 1e3, "examples": examples}


def run() -> list[dict]:
    from rich.progress import Progress

    n = int(os.environ.get("EMPATHY_FUZZ_N", 1_000_000))
    only = set(filter(None, os.environ.get("EMPATHY_FUZZ_ONLY", "").split(",")))
    out = []
    with Progress(transient=True) as bar:
        for p in parsers():
            if only and p.name not in only:
                continue
            task = bar.add_task(f"fuzz {p.name}", total=n)
            r = fuzz(p, n, progress=lambda k: bar.update(task, completed=k))
            bar.remove_task(task)
            for ex in r["examples"]:
                print(f"fuzz {p.name}: {ex}", flush=True)
            out += [
                {"name": f"fuzz {p.name} inputs", "value": n, "unit": "inputs", "peer": None,
                 "peer_value": None, "ratio": None},
                {"name": f"fuzz {p.name} speed", "value": r["inputs_per_s"], "unit": "inputs/s",
                 "peer": None, "peer_value": None, "ratio": None},
                {"name": f"fuzz {p.name} unexpected exceptions", "value": r["unexpected"],
                 "unit": "inputs", "peer": None, "peer_value": None, "ratio": None},
                {"name": f"fuzz {p.name} slowest input", "value": r["slowest_ms"], "unit": "ms",
                 "peer": None, "peer_value": None, "ratio": None}]
    return out
