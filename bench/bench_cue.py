"""Screen cues: what the host's Ed25519 signature costs against the shared-key HMAC tag it
replaced (kind 1: a 56-bit HMAC-SHA256 tag with a key every unit held).

Per cue, best of ROUNDS rounds of N: signing on the host, checking on a unit, the whole
encode and decode, and the packet's size. The same cue body goes through both; the HMAC
path is `wire.tag` over it, as the retired cue was tagged. A cue goes out at 10 Hz, signed
once for every unit of the screen (per-unit HMAC tags would be one per unit per cue).
"""

from __future__ import annotations

import hmac
import time

from empathy import wire

N = 20_000
ROUNDS = 5
KEY = bytes(range(32))
CUE = wire.ScreenCue(123_456, 10**12, "rooftop_chase", 61_500, 0.42)  # a 13-byte segment id


def _us_per_op(fn) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        t = time.perf_counter()
        for _ in range(N):
            fn()
        best = min(best, time.perf_counter() - t)
    return best / N * 1e6


def _row(name, ours, peer, unit="us/cue"):
    return {"name": name, "value": ours, "unit": unit, "peer": "shared-key HMAC cue",
            "peer_value": peer, "ratio": ours / peer}


class _Hmac:
    """The retired check in the same encode/decode code: sign and verify a 7-byte tag."""

    @staticmethod
    def sign(body: bytes) -> bytes:
        return wire.tag(KEY, body)

    @staticmethod
    def verify(body: bytes, signature: bytes) -> bool:
        return hmac.compare_digest(wire.tag(KEY, body), signature[:wire.TAG_SIZE])


def run() -> list[dict]:
    signer = wire.CueSigner(KEY)
    verifier = wire.CueVerifier(signer.public)
    packet = wire.encode_cue(CUE, signer)
    body, sig = packet[:-wire.SIG_SIZE], packet[-wire.SIG_SIZE:]
    tagged = wire.encode_cue(CUE, _Hmac)  # the retired cue's bytes (but for its kind)
    padded = tagged + bytes(wire.SIG_SIZE - wire.TAG_SIZE)  # through the same length check
    assert wire.decode_cue(packet, verifier) == wire.decode_cue(padded, _Hmac)
    return [
        _row("cue sign (host)", _us_per_op(lambda: signer.sign(body)),
             _us_per_op(lambda: _Hmac.sign(body))),
        _row("cue verify (unit)", _us_per_op(lambda: verifier.verify(body, sig)),
             _us_per_op(lambda: _Hmac.verify(body, tagged[-wire.TAG_SIZE:]))),
        _row("cue encode, whole (host)", _us_per_op(lambda: wire.encode_cue(CUE, signer)),
             _us_per_op(lambda: wire.encode_cue(CUE, _Hmac))),
        _row("cue decode, whole (unit)", _us_per_op(lambda: wire.decode_cue(packet, verifier)),
             _us_per_op(lambda: wire.decode_cue(padded, _Hmac))),
        _row("cue bytes (13-byte segment id)", float(len(packet)), float(len(tagged)), "bytes"),
    ]
