"""1,000 units at 10 Hz for 60 s through a real mosquitto: the issue's scale target.

Slow (about 90 s): run with `scripts/test.sh -m slow`. The same measurement is
`empathy bench mqtt`, which also prints the latency figures side by side.
"""

import pytest

from empathy.bench.bench_mqtt import measure


@pytest.mark.slow
def test_thousand_units_through_mosquitto_deliver_999_per_mille():
    r = measure(units=1000, duration_s=60.0)
    print(r)
    assert r["sent"] >= 0.99 * 1000 * 10 * 60  # the publishers kept their rate
    assert r["rejected"] == 0
    assert r["delivered"] >= 0.999, r
