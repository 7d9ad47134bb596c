"""Running a CLI verb as a user would and checking it failed cleanly: a message and a
non-zero exit, never a traceback or an unexpected error (tests/test_cli_errors*.py)."""

from empathy import cli


def run_inprocess(argv, capfd):
    try:
        rc = cli.main(argv)
    except SystemExit as e:  # argparse
        rc = e.code
    out, err = capfd.readouterr()
    return rc, out, err


def assert_clean(rc, out, err, argv):
    text = out + err
    assert rc not in (0, None), f"{argv}: exit 0\n{text}"
    assert "Traceback" not in text, f"{argv}:\n{text}"
    assert "unexpected error" not in err, f"{argv}: a bug, not a user error:\n{err}"
    assert err.strip(), f"{argv}: no message"
