"""The operator dashboard in a real browser: Debian's chromium (headless, via selenium and
chromedriver) against `empathy demo --dashboard`, i.e. a host fed by simulated seats, each
an edge unit in its own process. Checks live values move and that controls take effect,
and saves screenshots (the test's tmp folder; with EMPATHY_DOCS_IMG=1 also docs/img/)."""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from empathy.edge.latency import ESTIMATE_LATENCY_S
from empathy.host.session import store

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
DOCS_IMG = Path(__file__).resolve().parents[1] / "docs" / "img"

pytestmark = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
                                reason="chromium and chromium-driver (apt) are not installed")


@contextlib.contextmanager
def demo_dashboard(tmp: Path, token: str, duration_s: float = 40):
    """`empathy demo` on 3 seats with its dashboard; yields (dashboard URL, process) and
    stops it with SIGINT (it stops its edge units and closes the session)."""
    err = open(tmp / "demo.stderr", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "empathy.cli", "demo", "--seats", "3", "--duration",
         str(duration_s), "--baseline", "2", "--no-faces", "--dashboard", "0", "--out",
         str(tmp / "demo"), "--json"], stdout=subprocess.DEVNULL, stderr=err,
        start_new_session=True,
        env={**os.environ, "EMPATHY_OPERATOR_TOKEN": token, "OMP_NUM_THREADS": "1"})
    deadline, url = time.monotonic() + 120, None
    while url is None and time.monotonic() < deadline:
        m = re.search(r"^dashboard: (http\S+)", (tmp / "demo.stderr").read_text(), re.M)
        url = m and m.group(1)
        assert proc.poll() is None, (tmp / "demo.stderr").read_text()[-3000:]
        time.sleep(0.2)
    assert url, "the demo did not start its dashboard"
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # the demo stops its edge units, closes the session
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        err.close()


@pytest.fixture
def demo(tmp_path):
    token = "browser-" + os.urandom(16).hex()  # the host refuses tokens under 32 characters
    # 120 s of film, stopped by SIGINT when the test is done: on a loaded machine the steps
    # before the kill switch outlasted a 40-s film once (its 60-s wait ran past the show's end)
    with demo_dashboard(tmp_path, token, duration_s=120) as (url, proc):
        yield f"{url}#token={token}", proc


@pytest.fixture
def browser(tmp_path):
    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
                 "--window-size=1280,1000"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def seconds(s: str) -> float:
    try:
        return float(s)
    except ValueError:  # "decided" or "-"
        return 0.0


def text(driver, id_):
    return driver.find_element(By.ID, id_).text


def test_dashboard_shows_live_seats_and_controls_take_effect(demo, browser, tmp_path):
    url, proc = demo
    # Tables are redrawn with each state (replaceChildren): a cell read mid-redraw is stale,
    # and the condition is read again at the next poll.
    wait = WebDriverWait(browser, 60, poll_frequency=0.2,
                         ignored_exceptions=(StaleElementReferenceException,))
    browser.get(url)
    wait.until(lambda d: text(d, "link") == "live")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#seatmap .seat")) == 3
               and text(d, "packets").isdigit() and int(text(d, "packets")) > 0
               and text(d, "segment") != "-")
    first_packets, first_t = int(text(browser, "packets")), float(text(browser, "t"))
    wait.until(lambda d: int(text(d, "packets")) > first_packets + 30
               and float(text(d, "t")) > first_t)  # live: values keep moving
    assert text(browser, "story") == "Neon Rain"
    assert re.fullmatch(r"\d/3", text(browser, "seats-good"))
    # each unit's row says how late its estimate is on the body, as the unit declared it
    lag_cells = "#units tbody tr td:nth-child(7)"
    wait.until(lambda d: {c.text for c in d.find_elements(By.CSS_SELECTOR, lag_cells)}
               == {f"{ESTIMATE_LATENCY_S:.1f}"})
    browser.save_screenshot(str(tmp_path / "dashboard-live.png"))

    # Force whichever branch the next decision offers; the mode line says so at once and
    # the decision, when its window closes, takes it.
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "button.force")
               and seconds(text(d, "countdown")) >= 1.5)  # time left to click

    def force_first(d):  # the buttons are redrawn with each state: found again if stale
        button = d.find_elements(By.CSS_SELECTOR, "button.force")[0]
        option = button.get_attribute("data-option")
        button.click()
        return option

    option = WebDriverWait(browser, 10, poll_frequency=0.1,
                           ignored_exceptions=(StaleElementReferenceException,)).until(
        force_first)
    wait.until(lambda d: text(d, "mode") == f"forced: {option} at next decision")
    WebDriverWait(browser, 40, poll_frequency=0.2).until(
        lambda d: text(d, "last-decision").endswith(f"-> {option}"))
    assert "forced by the operator" in text(browser, "last-reason")

    # Grade strength: the slider's value reaches the picture (the frame info says so).
    browser.execute_script("document.getElementById('grade').value = '0.4'")
    browser.find_element(By.ID, "grade-apply").click()
    wait.until(lambda d: abs(float(text(d, "strength")) - 0.4) < 0.01)

    browser.find_element(By.ID, "kill").click()
    wait.until(lambda d: text(d, "mode").startswith("KILL SWITCH"))
    log = text(browser, "control-log")
    assert "force_branch" in log and "grade_strength" in log and "kill_switch" in log
    shot = tmp_path / "dashboard-controls.png"
    browser.save_screenshot(str(shot))

    # The screenshot shows live data: coloured seat tiles and a drawn arousal curve.
    img = cv2.imread(str(shot))
    for id_ in ("seatmap", "curve"):
        r = browser.find_element(By.ID, id_).rect
        crop = img[int(r["y"]):int(r["y"] + r["height"]), int(r["x"]):int(r["x"] + r["width"])]
        assert crop.size and np.std(crop.reshape(-1, 3), axis=0).max() > 10, id_
    if os.environ.get("EMPATHY_DOCS_IMG"):  # refresh the docs' picture on request only
        DOCS_IMG.mkdir(exist_ok=True)
        shutil.copy(shot, DOCS_IMG / "dashboard.png")

    # The demo's session recorded the controls with everything else.
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    (db,) = store.sessions(tmp_path / "demo" / "session")
    info = store.info(db)
    assert info["samples"] > 100 and info["events"]["control"] == 3
