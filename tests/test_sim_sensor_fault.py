"""A simulated seat's strap failing mid-film (sim/sensor_fault.py): said with the words its
real driver uses, at the scripted film times, and nothing of the strap's read meanwhile."""

import csv
import time

import pytest

from empathy.edge.seat_faults import codes_of
from empathy.sensors.base import NO_SKIN, Beat, FaceCrop, Health, SourceError, open_source
from empathy.sim.sensor_fault import demo_fault
from empathy.wire import codes_of as wire_codes, describe


def test_the_seat_says_its_strap_fault_at_the_scripted_film_times(tmp_path):
    shown = []  # the film starts at the seat's first step with a segment on screen

    def screen():
        return ("opening", 0.0, 0.3) if shown else ("", 0.0, 0.3)

    truth = tmp_path / "truth.csv"
    src = open_source(f"sim://seat?seed=4&nuisance=0&fault=no_skin@0.6:1.6&truth={truth}",
                      screen=screen, faces=True)
    got = []
    try:
        got += src.read(0.05)
        shown.append(True)
        end = time.monotonic() + 2.6
        while time.monotonic() < end or not [r for r in got if isinstance(r, Health)][2:]:
            got += src.read(0.05)
            assert time.monotonic() < end + 30, "the seat never cleared its fault"
    finally:
        src.close()
    film_us = src.fault.film_us
    health = [((r.ts_us - film_us) / 1e6, r.contact, r.fault) for r in got
              if isinstance(r, Health)]
    assert [(c, f) for _, c, f in health] == [(True, ""), (False, NO_SKIN), (True, "")]
    (on, *_), (off, *_) = health[1:]
    assert 0.6 <= on < 0.64 and 1.6 <= off < 1.64, health  # the source's own 20 ms steps
    # the edge reads them as the wire's no_skin, then all clear
    names = [[describe(c).name for c in wire_codes(codes_of(r))] for r in got
             if isinstance(r, Health)]
    assert names == [[], ["no_skin"], []]
    beats = [(r.ts_us - film_us) / 1e6 for r in got if isinstance(r, Beat)]
    assert beats and not [t for t in beats if on <= t < off], beats
    assert [t for t in beats if t >= off]  # the strap reads again once it is back
    faces = [(r.ts_us - film_us) / 1e6 for r in got if isinstance(r, FaceCrop)]
    assert [t for t in faces if on <= t < off]  # the face camera is not the strap
    rows = [((int(r["ts_us"]) - film_us) / 1e6, r["nuisance"])
            for r in csv.DictReader(truth.open())]
    assert {n for t, n in rows if on <= t < off} == {"no_skin"}  # the truth says why
    assert {n for t, n in rows if not on <= t < off} == {""}


@pytest.mark.parametrize("spec", ["no_skin", "no_skin@2", "no_skin@3:2", "wet@1:2",
                                  "no_skin@a:b", "no_skin@-1:2"])
def test_a_bad_fault_is_a_clear_source_error(spec):
    with pytest.raises(SourceError, match="fault"):
        open_source(f"sim://seat?fault={spec}", faces=False)


def test_the_demo_fault_is_seeded_mid_film_on_a_simulated_seat():
    picks = {s: demo_fault(s, 8, 120.0, {8}) for s in range(40)}
    assert picks == {s: demo_fault(s, 8, 120.0, {8}) for s in range(40)}  # reproducible
    units = {u for p in picks.values() for u in p}
    assert 8 not in units and len(units) > 3  # another source's seat is never chosen
    kinds = set()
    for p in picks.values():
        ((unit, q),) = p.items()
        kind, _, span = q.removeprefix("&fault=").partition("@")
        a, b = map(float, span.split(":"))
        kinds.add(kind)
        assert 30 <= a <= 42 and b - a == pytest.approx(8.0), q
    assert kinds == {"no_skin", "strap_gone"}
    assert demo_fault(1, 3, 14.0, set()) != {}  # the test demo's 14 s film has one
    assert demo_fault(1, 1, 14.0, {1}) == demo_fault(1, 3, 2.0, set()) == {}
