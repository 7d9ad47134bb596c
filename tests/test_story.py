"""Story files: the sample passes; broken files get a precise file:line error."""

from pathlib import Path

import pytest

from empathy.host.audience import AudienceState
from empathy.host.policies.arc import ArcPolicy
from empathy.host.policy import decide, make_policy
from empathy.host.story import StoryError, load

SAMPLE = Path(__file__).resolve().parents[1] / "host" / "sample" / "neon_rain.toml"

GOOD = '''title = "T"
start = "a"

[segments.a]
media = "a.mp4"
duration_s = 10.0

[segments.b]
media = "b.mp4"
duration_s = 10.0

[segments.c]
media = "c.mp4"
duration_s = 10.0

[decisions.d]
after = "a"
window_s = [1.0, 8.0]
aim_arousal = 0.5
default = "b"
options = { b = 0.1, c = -0.2 }
'''


def _write(tmp_path, text):
    p = tmp_path / "story.toml"
    p.write_text(text)
    return p


def test_sample_story_is_valid_without_media():
    s = load(SAMPLE, check_files=False)
    assert s.start == "arrival" and len(s.segments) >= 4
    paths = [["arrival"]]
    while any(s.successors(p[-1]) for p in paths):
        paths = [p + [n] for p in paths for n in (s.successors(p[-1]) or [None]) if n] or paths
    assert all(sum(s.decision_after(x) is not None for x in p) == 2 for p in paths)


def test_good_story_loads(tmp_path):
    s = load(_write(tmp_path, GOOD), check_files=False)
    assert s.successors("a") == ["b", "c"]


BROKEN = [
    ("unknown top key", GOOD.replace('title = "T"', 'titel = "T"'), 1, "unknown key 'titel'"),
    ("unknown segment key", GOOD.replace('media = "b.mp4"', 'media = "b.mp4"\nlutt = "x"'), 10, "unknown key 'lutt'"),
    ("bad start", GOOD.replace('start = "a"', 'start = "z"'), 2, "start segment 'z'"),
    ("no media", GOOD.replace('media = "c.mp4"\n', ''), 12, "has no media"),
    ("negative duration", GOOD.replace("duration_s = 10.0\n\n[segments.b]", "duration_s = -1\n\n[segments.b]"), 6, "duration_s must be > 0"),
    ("window too long", GOOD.replace("[1.0, 8.0]", "[1.0, 12.0]"), 18, "lasts 10.0 s"),
    ("window reversed", GOOD.replace("[1.0, 8.0]", "[8.0, 1.0]"), 18, "before its end"),
    ("default not option", GOOD.replace('default = "b"', 'default = "a"'), 20, "default 'a' is not one of its options"),
    ("unknown option", GOOD.replace("c = -0.2", "x = -0.2"), 21, "option 'x' is not a segment"),
    ("one option", GOOD.replace(", c = -0.2", ""), 21, "at least two"),
    ("unreachable", GOOD + '\n[segments.orphan]\nmedia = "o.mp4"\nduration_s = 3.0\n', 23, "can never be reached"),
    ("after unknown", GOOD.replace('after = "a"', 'after = "q"'), 17, "after='q' is not a segment"),
    ("bad toml", GOOD.replace("[segments.b]", "[segments.b"), 8, "not valid TOML"),
    ("target out of range", GOOD.replace('duration_s = 10.0\n\n[segments.c]', 'duration_s = 10.0\ntarget = { arousal = 3 }\n\n[segments.c]'), 11, "within -1..1"),
    ("string number", GOOD.replace("aim_arousal = 0.5", 'aim_arousal = "high"'), 19, "must be a number"),
]


