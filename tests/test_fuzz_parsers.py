"""Every parser that takes outside input raises only its documented error, and none hangs.

The parser table (what each takes, which error it documents, valid inputs to mutate) is
bench/bench_fuzz.py's; here hypothesis drives it for thousands of cases per parser, the
bench for a million. Story and edge config files also have tests/test_fuzz.py.
"""

import random
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from empathy import wire
from empathy.bench import bench_fuzz

PARSERS = {p.name: p for p in bench_fuzz.parsers()}
# A parser that needs 5 s for one small input is hung as far as a show is concerned.
# Hypothesis's share is variety and shrinking a finding to its smallest input; the volume
# is the bench's engine below (10,000 inputs a parser take seconds, Hypothesis's 1,500 took
# minutes of the suite).
CASES = settings(max_examples=300, deadline=timedelta(seconds=5),
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _inputs(p):
    mutated = st.tuples(st.sampled_from(p.seeds), st.integers(0, 2**32)).map(
        lambda t: bench_fuzz.mutate(random.Random(t[1]), t[0], p.seeds))
    return st.one_of(st.binary(max_size=300), mutated)


def _check(p, data):
    try:
        p.parse(data)
    except p.allowed:
        pass


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(PARSERS))
def test_parser_raises_only_its_documented_error(name):
    p = PARSERS[name]
    given(_inputs(p))(CASES(lambda data: _check(p, data)))()


def test_seeds_are_accepted():
    """The mutations start from inputs the parsers accept, so they reach deep checks."""
    for p in PARSERS.values():
        if p.name == "wire_batch":
            continue
        for s in p.seeds:
            assert p.parse(s) is not None or p.name == "serial_stream", p.name


def test_damaged_recording_array_is_a_source_error():
    """Found by this fuzzer: an array entry without its bytes raised KeyError."""
    import msgpack

    from empathy.sensors.base import SourceError
    from empathy.sensors.replay import FORMAT, VERSION, loads_emrec

    data = msgpack.packb({"format": FORMAT, "version": VERSION}) + msgpack.packb(
        {"type": "Waveform", "ts_us": 1, "kind": "ppg", "fs_hz": 100.0,
         "samples": {"dtype": "float32"}})
    with pytest.raises(SourceError, match="reading 1 is damaged"):
        loads_emrec(data)


def test_fuzzer_catches_an_undocumented_error():
    """The harness would report a parser that lets anything else escape."""
    leaky = bench_fuzz.Parser("leaky", lambda d: d[10], (wire.WireError,), [b"x" * 20])
    r = bench_fuzz.fuzz(leaky, 200)
    assert r["unexpected"] > 0 and "IndexError" in r["examples"][0]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(PARSERS))
def test_bench_fuzz_shortened(name):
    """`empathy bench fuzz` at 10,000 inputs per parser (the bench runs 1,000,000)."""
    r = bench_fuzz.fuzz(PARSERS[name], 10_000, seed=7)
    assert r["unexpected"] == 0, r["examples"]
