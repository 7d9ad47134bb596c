"""The CLI's error boundary: every verb, found by walking the argparse parser (so a new
verb cannot be forgotten), fed bad input - a missing file, an empty one, a corrupt one, a
flag it does not have - answers with a message and a non-zero exit, never a traceback,
and never as an unexpected error (those are bugs). The issue's held-out examples run as
real subprocesses in tests/test_cli_errors_run.py."""

import argparse

import pytest

from empathy import cli
from cli_clean import assert_clean, run_inprocess

# Optional arguments that name an input file: fed bad input where a verb has no required one.
INPUT_OPTIONS = ("--config", "--story", "--keystore", "--plan", "--profile", "--recorded")
CORRUPT = b"\x89PNG\r\n\x1a\n\x00\xff\xfe[[[ = \x00\"\"\"\n\x80\x81garbage,1,2\n\xc3\x28"


def verbs() -> dict[str, argparse.ArgumentParser]:
    out = {}

    def walk(p, path):
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out[" ".join(path)] = p
        for s in subs:
            for name, sp in s.choices.items():
                walk(sp, path + [name])

    walk(cli.full_parser(), [])
    return out


VERBS = verbs()


def test_every_noun_is_walked():
    assert {v.split()[0] for v in VERBS} == set(cli.COMMANDS)
    assert len(VERBS) >= 30, sorted(VERBS)


def test_every_number_a_user_types_is_range_checked():
    """A bare int/float option takes -5, nan and inf (`session purge --older-than -5` once
    deleted every session): each numeric option goes through `cli.number_in`. Seeds may be
    any integer."""
    bare = [f"{verb} {a.option_strings[0] if a.option_strings else a.dest}"
            for verb, p in VERBS.items() for a in p._actions
            if a.type in (int, float) and a.dest != "seed"]
    assert bare == [], bare


def argv_for(verb: str, parser, bad: str) -> list[str] | None:
    """The verb's required arguments, every input slot filled with `bad`."""
    args, slots = [], 0
    for a in parser._actions:
        if a.dest == "help" or (a.option_strings and not a.required):
            continue
        if a.choices:
            value = [str(next(iter(a.choices)))]
        elif a.type in (int, float):
            value = ["1"]
        else:
            value, slots = [bad], slots + 1
        args += ([a.option_strings[0]] if a.option_strings else []) + value
    if not slots:
        opts = [o for a in parser._actions for o in a.option_strings[:1] if o in INPUT_OPTIONS]
        if not opts:
            return None
        args += [opts[0], bad]
    return verb.split() + args


CASES = [(v, c) for v in sorted(VERBS) for c in ("missing", "empty", "corrupt", "flag")]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("verb, case", CASES, ids=[f"{v}-{c}" for v, c in CASES])
def test_bad_input_is_a_one_line_error(verb, case, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)  # nothing a verb writes lands in the tree
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    parser = VERBS[verb]
    if case == "flag":
        argv = verb.split() + ["--no-such-flag"]
    else:
        bad = tmp_path / "input"
        if case == "empty":
            bad.write_bytes(b"")
        elif case == "corrupt":
            bad.write_bytes(CORRUPT)
        argv = argv_for(verb, parser, str(bad))
        if argv is None:
            pytest.skip(f"{verb} takes no input file")
    rc, out, err = run_inprocess(argv, capfd)
    assert_clean(rc, out, err, argv)
    # a missing file is said in words ("cannot read: No such file or directory"), not as
    # Python's "[Errno 2] No such file or directory: '...'"
    assert "[Errno" not in err, f"{argv}:\n{err}"


def test_an_unexpected_error_is_one_line_and_a_saved_trace(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    import empathy.host.config_cli as config_cli

    def bug(*_a, **_k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(config_cli, "check", bug)
    (tmp_path / "x.toml").write_text("unit_id = 1\n")
    rc, out, err = run_inprocess(["config", "check", str(tmp_path / "x.toml")], capfd)
    assert rc == 70 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("empathy config check: unexpected error: ZeroDivisionError: a bug")
    trace = next((tmp_path / "empathy" / "crash").glob("crash-*.log")).read_text()
    assert "Traceback" in trace and "ZeroDivisionError" in trace and str(tmp_path) in err


@pytest.mark.parametrize("bench, option, bad", [
    ("hr_lag_range", "--windows", "2,x"), ("hr_lag_range", "--windows", "2,nan"),
    ("strap_loss", "--loss", "0.1,1.0"), ("strap_loss", "--loss", "0.1,,0.2"),
    ("policy_tuning", "--seeds", "100,x"), ("policy_tuning", "--seeds", "100,,101"),
    ("policy_tuning", "--seeds", "100,5000000000")])
def test_the_benches_comma_lists_are_numbers_in_range(bench, option, bad, capsys):
    """bench/hr_lag_range.py's --windows and bench/strap_loss.py's --loss each parsed and
    checked its list with a copy of the same lines: now cli.numbers_in, argparse's one line."""
    import importlib

    with pytest.raises(SystemExit) as e:
        importlib.import_module(f"empathy.bench.{bench}").main([option, bad])
    assert e.value.code == 2 and f"argument {option}:" in capsys.readouterr().err


def test_an_unexpected_error_s_line_is_cut_short_its_whole_text_in_the_trace(tmp_path,
                                                                           monkeypatch, capfd):
    """A ValueError quoting a damaged file's row (NUL bytes, escaped) made a 20-KB stderr
    line (session 31, the demo's damaged truth file); the line is cut, the trace keeps all."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    import empathy.host.config_cli as config_cli

    def bug(*_a, **_k):
        raise ValueError("could not convert string to float: " + repr("\x00" * 5000))

    monkeypatch.setattr(config_cli, "check", bug)
    (tmp_path / "x.toml").write_text("unit_id = 1\n")
    rc, out, err = run_inprocess(["config", "check", str(tmp_path / "x.toml")], capfd)
    assert rc == 70 and len(err.strip().splitlines()) == 1 and len(err) < 600, len(err)
    assert "(20037 characters)" in err, err
    trace = next((tmp_path / "empathy" / "crash").glob("crash-*.log")).read_text()
    assert "\\x00" * 5000 in trace
