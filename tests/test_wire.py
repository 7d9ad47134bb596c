"""Wire format v1: size, round trips, and that every corruption is refused."""

import os

import pytest
from hypothesis import given, settings, strategies as st

from empathy import wire
from wire_forge import authentic

KEY = bytes(range(32))
KEYS = {7: KEY}
SIGNER = wire.CueSigner(bytes(range(100, 132)))
VERIFIER = wire.CueVerifier(SIGNER.public)

def body(name):  # what an edge unit may send: 0 (no value) or a value inside wire.RANGES
    r = wire.RANGES[name]
    return st.just(0.0) | st.floats(r.lo, r.hi)


samples = st.builds(
    wire.SeatSample,
    unit_id=st.just(7),
    seat_id=st.integers(0, 0xFFFF),
    seq=st.integers(0, 0xFFFFFFFF),
    ts_us=st.integers(0, wire.TS_MASK),
    hr_bpm=body("hr_bpm"),
    rmssd_ms=body("rmssd_ms"),
    pupil_mm=body("pupil_mm"),
    arousal=st.floats(-1, 1),
    valence=st.floats(-1, 1),
    expression=st.sampled_from([0, 1, 2, 3, 4, 5, 6, wire.EXPRESSION_NONE]),
    expression_conf=st.floats(0, 1),
    flags=st.integers(0, 255),
)


@given(samples)
@settings(max_examples=1000)
def test_round_trip_within_quantisation(s):
    p = wire.encode(s, KEY)
    assert len(p) == wire.PACKET_SIZE <= 32
    d = wire.decode(p, KEYS)
    assert (d.unit_id, d.seat_id, d.seq, d.ts_us, d.expression, d.flags) == \
           (s.unit_id, s.seat_id, s.seq, s.ts_us, s.expression, s.flags)
    assert abs(d.hr_bpm - s.hr_bpm) <= 0.005 + 1e-9
    assert abs(d.rmssd_ms - s.rmssd_ms) <= 0.005 + 1e-9
    assert abs(d.pupil_mm - s.pupil_mm) <= 0.0005 + 1e-9
    assert abs(d.arousal - s.arousal) <= 0.5 / 127 + 1e-9
    assert abs(d.valence - s.valence) <= 0.5 / 127 + 1e-9
    assert abs(d.expression_conf - s.expression_conf) <= 0.5 / 15 + 1e-9
    # decoding what we decoded gives the same bytes: the format is stable
    assert wire.encode(d, KEY) == p


def test_every_single_bit_flip_is_rejected():
    p = wire.encode(wire.SeatSample(7, 3, 42, 123_456_789, 71.3, 40.2, 4.2, 0.3, -0.2, 3, 0.7,
                                    int(wire.Flag.HR_OK)), KEY)
    reasons = set()
    for i in range(len(p) * 8):
        bad = bytearray(p)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(wire.WireError) as e:
            wire.decode(bytes(bad), KEYS)
        reasons.add(e.value.reason)
    assert reasons <= {"bad_tag", "bad_version", "bad_kind", "unknown_unit"}
    assert "bad_tag" in reasons


# Volume (10,000 mutated and random inputs to every wire decoder) is test_fuzz_parsers'
# bench engine's; Hypothesis's examples here are for variety and shrinking.
@given(st.binary(max_size=80))
@settings(max_examples=1000)
def test_random_bytes_only_raise_wire_error(data):
    try:
        wire.decode(data, KEYS)
    except wire.WireError as e:
        assert e.reason in wire.REASONS
    else:  # only possible if a random 32 bytes carried a valid 56-bit tag
        pytest.fail("random bytes were accepted")


@given(st.binary(min_size=32, max_size=32))
@settings(max_examples=1000)
def test_random_packets_with_valid_header_fail_on_the_tag(data):
    data = bytes([0x10, 0, 7]) + data[3:]
    with pytest.raises(wire.WireError) as e:
        wire.decode(data, KEYS)
    assert e.value.reason == "bad_tag"


