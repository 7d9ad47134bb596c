"""Every number a user types on a command line - each `empathy` verb's and each
`python -m empathy.<pkg>.<module>` tool's - is range-checked where it enters: nan, inf, a
negative, zero (where zero means nothing) and 1e12 each end in argparse's one line naming
the option and exit 2, never a traceback or a run on nonsense (`--latency nan` was a
traceback and `--screenings 0` printed `regret nan` with rc 0). The options are read from
the parsers themselves, so a new one without a check fails here. Parse level only: no
show or bench runs."""

import argparse
import dataclasses
import json
import runpy
import typing
import warnings
from unittest import mock
from pathlib import Path

import pytest

from empathy import cli

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "edge", "sim", "models", "host", "calibration", "sensors")

# Where zero, a negative, infinity or 1e12 is a real value, and what it means; an option's
# name alone, or "tool option" where another tool's option of that name means otherwise.
ZERO_OK = {"--seed", "--first",  # seeds
           "--duration",  # edge run, sensors record: 0 = until stopped
           "--older-than",  # session purge: 0 days = every finished session
           "--first-seat", "--seat",  # seat ids start at 0
           "--baseline",  # demo: no baseline
           "--dashboard",  # demo: port 0 = the system picks one
           "--latency", "--lag", "--reward-latency", "--delay",  # policy benches: no delay
           "--light-gain",  # signal pupil: no light response
           "--spikes",  # seat_hrv: no spike noise
           "--loaded-board",  # wave_clock: no loaded-board runs
           "empathy.bench.pvc_width --rate",  # 0 = each record at its own rate
           "--rel-memory-s",  # bench_eda: the detector's window only
           "--span",  # seat_hrv: from the start
           "empathy.bench.policy_tuning --seeds",  # seeds (it refuses tuning seeds under 100)
           "empathy.bench.strap_loss --loss",  # no loss: the baseline
           "empathy.bench.strap_loss --step", "empathy.bench.clock_step --steps"}  # no step
NEGATIVE_OK = {"empathy.bench.strap_loss --step",  # the clock steps back
               "empathy.bench.clock_step --steps"}
HUGE_OK = {"empathy.bench.seat_hrv --span"}  # FROM TO, seconds: TO inf (1e12) = to the end


class _Got(Exception):
    def __init__(self, parser):
        self.parser = parser


def tool_modules() -> list[str]:
    out = []
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            text = f.read_text()
            if "ArgumentParser(" in text and '__name__ == "__main__"' in text:
                out.append("empathy." + ".".join(f.relative_to(ROOT).with_suffix("").parts))
    return out


def tool_parser(module: str) -> argparse.ArgumentParser:
    """The parser `python -m module` builds, caught where it would parse sys.argv."""
    def got(self, *a, **k):
        raise _Got(self)
    with mock.patch.object(argparse.ArgumentParser, "parse_known_args", got), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "found in sys.modules"
        try:
            runpy.run_module(module, run_name="__main__")
        except _Got as e:
            return e.parser
    raise AssertionError(f"{module} parsed no command line")


def leaves(p: argparse.ArgumentParser, path: list[str]):
    subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, p
    for s in subs:
        for name, sp in s.choices.items():
            yield from leaves(sp, path + [name])


def kind_of(t) -> type | None:
    """int or float for a numeric argparse type (bare or cli.number_in/numbers_in)."""
    if t in (int, float):
        return t
    cells = dict(zip(getattr(getattr(t, "__code__", None), "co_freevars", ()),
                     (c.cell_contents for c in (getattr(t, "__closure__", None) or ()))))
    return cells.get("kind") or (kind_of(cells["one"]) if "one" in cells else None)


def fill(a: argparse.Action, value: str) -> list[str]:
    n = a.nargs if isinstance(a.nargs, int) else 1
    return a.option_strings[:1] + [value] * n


def required(p, but) -> list[str]:
    """The parser's other required arguments, each given a value it takes."""
    args = []
    for a in p._actions:
        if a is but or a.dest == "help" or (a.option_strings and not a.required):
            continue
        if a.choices:
            value = str(next(iter(a.choices)))
        elif kind_of(a.type):
            value = next(v for v in ("1", "10", "100", "1000", "0.5") if _takes(a.type, v))
        else:
            value = "x"
        args += fill(a, value)
    return args


def _takes(t, v) -> bool:
    try:
        t(v)
        return True
    except (ValueError, argparse.ArgumentTypeError):
        return False


def numeric_actions(p):
    return [a for a in p._actions if kind_of(a.type)]


def bad_values(where: str, a: argparse.Action) -> list[str]:
    name = a.option_strings[0] if a.option_strings else a.dest

    def ok(allowed):
        return name in allowed or f"{where} {name}" in allowed
    out = ["nan"] + ([] if ok(NEGATIVE_OK) else ["-1"])
    if not ok(HUGE_OK):
        out += ["inf", "1e12" if kind_of(a.type) is float else "1000000000000"]
    return out + ([] if ok(ZERO_OK) else ["0"])


EMPATHY = {" ".join(path): p for path, p in leaves(cli.full_parser(), [])}
PARAMS = [("empathy " + verb, a.option_strings[0] if a.option_strings else a.dest, bad)
          for verb, p in EMPATHY.items() for a in numeric_actions(p)
          for bad in bad_values("empathy " + verb, a)]


