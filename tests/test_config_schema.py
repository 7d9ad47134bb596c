"""empathy/config.py: declared ranges and checks, every problem collected with its line,
and the line finder on the TOML shapes configs use."""

from dataclasses import dataclass, field

import pytest

from empathy.config import ConfigError, line_map, loads, setting, url_port
from empathy.errors import UserError, classify


@dataclass
class Inner:
    port: int = setting(80, lo=1, hi=65535)
    rate_hz: float = setting(0.0, lo=0.5, hi=10, zero_ok=True)


@dataclass
class Outer:
    name: str = "x"
    url: str = setting("udp://h:1", check=url_port)
    ids: list[int] = setting([], lo=0, hi=9)
    out: str | list[str] = "a"
    inner: Inner = field(default_factory=Inner)
    items: list[Inner] = field(default_factory=list)


def test_line_map_follows_tables_arrays_and_multiline_strings():
    text = ('a = 1\n'
            'doc = """\n'
            'not_a_key = 2\n'
            '"""\n'
            '[t]\n'
            'b.c = 3\n'
            '[[arr]]\n'
            'x = 1\n'
            '[[arr]]\n'
            'x = 2\n'
            '[[arr.sub]]\n'
            'y = 3\n')
    m = line_map(text)
    assert m["a"] == 1 and m["doc"] == 2 and "not_a_key" not in m
    assert m["t"] == 5 and m["t.b.c"] == 6
    assert m["arr[0].x"] == 8 and m["arr[1].x"] == 10 and m["arr[1].sub[0].y"] == 12


def test_every_problem_is_collected_with_its_line():
    text = ('url = "udp://h:70000"\n'      # 1
            'ids = [1, 12, 3, -1]\n'       # 2
            'out = 5\n'                    # 3
            'bogus = true\n'               # 4
            '[inner]\n'                    # 5
            'port = 0\n'                   # 6
            'rate_hz = 0.1\n'              # 7
            '[[items]]\n'                  # 8
            'port = 8080\n'                # 9
            '[[items]]\n'                  # 10
            'port = "http"\n')             # 11
    with pytest.raises(ConfigError) as e:
        loads(Outer, text, "f.toml")
    got = e.value.problems
    assert [p.split(":")[1] for p in got] == ["1", "2", "2", "3", "4", "6", "7", "11"], got
    assert "f.toml:2: ids[1]: 12 out of range 0..9" in got
    assert "f.toml:2: ids[3]: -1 out of range 0..9" in got
    assert got[3].startswith("f.toml:3: out: expected str or a list of str")
    assert "f.toml:7: inner.rate_hz: 0.1 out of range 0.5..10 (or 0 = off)" in got
    assert got[-1].startswith("f.toml:11: items[1].port: expected int")
    assert str(e.value) == "\n".join(got)


def test_good_values_and_zero_as_off_pass():
    cfg = loads(Outer, 'out = ["a", "b"]\nids = [0, 9]\n[inner]\nrate_hz = 0\nport = 65535\n')
    assert cfg.out == ["a", "b"] and cfg.inner.rate_hz == 0.0 and cfg.ids == [0, 9]
    assert loads(Outer, 'out = "c"\n').out == "c"


def test_a_missing_python_package_is_a_user_error_naming_the_role():
    msg, hint, code = classify(ModuleNotFoundError("No module named 'gi'", name="gi"))
    assert "lacks the Python package 'gi'" in msg and "--role" in hint and code == 1
    assert classify(UserError("x", "do y", exit_code=3)) == ("x", "do y", 3)
    assert classify(ZeroDivisionError()) is None
