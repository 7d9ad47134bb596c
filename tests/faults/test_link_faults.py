"""Link faults during a running show: a lossy, duplicating, reordering network between the
edge units and the host, and an edge unit killed with SIGKILL and started again."""

import time

from conftest import assert_recorded, assert_screen_alive, recorded, seat_gaps_s, wait_for


def test_lossy_link_30_percent_loss_duplicates_and_reordering(cinema_factory):
    cinema = cinema_factory(units=2, proxy={"loss": 0.3, "dup": 0.1, "reorder": 0.2})
    cinema.start()
    cinema.wait_all_heard()
    # 12 s of film with the units heard, past a decision (3 s) and a segment switch (10 s):
    # a loaded machine starts the units late (16 s into the film once, nothing to check)
    cinema.wait_film_s(cinema.film_s() + 12)
    state = cinema.state()
    until = time.monotonic()
    cinema.stop_host()

    # the dashboard shows the fault: each unit's loss near 30 %, duplicates refused
    for u in state["units"]:
        assert 15.0 <= u["loss_pct"] <= 45.0, u
    assert state["packets"]["rejected"].get("replayed", 0) > 0, state["packets"]
    assert_screen_alive(cinema.frames(), cinema.screen())
    (db,) = cinema.sessions()
    got = assert_recorded(cinema, db, until)
    # nothing recorded twice, and no seat goes a second without a sample
    rows = recorded(db)
    assert len(rows) == len({(r[1], r[3]) for r in rows})
    gaps = seat_gaps_s(db, since_us=min(r[0] for r in rows) + 2_000_000)
    assert gaps and max(gaps.values()) <= 1.0, gaps
    print("lossy link:", got, "longest seat gap s:", gaps)


def test_edge_unit_killed_and_restarted_is_heard_again_within_5_s(cinema_factory):
    cinema = cinema_factory(units=2, proxy={})  # the proxy only records what was sent
    cinema.start()
    cinema.wait_all_heard()
    cinema.wait_film_s(3)
    # long enough that its sequence is well past the host's 64-packet replay window
    cinema.wait_sent(100, unit=1)
    killed_at = cinema.kill(cinema.edges[1])
    last_seq = max(s.seq for _, s in cinema.sent() if s.unit_id == 1)
    # the operator sees it: a unit_quiet health event, and the unit silent in the state
    wait_for(lambda: cinema.tap.health("unit_quiet", killed_at), 15, "unit_quiet on the API")
    assert cinema.tap.health("unit_quiet", killed_at)[0]["unit"] == 1
    assert cinema.unit_state(1)["silent_s"] >= 2.0
    assert cinema.hearing(2)  # the other unit carries on
    restarted_at = time.monotonic()
    cinema.start_unit(1)

    def first_packet_after_restart():
        return next((t for t, s in cinema.sent() if s.unit_id == 1 and t > restarted_at), None)

    first = wait_for(first_packet_after_restart, 60, "the restarted unit's first packet")
    # it goes on past every number it sent before: from 0 the host would refuse it as a replay
    assert min(s.seq for t, s in cinema.sent() if s.unit_id == 1 and t > restarted_at) > last_seq
    reconnect_s = cinema.time_to_hear(1, since=first)
    assert reconnect_s <= 5.0, f"unit 1 heard {reconnect_s:.2f} s after its first packet"
    wait_for(lambda: cinema.tap.health("unit_back", restarted_at), 15, "unit_back on the API")
    cinema.wait_film_s(8)
    until = time.monotonic()
    cinema.stop_host()
    assert_screen_alive(cinema.frames(), cinema.screen())
    (db,) = cinema.sessions()
    print("edge restart: reconnected", round(reconnect_s, 2), "s after its first packet;",
          assert_recorded(cinema, db, until))