def _check(parser, argv, name, bad, capsys):
    with pytest.raises(SystemExit) as e:
        parser.parse_args(argv)
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1] if err.strip() else ""
    assert e.value.code == 2 and "Traceback" not in err, (argv, err)
    assert f"argument {name}" in last and len(last) < 200, (argv, err)


@pytest.mark.parametrize("verb, name, bad", PARAMS)
def test_empathy_verbs_refuse_a_number_out_of_range(verb, name, bad, capsys):
    path = verb.split()[1:]
    p = EMPATHY[" ".join(path)]
    a = next(a for a in numeric_actions(p) if name in (a.option_strings[:1] or [a.dest]))
    _check(cli.full_parser(), path + required(p, a) + fill(a, bad), name, bad, capsys)


TOOLS = {m: tool_parser(m) for m in tool_modules()}
TOOL_PARAMS = [pytest.param(m, path, name, bad, id=" ".join([m, *path, name, bad]))
               for m, parser in TOOLS.items() for path, p in leaves(parser, [])
               for a in numeric_actions(p)
               for name in [a.option_strings[0] if a.option_strings else a.dest]
               for bad in bad_values(m, a)]


@pytest.mark.parametrize("module, path, name, bad", TOOL_PARAMS)
def test_tools_refuse_a_number_out_of_range(module, path, name, bad, capsys):
    parser = TOOLS[module]
    p = dict((tuple(k), v) for k, v in leaves(parser, []))[tuple(path)]
    a = next(a for a in numeric_actions(p) if name in (a.option_strings[:1] or [a.dest]))
    _check(parser, path + required(p, a) + fill(a, bad), name, bad, capsys)


def test_every_tool_and_verb_is_walked():
    mods = list(TOOLS)
    assert "empathy.bench.policy_tuning" in mods and "empathy.sim.board" in mods, mods
    assert len(mods) >= 30 and len(EMPATHY) >= 30


# Numeric config keys whose range their dataclass's validate() checks (with the fields
# beside them), not a `setting(lo=, hi=)`.
VALIDATED = {"Rotation.max_mb", "Rotation.max_age_h", "Rotation.keep", "KioskConfig.settle_s",
             "KioskConfig.leave_s", "KioskConfig.baseline_timeout_s",
             "KioskConfig.idle_timeout_s", "SeatMapConfig.max_seats_per_unit",
             "UnitSeats.unit", "UnitSeats.seats"}


def _numeric(tp) -> bool:
    args = typing.get_args(tp)
    if typing.get_origin(tp) is dict:
        return _numeric(args[1])
    return tp in (int, float) or any(_numeric(a) for a in args)


def test_every_numeric_config_key_has_a_range():
    """A TOML number reaches the show as typed unless its field bounds it: a row's seat ids
    and printed numbers took -5 and 10**12 (the seat map printed "C-5")."""
    from empathy.config_doc import schemas

    bare, todo, seen = [], list(schemas().values()), set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            todo += [a for a in (tp, *typing.get_args(tp)) if dataclasses.is_dataclass(a)]
            name = f"{cls.__name__}.{f.name}"
            if _numeric(tp) and not ({"range", "check"} & set(f.metadata)) \
                    and name not in VALIDATED:
                bare.append(name)
    assert bare == [], bare


@pytest.mark.parametrize("key, bad", [("seats", "[-5]"), ("seats", "[70000]"),
                                      ("numbers", "[-5]"), ("numbers", "[1000000000000]")])
def test_a_rows_seats_and_numbers_are_in_range(key, bad):
    from empathy.config import ConfigError, loads
    from empathy.host.seatmap import SeatMapConfig

    other = "numbers = [1]" if key == "seats" else "seats = [301]"
    with pytest.raises(ConfigError, match=rf"rows\[0\]\.{key}\[0\]: .* out of range"):
        loads(SeatMapConfig, f'[[rows]]\nname = "C"\n{key} = {bad}\n{other}\n')


@pytest.mark.parametrize("bad", ["x", "-1", "5-1", "0-x", "0-99999"])
def test_ppg_motion_seeds_range_is_checked_where_it_enters(bad, capsys):
    """`--seeds FROM-TO` is text, so the walk above cannot see it: "x" and "-1" were
    tracebacks (int('')), "5-1" ran no seed and printed an empty table, rc 0."""
    from empathy.bench import ppg_motion

    with pytest.raises(SystemExit) as e:
        ppg_motion.main(["--seeds", bad])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and "argument --seeds:" in err[-1], err


@pytest.mark.parametrize("mean", ['"x"', "NaN", "Infinity", "true", "1e400"])
def test_policy_pooled_refuses_a_report_figure_that_is_no_number(mean, tmp_path, capsys):
    """bench/policy_pooled.py read each seed's figures as given: "x" was a traceback in
    numpy, NaN (Python's json writes it) pooled to a mean of NaN with rc 0."""
    from empathy.bench.policy_pooled import main

    fig = {"mean": 0.1}
    report = tmp_path / "seed.json"
    report.write_text(json.dumps({"policies": {"bandit": {
        "regret_vs_best_fixed": {"mean": "@"}, "regret_trend": {
            "change": fig, "slope_per_100": fig}}}}).replace('"@"', mean))
    assert main([str(report), str(report)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "regret_vs_best_fixed" in err[0], err
