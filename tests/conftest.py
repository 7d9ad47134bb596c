"""Suite-wide: which tests keep real time (playback lateness, clock sync, restarts within a
deadline, live demos). scripts/test.sh runs them on their own after the rest has run in
parallel, so other tests' load does not decide their timing."""

import os
import re

import pytest

REALTIME = re.compile(r"tests/(faults/|test_demo\.py|test_demo_story\.py|test_player\.py|"
                      r"test_playback_\w+\.py|test_transport_e2e\.py|test_calibration_latency\.py|"
                      r"test_calibration_light\.py|test_edge_host\.py|test_dashboard_seatmap\.py|"
                      r"test_ble_strap\.py|test_research_seats\.py|test_perception_demo\.py|"
                      r"test_serial_ble_demo\.py|test_rehearsal\.py|"
                      r"test_brainflow_source\.py)")


# Files that take longest in the parallel pass (seconds on one worker, 3 workers on 2 cores
# under load; scripts/test.sh pass 1 with a timeline plugin, 2026-12-03): handed out first,
# so no long file starts last and keeps one worker busy while the others idle. xdist
# otherwise hands out files by how many tests they hold (scripts/test.sh turns that off).
LONG_FIRST = ("test_policy_sim", "test_guide_artist", "test_wire", "test_fuzz_parsers",
              "test_doctor_config", "test_sim_physiology", "test_ppg_motion", "test_story_check",
              "test_privacy", "test_guide_cinema", "test_heart_corpus", "test_kiosk",
              "test_heart_hrv", "test_config_reference", "test_cli_errors", "test_metrics",
              "test_session_export", "test_api", "test_story_new", "test_install_roles")


def _long_rank(item) -> int:
    name = item.path.stem
    return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the parallel pass only; sort is stable
        items.sort(key=_long_rank)
    for item in items:
        if REALTIME.search(item.nodeid.replace("\\", "/")) or REALTIME.search(
                "tests/" + item.nodeid.replace("\\", "/")):
            item.add_marker(pytest.mark.realtime)
