"""The deployment templates in deploy/: valid configs, stable device paths, and one seat
numbering shared by the cinema's host seat map, its edge units and the dashboard."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from empathy.config import from_toml
from empathy.host.cli import HostConfig
from empathy.host.dashboard.room import Room

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
CONFIGS = sorted(DEPLOY.glob("*/*.toml"))
ROWS = "ABCDEFGHJKLMNOP"


def test_every_template_passes_config_check():
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "config", "check", "--schema-only",
                        *map(str, CONFIGS)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(CONFIGS) >= 6


@pytest.mark.parametrize("path", [p for p in CONFIGS if p.name.startswith("edge")],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_serial_boards_are_named_by_id_never_by_enumeration_order(path):
    text = path.read_text()
    sources = [s["source"] for s in tomllib.loads(text).get("seats", [])]
    # in the settings and in the comments that tell the technician what to write
    for url in sources + re.findall(r'serial://[^"\s)]+', text):
        if urlsplit(url).scheme == "serial":
            assert url.startswith("serial:///dev/serial/by-id/usb-"), (path, url)
    settings = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"/dev/tty(ACM|USB)", settings), path


def test_cinema_numbering_is_one_scheme_everywhere():
    """seat id = row x 100 + seat number; unit id = row x 100 + its box's place from the
    left, four seats a box; rows A-P without I, 20 seats each, 300 in all."""
    host = from_toml(HostConfig, DEPLOY / "cinema" / "host.toml")
    sm = host.seatmap
    assert [r.name for r in sm.rows] == list(ROWS)
    assert sum(len(r.seats) for r in sm.rows) == 300 and len(sm.units) == 75
    for i, row in enumerate(sm.rows, 1):
        assert row.seats == [i * 100 + n for n in range(1, 21)], row.name
    for u in sm.units:
        row, box = divmod(u.unit, 100)
        assert u.seats == [row * 100 + 4 * (box - 1) + k for k in range(1, 5)], u.unit
    room = Room(sm)
    assert room.label(307) == "C7" and room.label(1520) == "P20"
    assert host.session.retention_days > 0  # biometric data is not kept for ever

    # The edge template is the box under C1-C4: its unit, its seats and the comments
    # naming each seat agree with the host's seat map.
    edge_text = (DEPLOY / "cinema" / "edge.toml").read_text()
    edge = tomllib.loads(edge_text)
    assert sm.owners()[edge["seats"][0]["seat_id"]] == edge["unit_id"]
    assert [s["seat_id"] for s in edge["seats"]] == next(
        u.seats for u in sm.units if u.unit == edge["unit_id"])
    for seat_id, label in re.findall(r"seat_id = (\d+)\s+# (\w+)", edge_text):
        assert room.label(int(seat_id)) == label
    assert len(re.findall(r"seat_id = \d+\s+# \w+", edge_text)) == 4
