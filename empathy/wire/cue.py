"""The screen cue (kind 5, host -> edge units): what is on screen now.

The host announces the segment on screen, its position and the picture's mean luminance
at ~10 Hz. Edge units use luminance to separate the pupil's light reflex from arousal;
simulated viewers use it as the "light" they see. Signed (Ed25519, RFC 8032) with the
host's cue key; units hold only its public half, so no unit, nor its stolen keystore, can
forge a cue for the others. Kind 1 was a cue HMAC-tagged with a key every unit held: it
is refused (`bad_kind`), never taken as a fallback.

  off size field
  0   1    header     version 1, kind 5
  1   4    seq
  5   6    ts_us      host clock
  11  4    clip_ms    milliseconds into the segment
  15  2    luminance  mean luma of the graded frame, 0..65535 = 0..1
  17  1    n          length of the segment id (0..24)
  18  n    clip id    ASCII
  ..  64   signature  Ed25519 by the host's cue key over CUE_CONTEXT + bytes 0..17+n

The signature needs the `cryptography` package, imported only when a CueSigner or
CueVerifier is made: the rest of the wire stays standard-library only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .core import KIND_CUE, VERSION, WireError, _check_header, _scaled

_CUE = struct.Struct(">BIHIIHB")
CUE_MAX_ID = 24
CUE_KEY_SIZE = 32  # an Ed25519 private key (its RFC 8032 seed) and a public key alike
SIG_SIZE = 64
CUE_CONTEXT = b"empathy screen cue v1\0"  # this key signs nothing else, and says so


def _ed25519():
    """(the Ed25519 module, its bad-signature exception), imported on first use."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise RuntimeError("screen cues are signed (Ed25519): install the 'cryptography' "
                           "package") from None
    return ed25519, InvalidSignature


class CueSigner:
    """The host's side: `private` is its 32-byte cue key. `public` goes to the units."""

    def __init__(self, private: bytes):
        self._key = _ed25519()[0].Ed25519PrivateKey.from_private_bytes(bytes(private))
        self.public = self._key.public_key().public_bytes_raw()

    def sign(self, body: bytes) -> bytes:
        return self._key.sign(CUE_CONTEXT + body)


class CueVerifier:
    """A unit's side: `public` is the host's 32-byte public cue key."""

    def __init__(self, public: bytes):
        ed25519, self._invalid = _ed25519()
        self._key = ed25519.Ed25519PublicKey.from_public_bytes(bytes(public))

    def verify(self, body: bytes, signature: bytes) -> bool:
        try:
            self._key.verify(signature, CUE_CONTEXT + body)
        except self._invalid:
            return False
        return True


@dataclass(frozen=True)
class ScreenCue:
    seq: int
    ts_us: int
    clip_id: str
    clip_ms: int
    luminance: float


def encode_cue(cue: ScreenCue, signer: CueSigner) -> bytes:
    cid = cue.clip_id.encode("ascii", "replace")[:CUE_MAX_ID]
    lum = _scaled(cue.luminance, 1 / 65535, 0, 65535, "luminance")
    body = _CUE.pack((VERSION << 4) | KIND_CUE, cue.seq & 0xFFFFFFFF, (cue.ts_us >> 32) & 0xFFFF,
                     cue.ts_us & 0xFFFFFFFF, max(0, min(cue.clip_ms, 0xFFFFFFFF)), lum,
                     len(cid)) + cid
    return body + signer.sign(body)


def decode_cue(packet: bytes, verifier: CueVerifier) -> ScreenCue:
    if len(packet) < _CUE.size + SIG_SIZE:
        raise WireError("too_short", f"{len(packet)} bytes")
    _check_header(packet[0], KIND_CUE)
    n = packet[_CUE.size - 1]
    if n > CUE_MAX_ID:
        raise WireError("bad_field", f"segment id length {n}")
    want = _CUE.size + n + SIG_SIZE
    if len(packet) != want:
        raise WireError("too_long" if len(packet) > want else "too_short",
                        f"{len(packet)} bytes for a {n}-byte segment id")
    body = bytes(packet[:-SIG_SIZE])
    if not verifier.verify(body, bytes(packet[-SIG_SIZE:])):
        raise WireError("bad_tag", "cue")
    _, seq, ts_hi, ts_lo, clip_ms, lum, _ = _CUE.unpack(body[:_CUE.size])
    try:
        cid = body[_CUE.size:].decode("ascii")
    except UnicodeDecodeError:
        raise WireError("bad_field", "segment id is not ASCII") from None
    return ScreenCue(seq, (ts_hi << 32) | ts_lo, cid, clip_ms, lum / 65535)
