"""Every parser that takes outside input raises only its documented error type.

(Thousands of cases here; `bench/bench_fuzz.py` runs a million per parser.)
"""

import tomli_w
from hypothesis import HealthCheck, given, settings, strategies as st

from empathy.config import ConfigError, from_toml
from empathy.edge.runtime import EdgeConfig
from empathy.host.story import StoryError, load

FAST = settings(max_examples=1500, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# Random bytes into the story loader: test_fuzz_parsers.py's bench run feeds it 5,000 random
# byte strings and 5,000 mutations of the sample story (fixed seed), and test_story.py pins
# a file that is not UTF-8; Hypothesis's share here is variety.
BYTES = settings(FAST, max_examples=300)

toml_scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False), st.text(max_size=12),
                         st.booleans())
toml_values = st.recursive(toml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)),
    max_leaves=12)
KEYS = ["title", "start", "segments", "decisions", "unit_id", "seats", "seat_id", "source",
        "rate_hz", "uplink", "media", "after", "options", "window_s", "default", "x"]
# Keys the parsers know, nested like real files, so the search reaches deep validation.
toml_values = st.recursive(toml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3)), max_leaves=16)
toml_docs = st.dictionaries(st.sampled_from(KEYS), toml_values, max_size=6)


# Each example rewrites one file (a folder an example: 4,500 folders made and removed).
@BYTES
@given(st.binary(max_size=400))
def test_story_random_bytes(tmp_path, data):
    p = tmp_path / "story.toml"
    p.write_bytes(data)
    try:
        load(p, check_files=False)
    except StoryError:
        pass


@FAST
@given(toml_docs)
def test_story_random_toml_structures(tmp_path, doc):
    p = tmp_path / "story.toml"
    p.write_text(tomli_w.dumps(doc))
    try:
        load(p, check_files=False)
    except StoryError:
        pass


def test_config_missing_required_key_is_a_config_error(tmp_path):
    p = tmp_path / "edge.toml"
    p.write_text("seats = [{}]\n")
    try:
        from_toml(EdgeConfig, p)
    except ConfigError as e:
        assert "missing required key 'seat_id'" in str(e)
    else:
        raise AssertionError("accepted a seat without seat_id")


@FAST
@given(st.one_of(st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
                 toml_docs.map(tomli_w.dumps)))
def test_config_random_input(tmp_path, text):
    p = tmp_path / "edge.toml"
    p.write_text(text, encoding="utf-8")
    try:
        from_toml(EdgeConfig, p)
    except ConfigError:
        pass
