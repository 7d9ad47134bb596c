"""The config reference is generated from the schemas the loader uses, and cannot drift."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from empathy import config, config_doc
from empathy.config_doc import example_toml, reference_markdown, schema_keys, schemas, undocumented

ROOT = Path(__file__).resolve().parents[1]


def test_every_config_key_has_a_meaning():
    missing = [f"{k.where}: {kind}.toml key {k.path}" for kind, cls in schemas().items()
               for k in undocumented(cls)]
    assert not missing, ("config keys without a meaning; write a `#: meaning` comment above "
                         "each field, then `empathy config reference`:\n  " + "\n  ".join(missing))


def test_the_reference_matches_the_schemas(monkeypatch):
    monkeypatch.chdir(ROOT)  # `where` paths are relative to the checkout
    doc = ROOT / "docs" / "config-reference.md"
    assert doc.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/config-reference.md differs from the schemas: run "
        "`empathy config reference --out docs/config-reference.md`")
    text = doc.read_text()
    for kind, cls in schemas().items():  # every key is in it, in its table
        for k in schema_keys(cls):
            if k.sub is None:
                assert f"| `{k.name}` | {k.type} |" in text, k.path
    assert "### `[show]`" in text and "### `[[seats]]`" in text and "### `[[seatmap.units]]`" in text


def test_templates_load_clean(tmp_path):
    for kind, cls in schemas().items():
        r = subprocess.run([sys.executable, "-m", "empathy.cli", "config", "example", kind],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout == example_toml(kind)
        path = tmp_path / f"{kind}.toml"
        path.write_text(r.stdout)
        cfg = config.from_toml(cls, path)
        assert config.to_dict(cfg) == config.to_dict(config.loads(cls, r.stdout))
        r = subprocess.run([sys.executable, "-m", "empathy.cli", "config", "check", "--schema-only",
                            str(path)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and f"ok ({kind} config)" in r.stdout, r.stderr
    host = config.loads(schemas()["host"], example_toml("host"))
    assert host.story == "films/my_film.toml" and host.show.fps == 25.0  # required key: example
    edge = config.loads(schemas()["edge"], example_toml("edge"))
    assert [s.seat_id for s in edge.seats] == [1]


def test_reference_check_mode(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    stale = tmp_path / "ref.md"
    stale.write_text("old\n")
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "config", "reference", "--check",
                        "--out", str(stale)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 1 and "out of date" in r.stderr
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "config", "reference", "--check"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    # outside the checkout there is no reference to be out of date: say so, not "out of date"
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "config", "reference", "--check"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 1 and "out of date" not in r.stderr, r.stderr
    assert "docs/config-reference.md: no such file" in r.stderr, r.stderr


@dataclass
class _Inner:
    #: a documented
    #: two-line meaning. Example: 3
    count: int = 2
    # a plain comment is for the code's reader, not a meaning
    hidden: str = "x"


@dataclass
class _Outer:
    name: str = ""  #: trailing meaning (required). Example: "kai"
    flag: bool = False
    inner: _Inner = field(default_factory=_Inner)  #: The inner table.
    items: list[_Inner] = field(default_factory=list)  #: Entries.


def test_generator_tolerates_fields_without_a_meaning():
    keys = {k.path: k for k in schema_keys(_Outer)}
    assert keys["inner.count"].doc == "a documented two-line meaning."
    assert keys["inner.count"].example == "3"
    assert keys["name"].doc == "trailing meaning (required)." and keys["name"].example == '"kai"'
    assert [k.path for k in undocumented(_Outer)] == ["flag", "inner.hidden", "items[].hidden"]
    where = keys["flag"].where
    assert where.endswith("(_Outer.flag)") and "test_config_reference.py:" in where
    md = "\n".join(config_doc._tables(schema_keys(_Outer)))
    assert "| `flag` | boolean | `false` | (undocumented) | `flag = false` |" in md
    assert "### `[[items]]`" in md and "### `[inner]`" in md
    monkey = {"outer": _Outer}
    old = config_doc.schemas
    config_doc.schemas = lambda: monkey
    try:
        text = example_toml("outer")
    finally:
        config_doc.schemas = old
    assert 'name = "kai"' in text and "# [[items]]" in text and "# count = 2" in text
    assert config.to_dict(config.loads(_Outer, text)) == {
        "name": "kai", "flag": False, "inner": {"count": 2, "hidden": "x"}, "items": []}