def test_rejections_are_countable_by_reason():
    good = wire.encode(wire.SeatSample(7, 1, 1, 1), KEY)
    cases = {
        "too_short": good[:31],
        "too_long": good + b"\0",
        "bad_version": bytes([0x20]) + good[1:],
        "bad_kind": bytes([0x1F]) + good[1:],
        "unknown_unit": wire.encode(wire.SeatSample(8, 1, 1, 1), KEY),
        "bad_tag": good[:-1] + bytes([good[-1] ^ 0xFF]),
        "bad_field": (lambda b: b + wire.tag(KEY, b))(good[:23] + bytes([0x90]) + good[24:25]),
    }
    for reason, packet in cases.items():
        with pytest.raises(wire.WireError) as e:
            wire.decode(packet, KEYS)
        assert e.value.reason == reason, reason
    assert set(cases) == set(wire.REASONS)


def test_wrong_key_is_a_bad_tag():
    p = wire.encode(wire.SeatSample(7, 1, 1, 1), os.urandom(32))
    with pytest.raises(wire.WireError, match="bad_tag"):
        wire.decode(p, KEYS)


def test_nan_is_refused_at_encode():
    with pytest.raises(wire.WireError, match="bad_field"):
        wire.encode(wire.SeatSample(7, 1, 1, 1, hr_bpm=float("nan")), KEY)


def test_out_of_range_ids_refused_and_affect_clamped():
    with pytest.raises(wire.WireError):
        wire.encode(wire.SeatSample(70000, 1, 1, 1), KEY)
    d = wire.decode(wire.encode(wire.SeatSample(7, 1, 1, 1, arousal=5.0), KEY), KEYS)
    assert d.arousal == 1.0


F = wire.Flag
GOOD = dict(hr_bpm=72.0, rmssd_ms=45.0, pupil_mm=4.2, flags=F.HR_OK | F.HRV_OK | F.PUPIL_OK)


@pytest.mark.parametrize("field,value", [("hr_bpm", 600.0), ("hr_bpm", 5.0), ("hr_bpm", -3.0),
                                         ("rmssd_ms", 0.5), ("rmssd_ms", 400.0),
                                         ("pupil_mm", 60.0), ("pupil_mm", 0.2)])
def test_encode_refuses_a_value_no_body_makes(field, value):
    r = wire.RANGES[field]
    with pytest.raises(wire.WireError, match=f"bad_field: {field}={value:g} {r.unit} is "
                                             f"outside {r.lo:g}..{r.hi:g}"):
        wire.encode(wire.SeatSample(7, 1, 1, 1, **{**GOOD, field: value}), KEY)


def _sent(**values):  # a unit's firmware bug: authentic bytes the encoder would refuse
    return authentic(wire.SeatSample(7, 1, 1, 1, **GOOD), KEY, **values)


@pytest.mark.parametrize("field,value", [
    ("hr_bpm", 600.0), ("hr_bpm", 5.0), ("hr_bpm", 19.99), ("hr_bpm", 300.01),
    ("rmssd_ms", 0.99), ("rmssd_ms", 300.01), ("pupil_mm", 60.0), ("pupil_mm", 0.499),
    ("pupil_mm", 12.001)])
def test_decode_drops_an_impossible_value_and_keeps_the_rest(field, value):
    d = wire.decode(_sent(**{field: value}), KEYS)
    assert getattr(d, field) == 0.0 and not d.flags & wire.RANGES[field].flag
    for other, want in GOOD.items():
        if other not in (field, "flags"):
            assert getattr(d, other) == pytest.approx(want)
            assert d.flags & wire.RANGES[other].flag


@pytest.mark.parametrize("field", list(wire.RANGES))
def test_range_ends_are_taken(field):
    r = wire.RANGES[field]
    for v in (r.lo, r.hi):
        d = wire.decode(_sent(**{field: v}), KEYS)
        assert getattr(d, field) == pytest.approx(v) and d.flags & r.flag


def test_drop_impossible_is_what_decode_does_on_arrival():
    s = wire.SeatSample(7, 1, 1, 1, **{**GOOD, "pupil_mm": 60.0, "rmssd_ms": float("nan")})
    kept, lost = wire.drop_impossible(s)
    assert lost == ("rmssd_ms", "pupil_mm")
    assert (kept.hr_bpm, kept.rmssd_ms, kept.pupil_mm, kept.flags) == (72.0, 0.0, 0.0, F.HR_OK)
    assert wire.drop_impossible(kept) == (kept, ())
    kept, _ = wire.drop_impossible(wire.SeatSample(7, 1, 1, 1, **{**GOOD, "pupil_mm": 60.0}))
    # what the edge sends after dropping is what the host makes of the impossible bytes
    assert wire.decode(wire.encode(kept, KEY), KEYS) == wire.decode(_sent(pupil_mm=60.0), KEYS)


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=24),
       st.integers(0, 10**8), st.floats(0, 1))
