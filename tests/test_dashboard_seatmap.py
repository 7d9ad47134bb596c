"""The seat map at cinema scale: a real `empathy host run` with the shipped 300-seat room
(deploy/cinema/host.toml's [seatmap]: 15 rows of 20, 75 four-seat units) fed real signed
UDP packets by 74 units, one unit dark, and a few seats failing in different ways. The
API and /metrics must name the dead seats by row and number; headless Chromium must draw
the room as laid out, readable on one screen (screenshot: the test's tmp folder, and
docs/img/seatmap.png with EMPATHY_DOCS_IMG=1)."""

import math
import os
import shutil
import socket
import time
import tomllib
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from empathy import wire
from empathy.clock import now_us
from empathy.keys import Keystore
from test_api import GOOD, HostRig
from test_dashboard_browser import CHROMIUM, DOCS_IMG, DRIVER

ROOT = Path(__file__).resolve().parents[1]
ROOM = tomllib.loads((ROOT / "deploy" / "cinema" / "host.toml").read_text())["seatmap"]
DARK_UNIT = 305  # never powered: C17-C20
NO_SIGNAL, EMPTY, UNPLUGGED = 407, 503, 612  # D7 contact but no pulse, E3 empty, F12 pulled
EXPECTED_DEAD = {"C17": "never_heard", "C18": "never_heard", "C19": "never_heard",
                 "C20": "never_heard", "D7": "no_signal", "F12": "silent"}
FEED_HZ = 2.0  # per seat: fresh enough (a seat is stale after 2 s), light on 2 cores


