"""Wire format v1: every packet between edge units and the host, authenticated.

This is the ONE module both the edge unit and the host import for packets (`from empathy
import wire`; every name below is `wire.NAME`). Its parts, by kind, each with its layout:

    core.py     what every kind shares: the version/kind byte, the 56-bit tag
                (HMAC-SHA256 with the unit's key), the verdicts a receiver counts
    sample.py   kind 0, one seat's reading in 32 bytes (edge -> host, 10 Hz a seat), and
                `RANGES`, what a body signal can be (checked on both sides)
    control.py  kinds 2-4: a unit's heartbeat, its clock-sync request and the reply
    cue.py      kind 5: the screen cue, signed by the host (Ed25519)
    status.py   kind 6: a unit's MQTT status (online, or its last will "offline")
    faults.py   kind 7: why a seat's sensor is out, as codes from one table (edge -> host)

It imports nothing of ours (its parts import each other relatively), so firmware-side or
third-party tools can vendor this folder as it is. It needs the standard library alone,
but for the screen cue's signature (the `cryptography` package, imported when a cue signer
or verifier is made).

Every decoder raises `WireError` and nothing else; `WireError.reason` is one of `REASONS`,
so a receiver can keep a counter per reason. A host at 10,000 seats x 10 Hz uses
`empathy.wire_batch.decode_batch` beside it (numpy): one call verifies and decodes a whole
batch into arrays, with the same verdicts as `decode` packet by packet.
"""

from .control import (BATTERY_MAINS, HEALTH_OLD_SIZES, HEALTH_SIZE,
                      MAX_ESTIMATE_LAG_MS, RELEASE, SYNC_SIZE, Health, SyncReply, SyncRequest,
                      decode_health, decode_sync, decode_sync_reply, encode_health,
                      encode_sync, encode_sync_reply)
from .core import (KIND_CUE, KIND_FAULTS, KIND_HEALTH, KIND_SAMPLE, KIND_STATUS, KIND_SYNC,
                   KIND_SYNC_REPLY, REASONS, SEQ_MASK, TAG_SIZE, TS_MASK, VERSION, KeyLookup,
                   WireError, kind_of, seq_delta, tag, unit_of)
from .cue import (CUE_CONTEXT, CUE_KEY_SIZE, CUE_MAX_ID, SIG_SIZE, CueSigner, CueVerifier,
                  ScreenCue, decode_cue, encode_cue)
from .faults import (FAULTS, FAULTS_SIZE, RESEND_S, STALE_S, Fault, SeatFaults, codes_of,
                     decode_faults, describe, encode_faults, known, mask_of)
from .sample import (BODY_SIZE, EXPRESSION_NONE, EXPRESSIONS, PACKET_SIZE, RANGES, Flag, Range,
                     SeatSample, decode, drop_impossible, encode)
from .status import STATUS_MAX_SCREEN, Status, decode_status, encode_status, peek_status

__all__ = [
    "BATTERY_MAINS", "HEALTH_OLD_SIZES", "HEALTH_SIZE", "MAX_ESTIMATE_LAG_MS", "RELEASE",
    "SYNC_SIZE", "Health", "SyncReply", "SyncRequest", "decode_health", "decode_sync",
    "decode_sync_reply", "encode_health", "encode_sync", "encode_sync_reply",
    "KIND_CUE", "KIND_FAULTS", "KIND_HEALTH", "KIND_SAMPLE", "KIND_STATUS", "KIND_SYNC",
    "KIND_SYNC_REPLY",
    "REASONS", "SEQ_MASK", "TAG_SIZE", "TS_MASK", "VERSION", "KeyLookup", "WireError",
    "kind_of", "seq_delta", "tag", "unit_of",
    "CUE_CONTEXT", "CUE_KEY_SIZE", "CUE_MAX_ID", "SIG_SIZE", "CueSigner", "CueVerifier",
    "ScreenCue", "decode_cue", "encode_cue",
    "FAULTS", "FAULTS_SIZE", "RESEND_S", "STALE_S", "Fault", "SeatFaults", "codes_of",
    "decode_faults", "describe", "encode_faults", "known", "mask_of",
    "BODY_SIZE", "EXPRESSION_NONE", "EXPRESSIONS", "PACKET_SIZE", "RANGES", "Flag", "Range",
    "SeatSample", "decode", "drop_impossible", "encode",
    "STATUS_MAX_SCREEN", "Status", "decode_status", "encode_status", "peek_status",
]