@pytest.mark.parametrize("name,text,line,msg", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_stories_get_precise_errors(tmp_path, name, text, line, msg):
    with pytest.raises(StoryError) as e:
        load(_write(tmp_path, text), check_files=False)
    assert msg in e.value.message
    assert e.value.line == line, str(e.value)


def test_missing_media_is_reported(tmp_path):
    with pytest.raises(StoryError, match="media file .* not found"):
        load(_write(tmp_path, GOOD))


def _state(arousal, good=8, total=8):
    return AudienceState(0, arousal, 0.05, 0.0, 0.05, total, good, 0.3)


def test_arc_policy_lifts_a_flat_audience_and_calms_a_tense_one(tmp_path):
    d = load(_write(tmp_path, GOOD), check_files=False).decisions["d"]
    assert ArcPolicy().choose(d, _state(0.4)).chosen == "b"   # 0.5 vs 0.2 -> b
    assert ArcPolicy().choose(d, _state(0.8)).chosen == "c"   # 0.9 vs 0.6 -> c
    c = decide(make_policy("arc"), d, _state(0.4))
    assert not c.fallback and "aims at +0.50" in c.reason and set(c.scores) == {"b", "c"}


def test_thin_signal_or_broken_policy_falls_back_to_default(tmp_path):
    d = load(_write(tmp_path, GOOD), check_files=False).decisions["d"]
    c = decide(ArcPolicy(), d, _state(0.8, good=1, total=8))
    assert c.fallback and c.chosen == "b" and "1/8 seats" in c.reason

    class Broken:
        name = "broken"

        def choose(self, decision, state):
            raise RuntimeError("boom")

    c = decide(Broken(), d, _state(0.8))
    assert c.fallback and c.chosen == "b" and "boom" in c.reason


# -- variables, conditions, loops and screenplay targets -------------------------------------
FOUNTAIN = SAMPLE.with_suffix(".fountain")
VARS = '\n[variables]\nflag = false\n'


def _with(extra):
    """GOOD with `extra` lines added to its decision (line 22 on) and a [variables] table."""
    return GOOD.replace("c = -0.2 }\n", "c = -0.2 }\n" + extra + "\n") + VARS


LOOP = GOOD.replace('media = "b.mp4"', 'media = "b.mp4"\nnext = "c"').replace(
    'media = "c.mp4"', 'media = "c.mp4"\nnext = "b"')
WITH_ARC = GOOD.replace('title = "T"', f'title = "T"\nscreenplay = "{FOUNTAIN}"')

BROKEN_MORE = [
    ("condition names no variable", _with('when = { c = "flagg" }'), 22, "'flagg', which is not in [variables]"),
    ("conditional default", _with('when = { b = "flag" }'), 22, "must always be offered"),
    ("unreadable condition", _with('when = { c = "flag ==" }'), 22, "cannot read condition"),
    ("condition type mismatch", _with('when = { c = "flag == 3" }'), 22, "'flag' is bool, compared with '3'"),
    ("condition on a non-option", _with('when = { a = "flag" }'), 22, "'a', which is not one of its options"),
    ("sets an unknown variable", _with("sets = { c = { nope = true } }"), 22, "'nope', which is not in [variables]"),
    ("sets the wrong type", _with("sets = { c = { flag = 1 } }"), 22, "'flag' is a bool"),
    ("variable of a bad type", GOOD + "\n[variables]\nx = [1]\n", 24, "must start as a bool, number or string"),
    ("loop without exit", LOOP, 8, "segments b -> c -> b loop forever"),
    ("scene without screenplay", GOOD.replace('media = "a.mp4"', 'media = "a.mp4"\nscene = 1'), 6, "needs a screenplay"),
    ("scene out of range", WITH_ARC.replace('media = "a.mp4"', 'media = "a.mp4"\nscene = 9'), 7, "scene number 1..5"),
    ("screenplay missing", GOOD.replace('title = "T"', 'title = "T"\nscreenplay = "nope.fountain"'), 2, "screenplay:"),
    ("unknown policy", GOOD.replace('start = "a"', 'start = "a"\npolicy = "greedy"'), 3, "unknown policy 'greedy'"),
    ("media not a name", GOOD.replace('media = "a.mp4"', "media = 3"), 5, "media must be a name in quotes"),
    ("a huge duration", GOOD.replace("duration_s = 10.0", "duration_s = 1e300", 1), 6, "within ±1e+06, not 1e+300"),
    ("a window ending at inf", GOOD.replace("[1.0, 8.0]", "[1.0, inf]"), 18, "'d': window_s must be a number within"),
    ("a variable that is nan", GOOD + "\n[variables]\nx = nan\n", 24, "variable 'x' must be a number within"),
    ("sets a number to inf", _with("sets = { c = { n = inf } }") + "n = 0.0\n", 22, "sets.c.n must be a number"),
    ("a condition on nan", _with('when = { c = "n < nan" }') + "n = 0.0\n", 22, "'nan', which is not a finite"),
]


@pytest.mark.parametrize("name,text,line,msg", BROKEN_MORE, ids=[b[0] for b in BROKEN_MORE])
def test_broken_story_features_get_precise_errors(tmp_path, name, text, line, msg):
    with pytest.raises(StoryError) as e:
        load(_write(tmp_path, text), check_files=False)
    assert msg in e.value.message
    assert e.value.line == line, str(e.value)


def test_a_story_not_saved_as_utf8_is_one_line_with_its_line(tmp_path):
    p = tmp_path / "story.toml"
    p.write_bytes(GOOD.replace('"a.mp4"', '"caf\u00e9.mp4"', 1).encode("latin-1"))
    with pytest.raises(StoryError) as e:
        load(p, check_files=False)
    assert str(e.value) == f"{p}:5: not UTF-8 text (byte 0xe9): save the file as UTF-8"


def test_a_loop_with_a_way_out_is_fine(tmp_path):
    text = GOOD.replace('media = "b.mp4"', 'media = "b.mp4"\nnext = "a"')  # a -> b -> a, a -> c ends
    assert load(_write(tmp_path, text), check_files=False).successors("b") == ["a"]


def test_conditions_offer_options_and_choices_set_variables(tmp_path):
    text = GOOD.replace("c = -0.2 }\n", 'c = -0.2 }\nsets = { b = { flag = true, n = 2 } }\n'
                        'when = { c = "not flag or n >= 2 and name == \'kai\'" }\n') \
        + '\n[variables]\nflag = false\nn = 0\nname = "kai"\n'
    s = load(_write(tmp_path, text), check_files=False)
    d = s.decisions["d"]
    v0 = dict(s.variables)
    assert list(d.offer(v0).options) == ["b", "c"]
    v1 = d.take("b", v0)
    assert v1 == {"flag": True, "n": 2, "name": "kai"} and v0["flag"] is False
    assert list(d.offer(v1).options) == ["b", "c"]  # n >= 2 and name == 'kai'
    assert list(d.offer({**v1, "n": 1}).options) == ["b"]


def test_targets_and_aim_come_from_the_screenplay(tmp_path):
    from empathy.host.arc import screenplay_arc

    arc = screenplay_arc(FOUNTAIN)
    s = load(SAMPLE, check_files=False)
    for n, sid in enumerate(["arrival", "chase", "hideout", "rooftop", "dawn"]):
        seg = s.segments[sid]
        assert (seg.target_arousal, seg.target_valence) == (arc[n].arousal, arc[n].valence)
    text = WITH_ARC.replace('media = "b.mp4"', 'media = "b.mp4"\nscene = 4') \
        .replace("aim_arousal = 0.5\n", "")
    story = load(_write(tmp_path, text), check_files=False)
    d = story.decisions["d"]
    assert d.aim("b") == arc[3].arousal and d.aim("c") == 0.0  # each option's own target
    assert d.aim_arousal == arc[3].arousal  # the default's, for a single figure
    assert load(_write(tmp_path, GOOD), check_files=False).decisions["d"].aims == {"b": 0.5, "c": 0.5}
    explicit = WITH_ARC.replace('media = "b.mp4"', 'media = "b.mp4"\nscene = 4\ntarget = { arousal = 0.9 }')
    b = load(_write(tmp_path, explicit), check_files=False).segments["b"]
    assert (b.target_arousal, b.target_valence) == (0.9, arc[3].valence)  # explicit wins


def test_story_cli_check_and_graph(tmp_path):
    import subprocess
    import sys

    bad = _write(tmp_path, LOOP)
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "check", str(bad),
                        "--no-files", "--json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    err = __import__("json").loads(r.stdout)
    assert err["line"] == 8 and "loop forever" in err["error"] and err["file"] == str(bad)
    svg = tmp_path / "neon.svg"
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "graph", str(SAMPLE),
                        "--out", str(svg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    page = svg.read_text()
    assert page.startswith("<?xml") and "<svg" in page
    # every segment and every decision shows up as text in the drawing
    for word in ("arrival", "chase", "hideout", "rooftop", "dawn", "first_turn", "out_of_hiding"):
        assert word in page
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "graph", str(SAMPLE),
                        "--out", str(tmp_path / "g.pdf")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and ".svg or .png" in r.stderr
