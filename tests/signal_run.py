"""`empathy signal ...` run in-process for the file readers' tests: what it printed, and the
two outcomes they expect (a JSON result, or one line refusing the file, no traceback)."""

import json

from empathy.cli import main


def signal(capsys, *args) -> tuple[int, str, str]:
    rc = main(["signal", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def ok_said(capsys, *args) -> tuple[dict, str]:
    """The verb's JSON, and what it said on stderr (the readers' notes)."""
    rc, out, err = signal(capsys, *args, "--json")
    assert rc == 0, err
    return json.loads(out), err


def ok(capsys, *args) -> dict:
    return ok_said(capsys, *args)[0]


def refused(capsys, *args) -> str:
    rc, out, err = signal(capsys, *args)
    assert rc == 1 and not out, (rc, out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "unexpected error" not in err, err
    return err
