"""Red team, session 25: a keystore path that is no file, and a keystore edited by hand.

Keystore.read opened its path with a plain open(): a FIFO named as the keystore (in
host.toml, or `--keystore` to `keys list | new | revoke`) held the command for ever, no
line at all; /dev/zero was read until memory ran out ("unexpected error: MemoryError",
exit 70, a crash file). A key written as a list or a number (`1 = [..]`,
`cue_signing_key = 5`) was a TypeError, exit 70; a table written as a value gave Python's
"'int' object has no attribute 'items'". Real files, the real commands in their own
processes, their memory capped at 1 GB."""

from __future__ import annotations

import os
from functools import partial

import pytest

from empathy.host.sample.render import ensure
from redteam_rig import run_capped, sample_story

pytestmark = pytest.mark.timeout(180)

_run = partial(run_capped, timeout=30, memory=1 << 30)


@pytest.mark.parametrize("target", ["fifo", "/dev/zero"])
def test_a_keystore_that_is_a_pipe_or_a_device_is_one_line(tmp_path, target):
    if target == "fifo":
        target = tmp_path / "pipe"
        os.mkfifo(target)
    host = tmp_path / "host.toml"
    host.write_text(f'keystore = "{target}"\nstory = "{sample_story(tmp_path)}"\n'
                    f'media_root = "{ensure()}"\n')
    for argv in (["keys", "list", "--keystore", target], ["keys", "new", "9", "--keystore",
                                                           target],
                 ["host", "run", "--config", host]):
        r = _run(*argv)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(lines) == 1, (argv, r.returncode, r.stderr[-1500:])
        assert f"keystore {target}: it is a" in lines[0], lines


KEY = "00" * 32


@pytest.mark.parametrize("body, said", [
    (f'units = {{1 = ["{KEY}"]}}', "units.1 must be a hex string, not list"),
    ("cue_signing_key = 5", "cue_signing_key must be a hex string, not int"),
    (f'units = "{KEY}"', 'units must be a table of unit = "hex key"'),
    (f'previous = [{{1 = "{KEY}"}}]', 'previous must be a table of unit = "hex key"'),
    (f'units = {{seat1 = "{KEY}"}}', "units: 'seat1' is not a unit id"),
    ('units = {1 = "not hex at all"}', "units.1 is not hex"),
])
def test_a_keystore_edited_by_hand_is_named_in_one_line(tmp_path, body, said):
    path = tmp_path / "host.keys.toml"
    path.write_text(body + "\n")
    path.chmod(0o600)
    r = _run("keys", "list", "--keystore", path)
    assert r.returncode == 1 and r.stderr.strip() == \
        f"empathy keys list: keystore {path}: {said}", (r.returncode, r.stderr[-1500:])
