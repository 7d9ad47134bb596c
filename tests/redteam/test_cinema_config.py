"""A cinema's own host.toml and install plan, as they are edited on the night: saved by
Windows Notepad (a byte-order mark), a show length typed as -1 for "for ever", ids and
limits out of range. The BOM was refused as 'Invalid statement (at line 1, column 1)' by
`config check`, `host run` and `doctor`; duration_s = -1 loaded clean and ended the show
at once (Show.run's frames_due was negative); the install plan took any number."""

import re

import pytest

from empathy.config import ConfigError, from_toml
from empathy.config_doc import example_toml
from empathy.host.cli import HostConfig
from empathy.host.config_cli import check


@pytest.fixture
def host_toml(tmp_path):
    path = tmp_path / "host.toml"
    path.write_text(example_toml("host"))
    return path


def test_a_config_saved_with_a_byte_order_mark_loads(host_toml):
    host_toml.write_bytes(b"\xef\xbb\xbf" + host_toml.read_bytes())
    assert check(host_toml, files=False)["kind"] == "host"
    assert from_toml(HostConfig, host_toml).show.fps == 25.0


def test_a_byte_order_mark_does_not_move_the_lines_errors_name(host_toml):
    text = host_toml.read_text().replace("fps = 25.0", "fps = 0.5")
    line = next(n for n, s in enumerate(text.splitlines(), 1) if s.startswith("fps = "))
    host_toml.write_bytes(b"\xef\xbb\xbf" + text.encode())
    with pytest.raises(ConfigError, match=rf"host\.toml:{line}: show\.fps: 0\.5 out of range"):
        check(host_toml, files=False)


@pytest.mark.parametrize("value", ["-1.0", "1e308"])
def test_a_show_length_out_of_range_is_refused_on_its_line(host_toml, value):
    text = host_toml.read_text()
    assert "\nduration_s = 0.0\n" in text
    host_toml.write_text(text.replace("\nduration_s = 0.0\n", f"\nduration_s = {value}\n"))
    line = next(n for n, s in enumerate(host_toml.read_text().splitlines(), 1)
                if s.startswith("duration_s = "))
    for load in (lambda: check(host_toml, files=False), lambda: from_toml(HostConfig, host_toml)):
        with pytest.raises(ConfigError, match=rf"host\.toml:{line}: duration_s: .* out of range"):
            load()


PLAN = """name = "screen 3"
duration_s = {dur}
listen = "udp://127.0.0.1:0"
[limits]
max_loss_pct = {loss}
[[seats]]
seat_id = {seat}
unit_id = {unit}
"""
PLAN_OK = {"dur": "30.0", "loss": "2.0", "seat": "301", "unit": "301"}


def test_the_install_plan_these_variants_start_from_loads(tmp_path):
    from empathy.calibration.seats import load_plan

    (tmp_path / "plan.toml").write_text(PLAN.format(**PLAN_OK))
    assert load_plan(tmp_path / "plan.toml").seats[0].unit_id == 301


@pytest.mark.parametrize("key, value, says", [
    ("dur", "-5.0", ":2: duration_s: -5 out of range 1..86400"),
    ("loss", "-1.0", ":5: limits.max_loss_pct: -1 out of range 0..100"),
    ("seat", "70000", ":7: seats[0].seat_id: 70000 out of range 0..65535"),
    ("unit", "-3", ":8: seats[0].unit_id: -3 out of range 0..65535")])
def test_an_install_plan_value_out_of_range_is_refused_on_its_line(tmp_path, key, value, says):
    """`calibrate seats` listened 0 s for duration_s = -5 and failed every seat, and
    reported a seat of unit -3 as 'nothing heard from unit -3 (power, network, ...)'."""
    from empathy.calibration.seats import load_plan

    (tmp_path / "plan.toml").write_text(PLAN.format(**{**PLAN_OK, key: value}))
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_plan(tmp_path / "plan.toml")