class RoomRig(HostRig):
    """HostRig with the shipped room: 75 units of four seats instead of one seat each."""

    def __init__(self, tmp: Path):
        super().__init__(tmp, seats=1, seatmap=ROOM)
        self.units = {u["unit"]: u["seats"] for u in ROOM["units"]}
        self.keys = Keystore.new(self.units)
        self.keys.save(tmp / "host.keys.toml")
        self.unplug_at = None

    def _feed(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        seq, t0 = 0, time.monotonic()
        self.unplug_at = t0 + 3.0
        while not self._stop.is_set():
            t = time.monotonic() - t0
            for unit, seats in self.units.items():
                if unit == DARK_UNIT:
                    continue
                for k, seat in enumerate(seats):
                    if seat == UNPLUGGED and time.monotonic() > self.unplug_at:
                        continue
                    flags = {NO_SIGNAL: wire.Flag.CONTACT, EMPTY: 0}.get(seat, GOOD)
                    # A slow wave across the room, so the tiles' colours differ.
                    arousal = round(0.8 * math.sin(t / 3 + seat % 100 / 4 + seat // 100), 3)
                    # one sequence per unit, as a unit numbers every packet it sends
                    s = wire.SeatSample(unit, seat, seq * 4 + k, now_us(),
                                        hr_bpm=60 + seat % 30, rmssd_ms=40.0, pupil_mm=3.5,
                                        arousal=arousal, valence=0.0, flags=flags)
                    sock.sendto(wire.encode(s, self.keys.units[unit]), ("127.0.0.1", self.port))
            seq += 1
            self._stop.wait(1 / FEED_HZ)
        sock.close()


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    rig = RoomRig(tmp_path_factory.mktemp("room")).start()
    yield rig
    rig.close()


def dead_now(rig) -> dict:
    return rig.wait_state(
        lambda s: {d["label"]: d["status"] for d in s["room"]["dead"]} == EXPECTED_DEAD,
        90, "the dead seats")


def test_the_room_names_its_dead_seats_by_row_and_number(room):
    s = dead_now(room)
    r = s["room"]
    assert r["configured"] and r["seats_total"] == 300 and r["seats_good"] == 300 - 7
    assert [row["name"] for row in r["rows"]] == list("ABCDEFGHJKLMNOP")
    assert all(len(row["seats"]) == 20 and row["numbers"] == list(range(1, 21))
               for row in r["rows"])
    dead = {d["label"]: d for d in r["dead"]}
    assert dead["C17"] == {"seat": 317, "label": "C17", "row": "C", "number": 17,
                           "status": "never_heard", "unit": DARK_UNIT, "silent_s": None}
    assert dead["D7"]["unit"] == 402 and dead["F12"]["unit"] == 603
    assert dead["F12"]["silent_s"] >= 2  # silent: over 2 s (rounded)
    assert [(d["label"], d["status"]) for d in r["no_contact"]] == [("E3", "no_contact")]
    assert r["counts"] == {"never_heard": 4, "silent": 1, "no_contact": 1, "no_signal": 1,
                           "good": 293}

    # The same seats in the metrics, and the dark unit is silent since the host started.
    code_text = room_metrics(room)
    fams = {f.name: f for f in text_string_to_metric_families(code_text)}
    seats = {x.labels["status"]: x.value for x in fams["empathy_seats"].samples}
    assert seats["never_heard"] == 4 and seats["good"] >= 290
    assert fams["empathy_seats_total"].samples[0].value == 300
    silent = {x.labels["unit"]: x.value for x in fams["empathy_unit_silent_seconds"].samples}
    assert len(silent) == 75 and silent[str(DARK_UNIT)] > 2
    assert max(v for u, v in silent.items() if u != str(DARK_UNIT)) < 2


def room_metrics(rig) -> str:
    import urllib.request

    req = urllib.request.Request(rig.url + "metrics",
                                 headers={"Authorization": f"Bearer {rig.token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


@pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
                    reason="chromium and chromium-driver (apt) are not installed")
def test_300_seats_drawn_as_the_room_is_laid_out(room, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    dead_now(room)
    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
                 "--window-size=1280,1000", "--hide-scrollbars"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.get(f"{room.url}#token={room.token}")
        wait = WebDriverWait(driver, 60, poll_frequency=0.2)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#seatmap .seat")) == 300)
        wait.until(lambda d: "F12" in d.find_element(By.ID, "dead-seats").text)
        rows = driver.find_elements(By.CSS_SELECTOR, "#seatmap .room-row")
        assert [r.get_attribute("data-row") for r in rows] == list("ABCDEFGHJKLMNOP")

        # Laid out as the room: row A nearest the screen, each row left to right, seat
        # numbers on the tiles; the whole room fits the window's width, tiles big enough
        # to read.
        screen = driver.find_element(By.CSS_SELECTOR, "#seatmap .screen").rect
        tile = {n: driver.find_element(By.ID, f"seat-{n}").rect for n in (101, 120, 1501, 1520)}
        assert screen["y"] < tile[101]["y"] < tile[1501]["y"]
        assert tile[101]["x"] < tile[120]["x"] and abs(tile[101]["x"] - tile[1501]["x"]) < 1
        width = driver.execute_script("return window.innerWidth")
        assert tile[120]["x"] + tile[120]["width"] <= width
        assert 24 <= tile[101]["width"] and 18 <= tile[101]["height"]
        assert driver.find_element(By.ID, "seat-307").text == "7"

        # Status on every tile: dead seats marked, colour by arousal on the good ones.
        cls = lambda n: driver.find_element(By.ID, f"seat-{n}").get_attribute("class")
        assert "never_heard" in cls(317) and "silent" in cls(UNPLUGGED)
        assert "no_signal" in cls(NO_SIGNAL) and "no_contact" in cls(EMPTY)
        assert "good" in cls(101)
        colours = {driver.find_element(By.ID, f"seat-{n}").value_of_css_property(
            "background-color") for n in (101, 105, 110, 115, 120, 801, 810)}
        assert len(colours) >= 3, colours
        title = driver.find_element(By.ID, "seat-412").get_attribute("title")
        assert title.startswith("D12") and "unit 403" in title

        # The dead-seat list, by row and number, grouped by unit.
        text = driver.find_element(By.ID, "dead-seats").text
        assert "unit 305" in text and "C17 C18 C19 C20" in text
        assert "D7" in text and "F12" in text and "E3" in text
        assert "6 dead" in text

        box = driver.find_element(By.ID, "seats-box")
        driver.execute_script("arguments[0].scrollIntoView()", box)
        time.sleep(0.5)  # one more state push, so no tile is mid-update
        shot = tmp_path / "seatmap.png"
        box.screenshot(str(shot))
        if os.environ.get("EMPATHY_DOCS_IMG"):  # refresh the guide's picture on request only
            DOCS_IMG.mkdir(exist_ok=True)
            shutil.copy(shot, DOCS_IMG / "seatmap.png")
    finally:
        driver.quit()