def test_cue_round_trip(clip, ms, lum):
    c = wire.ScreenCue(1, 99, clip, ms, lum)
    p = wire.encode_cue(c, SIGNER)
    assert len(p) == 18 + len(clip) + wire.SIG_SIZE
    d = wire.decode_cue(p, VERIFIER)
    assert (d.clip_id, d.clip_ms) == (clip, ms) and abs(d.luminance - lum) < 1e-4


@given(st.binary(max_size=160))
@settings(max_examples=1000)
def test_cue_random_bytes_only_raise_wire_error(data):
    with pytest.raises(wire.WireError):
        wire.decode_cue(data, VERIFIER)


def test_a_cue_is_taken_only_as_the_host_signed_it():
    """Only the host's private key makes a cue a unit takes: not another Ed25519 key, not
    a changed byte, not the retired kind-1 cue HMAC-tagged with a key every unit held."""
    good = wire.encode_cue(wire.ScreenCue(7, 1234, "chase", 1500, 0.6), SIGNER)
    assert wire.decode_cue(good, VERIFIER).clip_id == "chase"
    other = wire.encode_cue(wire.ScreenCue(7, 1234, "chase", 1500, 0.6),
                            wire.CueSigner(bytes(32)))
    reasons = set()
    for p in [other] + [good[:i] + bytes([good[i] ^ 1]) + good[i + 1:] for i in range(len(good))]:
        with pytest.raises(wire.WireError) as e:
            wire.decode_cue(p, VERIFIER)
        reasons.add(e.value.reason)
    assert "bad_tag" in reasons and reasons <= {"bad_tag", "bad_version", "bad_kind",
                                                "bad_field", "too_long", "too_short"}
    body = bytes([0x11]) + good[1:-wire.SIG_SIZE]  # the old layout: kind 1, 7-byte tag
    for old in (body + wire.tag(KEY, body), body + wire.tag(KEY, body) + bytes(57)):
        with pytest.raises(wire.WireError) as e:
            wire.decode_cue(old, VERIFIER)
    assert e.value.reason == "bad_kind"  # even at the new length


def test_wire_core_needs_the_standard_library_alone(tmp_path):
    """The wire promises to be vendorable as its one folder: it runs where numpy and the
    rest of empathy are absent, and where `cryptography` is (only the screen cue's signature
    needs it, and says so)."""
    import subprocess
    import sys
    from pathlib import Path

    import empathy.wire as w

    (tmp_path / "numpy").mkdir()
    (tmp_path / "numpy" / "__init__.py").write_text("raise ImportError('no numpy here')\n")
    (tmp_path / "cryptography").mkdir()
    (tmp_path / "cryptography" / "__init__.py").write_text("raise ImportError('none')\n")
    init = str(Path(w.__file__))
    folder = str(Path(init).parent)  # the wire's folder, vendored as it is
    code = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location('wire', {init!r},
                                              submodule_search_locations=[{folder!r}])
m = importlib.util.module_from_spec(spec); sys.modules['wire'] = m; spec.loader.exec_module(m)
s = m.SeatSample(1, 2, 3, 4, hr_bpm=70.0)
assert m.decode(m.encode(s, b'k' * 32), {{1: b'k' * 32}}).hr_bpm == 70.0
assert 'numpy' not in sys.modules and not any(n.startswith('empathy') for n in sys.modules)
try:
    m.CueVerifier(bytes(32))
except RuntimeError as e:
    print('ok', e)
