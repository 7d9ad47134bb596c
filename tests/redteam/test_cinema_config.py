"""A cinema's own host.toml, as it is edited on the night: saved by Windows Notepad (a
byte-order mark) and with a show length typed as -1 for "for ever". The first was refused
as 'Invalid statement (at line 1, column 1)' by `config check`, `host run` and `doctor`;
the second loaded clean and ended the show at once (Show.run's frames_due
was negative)."""

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
