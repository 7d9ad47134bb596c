"""Soak (slow): screenings back to back with a live edge unit; nothing may keep growing.

`empathy bench soak` runs the full 8-hour day; this is a shortened one (2 hours of film in
8 screenings) that still opens and closes a show, player, receiver and session recorder
per screening while one edge unit sends throughout.
"""

import pytest

from empathy.bench.bench_soak import growth, soak

WARMUP = 3  # GStreamer plugins, models and allocator arenas settle over the first shows


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_day_of_screenings_does_not_grow(tmp_path):
    rows = soak(film_hours=2.0, screenings=8, folder=tmp_path)
    assert all(r["frames"] >= 0.99 * 2 * 3600 / 8 for r in rows)  # every screening played
    assert all(r["samples"] > 0 for r in rows)  # the edge unit's packets reached each show
    warm, last = rows[WARMUP - 1], rows[-1]
    assert last["fds"] <= warm["fds"] + 2, [r["fds"] for r in rows]
    assert last["threads"] <= warm["threads"] + 6, [r["threads"] for r in rows]
    # Memory: no trend after warm-up beyond allocator noise (a leak of one frame per frame
    # shown would add ~40 MiB per screening here).
    assert growth(rows, "live_mb", WARMUP) < 4.0, [round(r["live_mb"]) for r in rows]
    # CPU per screening does not creep up (a growing list walked every frame would).
    assert rows[-1]["cpu_s"] < 1.5 * max(r["cpu_s"] for r in rows[:WARMUP]), rows
