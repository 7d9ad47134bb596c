"""`empathy config check FILE...` — validate host and edge configs before a show;
`empathy config reference` / `example host|edge` — the reference and templates
(empathy/config_doc.py).

The kind (host, edge or a room's install plan) is read from the file: a host config names
a `story`, an install plan its `listen` or `limits`, an edge config a
`unit_id`/`uplink`/`seats`. Every key is checked against its schema (unknown keys,
wrong types, values out of range, unknown transport/sensor/output kinds), then, unless
--schema-only, the files the config points at (story, keystore, token file, a seat's
recording or video). Every problem in a file is reported, one line each,
`file:line: key: why`. Relative paths are taken from the working directory, as
`empathy host run` does; deployment profiles use absolute ones.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

from empathy import toml_text
from empathy.config import ConfigError, from_dict, line_map
from empathy.paths import read_file


def _read(path: Path) -> tuple[str, dict]:
    try:
        text = read_file(path).decode("utf-8-sig")  # -sig: drops Notepad's BOM
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (a config is UTF-8 TOML)") from None
    try:
        return text, toml_text.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+)", str(e))
        raise ConfigError(f"{path}:{m.group(1) if m else ''}: not valid TOML: {e}"
                          .replace("::", ":")) from None


def kind_of(path: Path) -> str:
    return _kind(path, _read(path)[1])


def expect_kind(path: str | Path, kind: str) -> None:
    """Refuse, in one line, a config of the other kind (the host's given to `edge run`):
    loading it would list every one of its tables as an unknown key."""
    try:
        found = kind_of(Path(path))
    except ConfigError:
        return  # unreadable, or neither kind: loading it says why, line by line
    if found != kind:
        name = {"host": "a host config", "edge": "an edge config",
                "install plan": "a room's install plan"}
        runs = f"calibrate seats --plan {path}` reads" if found == "install plan" else \
            f"{found} run --config {path}` runs"
        raise ConfigError(f"{path} is {name[found]}, not {name[kind]} (`empathy {runs} it)")


def _kind(path: Path, doc: dict) -> str:
    if "story" in doc or "show" in doc:
        return "host"
    if {"listen", "limits"} & set(doc) and "unit_id" not in doc:  # (edge keys: its seats)
        return "install plan"
    if {"unit_id", "uplink", "seats"} & set(doc):
        return "edge"
    raise ConfigError(f"{path}: neither a host config (needs `story`) nor an edge config "
                      "(needs `unit_id` and `seats`) nor a room's install plan (`listen`)")


class _Files:
    """Files a config names, each missing one a problem on its key's line."""

    def __init__(self, path: Path, text: str):
        self.path, self.lines, self.problems = path, line_map(text), []

    def add(self, key: str, problem: str) -> None:
        """A problem on `key`'s line (the file alone where the key is not written)."""
        line = self.lines.get(key)
        self.problems.append(f"{self.path}{f':{line}' if line else ''}: {problem}")

    def exists(self, key: str, value: str) -> bool:
        if value and not Path(value).exists():
            self.add(key, f"{key}: {value!r}: no such file")
            return False
        return True


def check_host(path: Path, files: bool, text: str, doc: dict) -> dict:
    from empathy.host.cli import HostConfig

    found = _Files(path, text)
    cfg = _schema(HostConfig, doc, path, text, found.problems)
    if files and cfg:
        from empathy.host.story import StoryError, load

        found.exists("keystore", cfg.keystore)
        found.exists("dashboard.token_file", cfg.dashboard.token_file)
        found.exists("dashboard.metrics_token_file", cfg.dashboard.metrics_token_file)
        if found.exists("story", cfg.story):
            try:
                load(Path(cfg.story), cfg.media_root or None)
            except StoryError as e:
                found.add("story", f"story: {e}")
        if cfg.mode == "kiosk":  # the attract loop's clip and look, where the show looks
            from empathy.host.cli import _media

            for key in ("attract", "attract_lut"):
                try:
                    _media(cfg, key)
                except ConfigError as e:
                    found.add(f"kiosk.{key}", str(e))
    _raise(found.problems)
    return {"kind": "host", "mode": cfg.mode, "story": cfg.story, "listen": cfg.show.listen,
            "output": cfg.show.output, "dashboard": cfg.dashboard.enabled and
            cfg.dashboard.listen, "osc": cfg.osc.targets, "lsl": cfg.lsl.enabled,
            "sessions": cfg.session.enabled and cfg.session.dir}


def check_edge(path: Path, files: bool, text: str, doc: dict) -> dict:
    from empathy.edge.unit_config import EdgeConfig, load_profiles

    found = _Files(path, text)
    cfg = _schema(EdgeConfig, doc, path, text, found.problems)
    if files and cfg:
        found.exists("keystore", cfg.keystore)
        if cfg.expression_model != "auto":  # its first bytes (the unit loads it at start)
            from empathy.edge.model_check import file_problem as model_problem

            why = model_problem(Path(cfg.expression_model))
            if why:
                found.add("expression_model",
                          f"expression_model: {cfg.expression_model!r}: {why}")
        from empathy.sensors.base import file_problem, source_file

        for i, seat in enumerate(cfg.seats):  # recordings and video files (as doctor does)
            played = source_file(seat.source)
            why = played and file_problem(played[1])
            if why:
                found.add(f"seats[{i}].source", f"seats[{i}].source: seat {seat.seat_id}: "
                          f"{played[0]} {played[1]} {why}")
        try:  # the seats' named calibrations exist and hold what the edge reads (reading
            # them loads numpy: only where a seat names one)
            if any(s.viewer or s.eye_camera or s.heart_sensor for s in cfg.seats):
                load_profiles(cfg)
        except ValueError as e:
            found.problems.append(f"{path}: {e}")
    _raise(found.problems)
    return {"kind": "edge", "unit_id": cfg.unit_id, "uplink": cfg.uplink,
            "seats": [s.seat_id for s in cfg.seats]}


def _schema(cls, doc: dict, path: Path, text: str, problems: list):
    try:
        return from_dict(cls, doc, str(path), text)
    except ConfigError as e:
        problems += e.problems
        return None


def _raise(problems: list[str]) -> None:
    if problems:
        raise ConfigError("\n".join(problems), problems)


def check_plan(path: Path, files: bool, text: str, doc: dict) -> dict:
    """A room's install plan (`empathy calibrate seats --plan`), which sits with the configs."""
    from empathy.calibration.seats import InstallPlan

    found = _Files(path, text)
    plan = _schema(InstallPlan, doc, path, text, found.problems)
    if files and plan:
        found.exists("keystore", str(path.parent / plan.keystore))
    _raise(found.problems)
    return {"kind": "install plan", "listen": plan.listen,
            "seats": [s.seat_id for s in plan.seats]}


def check(path: Path, files: bool = True) -> dict:
    """One config file -> a summary of what it sets up, or ConfigError listing every
    problem (`.problems`, one line each)."""
    text, doc = _read(path)
    kind = _kind(path, doc)
    return {"host": check_host, "edge": check_edge, "install plan": check_plan}[kind](
        path, files, text, doc)


def _check(args) -> int:
    results, failed = [], 0
    for f in args.files:
        try:
            results.append({"file": f, "ok": True, **check(Path(f), not args.schema_only)})
        except ConfigError as e:
            failed += 1
            results.append({"file": f, "ok": False, "error": str(e), "problems": e.problems})
    if args.json:
        print(json.dumps(results))
    else:
        for r in results:
            if r["ok"]:
                kind = r["kind"] if r["kind"] == "install plan" else f"{r['kind']} config"
                print(f"{r['file']}: ok ({kind})")
            else:
                print(r["error"], file=sys.stderr)
    if failed:
        n = sum(len(r.get("problems", ())) for r in results)
        print(f"empathy config check: {n} problem(s) in {failed} of {len(results)} file(s)",
              file=sys.stderr)
    return 1 if failed else 0


def _reference(args) -> int:
    from empathy.config_doc import reference_markdown, schemas, undocumented

    missing = [k for cls in schemas().values() for k in undocumented(cls)]
    for k in missing:
        print(f"{k.where}: config key {k.path} has no meaning: write a `#: ...` comment "
              f"above the field", file=sys.stderr)
    text = reference_markdown()
    if args.check:
        out = Path(args.out)
        if not out.is_file():  # run outside the checkout, or a wrong --out
            print(f"empathy config reference: {out}: no such file to check (run this in the "
                  "checkout, or give --out)",
                  file=sys.stderr)
            return 1
        if out.read_text(encoding="utf-8") != text:
            print(f"{out} is out of date: run `empathy config reference --out {out}`",
                  file=sys.stderr)
            return 1
        return 1 if missing else 0
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(args.out)
    return 1 if missing else 0


def _example(args) -> int:
    from empathy.config_doc import example_toml

    sys.stdout.write(example_toml(args.kind))
    return 0


def register(p) -> None:
    sub = p.add_subparsers(dest="verb", required=True)
    c = sub.add_parser("check", help="validate host/edge config files: every problem, "
                                     "file:line (exit 1 on any)")
    c.add_argument("files", nargs="+", help="config TOML files")
    c.add_argument("--schema-only", action="store_true",
                   help="check keys and values only, not the files they name (for profiles "
                        "checked away from the machine they are for)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_check)
    r = sub.add_parser("reference", help="write the config reference (every key of host.toml "
                                         "and edge.toml) from the schemas")
    r.add_argument("--out", default="docs/config-reference.md", help="file, or - for stdout")
    r.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if --out differs from the schemas")
    r.set_defaults(func=_reference)
    e = sub.add_parser("example", help="print a commented template of host.toml or edge.toml")
    e.add_argument("kind", choices=["host", "edge"])
    e.set_defaults(func=_example)
