"""The operator sees WHY a seat's sensor is out: a real edge unit reading the simulated
serial board on a real pty, the board unplugged and plugged back in, a real `empathy host
run` taking the unit's packets over UDP, its dashboard API and /metrics read over HTTP,
and its page in Debian's chromium (headless) where that is installed."""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
import tomli_w

from test_api import HostRig
from test_dashboard_browser import CHROMIUM, DRIVER

SEAT = 22  # the real unit's seat (unit 2); the rig feeds unit 1's seat 1 itself


def _board(link, stop):
    from empathy.sim.board import SimBoard

    board = SimBoard(link, seed=1)

    def loop():
        while not stop.is_set():
            board.step()
            time.sleep(0.005)

    threading.Thread(target=loop, daemon=True).start()
    return board


def _unit(tmp, rig, link):
    rig.keys.for_unit(2).save(tmp / "u2.keys.toml")
    cfg = {"unit_id": 2, "uplink": f"udp://127.0.0.1:{rig.port}",
           "keystore": str(tmp / "u2.keys.toml"), "baseline_s": 1.0, "faces": False,
           "seats": [{"seat_id": SEAT, "source": f"serial://{link}"}]}
    (tmp / "u2.toml").write_text(tomli_w.dumps(cfg))
    return subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                             str(tmp / "u2.toml"), "--duration", "120"],
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "u2.stderr", "w"))


def _seat(state):
    return next((s for s in state["seats"] if s["seat"] == SEAT), None)


def _page_says(rig, tmp, want: str):
    """The operator page's sensor-fault lines once they hold `want` (None: no chromium)."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp / 'chromium'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.set_page_load_timeout(60)
        driver.get(f"{rig.url}#token={rig.token}")
        return WebDriverWait(driver, 60, poll_frequency=0.2).until(
            lambda d: want in d.find_element(By.ID, "seat-faults").text
            and d.find_element(By.ID, "seat-faults").text)
    finally:
        driver.quit()


def _metrics(rig) -> str:
    req = urllib.request.Request(rig.url.rstrip("/") + "/metrics",
                                 headers={"Authorization": f"Bearer {rig.token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


@pytest.mark.realtime  # a board on a pty, a unit and a host in real time
def test_an_unplugged_board_is_named_on_the_dashboard_and_cleared_when_back(tmp_path):
    stop = threading.Event()
    board = _board(tmp_path / "ttyACM0", stop)
    rig = HostRig(tmp_path, seats=2)
    rig.seats = 1  # the rig plays unit 1; unit 2 is the real edge process
    unit = None
    try:
        rig.start()
        unit = _unit(tmp_path, rig, board.link)
        rig.wait_state(lambda s: _seat(s) is not None and _seat(s)["contact"], 90,
                       "the unit's seat, its finger on the board")
        board.unplug()
        state = rig.wait_state(lambda s: not _seat(s)["contact"], 30, "contact lost")
        # before kind 7 the host knew only that: "no contact", not why
        state = rig.wait_state(lambda s: [f["name"] for f in _seat(s).get("faults", [])]
                               == ["unplugged"], 20, "the seat's fault named")
        fault = _seat(state)["faults"][0]
        assert fault["text"] == "sensor unplugged" and "plug" in fault["action"]
        assert fault["since_s"] >= 0
        assert 'empathy_seat_faults{fault="unplugged"} 1.0' in _metrics(rig)
        page = _page_says(rig, tmp_path, "sensor unplugged")
        assert page is None or "seat 22: sensor unplugged: plug the sensor's cable back in" \
            in page, page
        board.replug()
        rig.wait_state(lambda s: not _seat(s).get("faults"), 30, "the fault cleared")
        assert 'empathy_seat_faults{fault="unplugged"} 0.0' in _metrics(rig)
        rejected = rig.get("/api/v1/state", rig.token)[1]["packets"]["rejected"]
        assert not rejected, rejected
        rig.close()  # the show's summary (its report's fault table) names the span
        spans = json.loads(rig.stdout.strip().splitlines()[-1])["seat_faults"][str(SEAT)]
        assert [(s["name"], s["from_s"] < s["to_s"]) for s in spans] == [("unplugged", True)]
        # and the session it recorded has the span, for a researcher's exports
        from empathy.host.session import faults, store
        (session,) = store.sessions(tmp_path / "sessions")
        assert [(f.seat_id, f.fault, f.ended, f.start_us < f.end_us)
                for f in faults.read(session)] == [(SEAT, "unplugged", "cleared", True)]
    finally:
        stop.set()
        if unit is not None:
            unit.terminate()
            unit.wait(30)
        if rig.proc is not None and rig.proc.poll() is None:
            rig.close()
        board.close()