"""
    r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                       env={"PYTHONPATH": str(tmp_path)})
    assert r.returncode == 0 and r.stdout.strip() == (
        "ok screen cues are signed (Ed25519): install the 'cryptography' package"), r.stderr


def test_heartbeat_carries_uplink_failures_and_old_heartbeats_still_decode():
    key = bytes(range(32))
    h = wire.Health(9, 5, 1234, (0, 1, 0), 1, 90, 3, -7, 11, 900, uplink_fail=4_000_000_000,
                    estimate_lag_ms=9_000, run=0xDEADBEEF)
    p = wire.encode_health(h, key)
    assert len(p) == wire.HEALTH_SIZE == 53
    assert wire.decode_health(p, {9: key}) == h
    big = wire.encode_health(wire.Health(9, 6, 1, uplink_fail=1 << 40), key)
    assert wire.decode_health(big, {9: key}).uplink_fail == 0xFFFFFFFF  # saturates
    # units from before the fields: 43 bytes (no uplink_fail), 47 (no estimate_lag_ms),
    # decoded with 0 for what they do not send
    for size, fail, lag in ((36, 0, 0), (40, 4_000_000_000, 0), (42, 4_000_000_000, 9_000)):
        body = p[:size]
        old = wire.decode_health(body + wire.tag(key, body), {9: key})
        assert (old.uplink_fail, old.estimate_lag_ms, old.run) == (fail, lag, 0)
        assert old.rtt_us == 900 and old.battery == 90
    v1 = p[:36] + wire.tag(key, p[:36])
    with pytest.raises(wire.WireError):
        wire.decode_health(v1[:-1] + bytes([v1[-1] ^ 1]), {9: key})


def test_a_declared_estimate_lag_is_range_checked_where_it_enters():
    """A unit's declared estimate lag (the lag the host's reward undoes for its seats) is
    clamped when encoded and refused when a signed heartbeat carries more than a minute."""
    key = bytes(range(32))
    p = wire.encode_health(wire.Health(9, 5, 1, estimate_lag_ms=10 ** 6), key)
    assert wire.decode_health(p, {9: key}).estimate_lag_ms == wire.MAX_ESTIMATE_LAG_MS
    body = p[:40] + (wire.MAX_ESTIMATE_LAG_MS + 1).to_bytes(2, "big")
    with pytest.raises(wire.WireError) as e:
        wire.decode_health(body + wire.tag(key, body), {9: key})
    assert e.value.reason == "bad_field"


@given(st.integers(0, 0xFFFF), st.integers(0, wire.SEQ_MASK), st.booleans(),
       st.text(st.characters(codec="utf-8"), min_size=1, max_size=16))
def test_a_status_peeked_is_the_status_decoded_and_its_tag_is_not_checked(unit, epoch, on, name):
    s = wire.Status(unit, epoch, on, name)
    packet = wire.encode_status(s, KEY)
    assert wire.decode_status(packet, {unit: KEY}) == wire.peek_status(packet) == s
    forged = wire.encode_status(s, bytes(32))  # what only the intake can tell apart
    assert wire.peek_status(forged) == s
    with pytest.raises(wire.WireError, match="bad_tag"):
        wire.decode_status(forged, {unit: KEY})
    for bent in (packet[:-1], packet + b"\0", b"\x10" + packet[1:]):
        with pytest.raises(wire.WireError):
            wire.peek_status(bent)


def test_sequence_numbers_are_compared_across_the_wrap():
    import numpy as np

    m = wire.SEQ_MASK
    cases = [(0, m, 1), (m, 0, -1), (5, 3, 2), (3, 5, -2), (1 << 31, 0, -(1 << 31)),
             ((1 << 31) - 1, 0, (1 << 31) - 1), (10, (1 << 33) + 4, 6)]  # b extended (host)
    for a, b, d in cases:
        assert wire.seq_delta(a, b) == d, (a, b)
    a, b, d = (np.array(c, np.int64) for c in zip(*cases))
    assert np.array_equal(wire.seq_delta(a, b), d)


def test_a_huge_value_is_refused_or_dropped_not_an_overflow():
    with pytest.raises(wire.WireError, match="hr_bpm=1e\\+308 bpm is outside"):
        wire.encode(wire.SeatSample(7, 1, 1, 1, hr_bpm=1e308), KEY)
    kept, lost = wire.drop_impossible(wire.SeatSample(7, 1, 1, 1, pupil_mm=-1e308, arousal=1e308))
    assert lost == ("pupil_mm",) and wire.decode(wire.encode(kept, KEY), KEYS).arousal == 1.0


def test_the_release_a_heartbeat_declares_is_the_package_s_version():
    """One number for `empathy --version`, pyproject and the heartbeat's `firmware` (the wire
    holds its own copy: it imports nothing of empathy's)."""
    import tomllib
    from pathlib import Path

    import empathy
    from empathy import wire

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert empathy.__version__ == project["project"]["version"] == ".".join(
        map(str, wire.RELEASE))
