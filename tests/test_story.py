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
