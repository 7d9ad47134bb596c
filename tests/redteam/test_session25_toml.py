"""Red team, session 25: TOML files nested deeper than any file of ours (empathy/toml_text.py).

tomllib keeps every prefix of a dotted key: one key of 100,000 parts (`a.a.a...= 1`, a 200
KB host.toml or story) ran `config check` for 382 s and 23 GB before the OOM killer ended
it; 20,000 parts (40 KB) took 1.6 GB. Brackets nested a few hundred deep (`a = [[[...`)
were a RecursionError: "unexpected error ... please report it" (exit 70) and a crash
file. The same tomllib read every TOML a user hands us: host and edge configs, stories,
keystores, impact files. Real files, the real commands in their own processes, their
memory capped at 1 GB."""

from __future__ import annotations

import resource
import subprocess
import sys
import time

import pytest

from redteam_rig import sample_story

pytestmark = pytest.mark.timeout(240)

BODIES = {
    "a dotted key of 100,000 parts": ".".join(["a"] * 100_000) + " = 1\n",
    "a table header of 100,000 parts": "[" + ".".join(["a"] * 100_000) + "]\nb = 1\n",
    "lists nested 100,000 deep": "a = " + "[" * 100_000 + "]" * 100_000 + "\n",
    "tables nested 5,000 deep": "a = " + "{b = " * 5_000 + "1" + "}" * 5_000 + "\n",
}


def _run(*argv) -> tuple[subprocess.CompletedProcess, float]:
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    t0 = time.monotonic()
    try:
        r = subprocess.run([sys.executable, "-m", "empathy.cli", *map(str, argv)],
                           capture_output=True, text=True, timeout=60, preexec_fn=cap)
    except subprocess.TimeoutExpired:
        pytest.fail(f"empathy {' '.join(map(str, argv))}: still running after 60 s")
    return r, time.monotonic() - t0


def _verbs(tmp_path, bad):
    story = sample_story(tmp_path)
    return {"config check": ["config", "check", bad],
            "host run": ["host", "run", "--config", bad],
            "edge run": ["edge", "run", "--config", bad],
            "story check": ["story", "check", bad],
            "keys list": ["keys", "list", "--keystore", bad],
            "policy simulate": ["policy", "simulate", "--story", story, "--impact", bad,
                                "--screenings", "2"]}


@pytest.mark.parametrize("body", BODIES)
def test_a_toml_nested_past_any_of_ours_is_one_line_from_every_verb(tmp_path, body):
    """The dotted key through every verb that reads TOML; the others (the same function)
    through two, to keep the suite short."""
    bad = tmp_path / "deep.toml"
    bad.write_text("x = 1\n" + BODIES[body])
    bad.chmod(0o600)  # as a keystore must be
    verbs = _verbs(tmp_path, bad)
    for verb in verbs if body.startswith("a dotted") else ("config check", "story check"):
        argv = verbs[verb]
        r, took = _run(*argv)
        lines = r.stderr.strip().splitlines()
        assert r.returncode not in (0, 70) and len(lines) in (1, 2), (verb, r.returncode,
                                                                     r.stderr[-1500:])
        assert "deeper than any file here nests" in lines[0] and str(bad) in lines[0], \
            (verb, lines)
        assert took < 30, (verb, took)


def test_a_key_of_dotted_parts_as_files_write_them_still_reads():
    """Dots inside strings, comments, floats and multi-line strings are no key's parts."""
    from empathy import toml_text

    text = ('a = "' + "." * 1000 + '"  # ' + "." * 1000 + "\n"
            + "b = [" + ", ".join(["1.5"] * 1000) + "]\n"
            + 'c = """\n' + "x." * 1000 + '\n"""\n'
            + ".".join(f'"k{i}"' for i in range(32)) + " = 1\n")
    doc = toml_text.loads(text)
    assert doc["a"] == "." * 1000 and len(doc["b"]) == 1000 and doc["c"] == "x." * 1000 + "\n"
