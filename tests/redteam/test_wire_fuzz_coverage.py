"""The wire became a package (empathy/wire/: sample, control, cue, status): the fuzzing of
its decoders (bench/bench_fuzz.py's parser table, run by tests/test_fuzz_parsers.py) must
still reach every packet kind. A kind whose decoder has no parser, or whose seeds are not
packets of that kind that decode, would leave the decoder's body unfuzzed: the mutations
would all stop at the header."""

from empathy import wire
from empathy.bench import bench_fuzz


def test_every_packet_kind_is_fuzzed_from_valid_packets_of_that_kind():
    kinds = {getattr(wire, k) for k in dir(wire) if k.startswith("KIND_")}
    reached = set()
    for p in bench_fuzz.parsers():
        if not p.name.startswith("wire_") or p.name == "wire_batch":
            continue
        for seed in p.seeds:
            p.parse(seed)  # a seed is a packet the decoder accepts (else this raises)
            reached.add(wire.kind_of(seed))
    assert kinds and reached == kinds, (sorted(kinds), sorted(reached))
    decoders = {n for n in dir(wire) if n.startswith("decode")}
    assert decoders == {"decode", "decode_cue", "decode_faults", "decode_health", "decode_sync",
                        "decode_sync_reply", "decode_status"}, decoders  # a new one: fuzz it
