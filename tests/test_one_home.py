"""One home for each fact: a second copy drifts. These checks read the source tree, so a
copy added later fails here rather than in a show."""

import ast
from pathlib import Path

from empathy.wire import EXPRESSIONS

ROOT = Path(__file__).resolve().parents[1]
TOPS = ("empathy", "edge", "host", "calibration", "sensors", "sim", "models", "bench")


def _sources():
    for top in TOPS:
        for f in sorted((ROOT / top).rglob("*.py")):
            yield f.relative_to(ROOT).as_posix(), f.read_text(encoding="utf-8")


def _string_lists(text: str):
    """Every tuple/list literal made of string constants."""
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Tuple, ast.List)) and node.elts and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            yield [e.value for e in node.elts]


def expression_copies() -> list[str]:
    names = set(EXPRESSIONS)
    return [rel for rel, text in _sources() if rel != "empathy/wire/sample.py"
            for values in _string_lists(text) if len(names & set(values)) >= 4]


def test_expression_classes_live_only_on_the_wire():
    assert expression_copies() == []


def test_the_check_sees_a_copy():
    text = 'CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")\n'
    assert any(len(set(v) & set(EXPRESSIONS)) >= 4 for v in _string_lists(text))


def test_the_sim_and_the_edge_use_the_wire_list():
    from empathy.edge import expression
    from empathy.sim import faces

    assert expression.EXPRESSIONS is EXPRESSIONS and faces.EXPRESSIONS is EXPRESSIONS


def test_state_and_data_folders_are_read_in_one_place():
    readers = sorted(rel for rel, text in _sources()
                     if "XDG_STATE_HOME" in text or "XDG_DATA_HOME" in text
                     or ".local/state" in text or '".local"' in text)
    assert readers == ["empathy/paths.py"]


def test_state_folder_follows_the_environment(monkeypatch, tmp_path):
    from empathy.host.policies.bandit import default_state_path
    from empathy.paths import data_dir, state_dir

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "s"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "d"))
    assert state_dir("edge") == tmp_path / "s" / "empathy" / "edge"
    assert default_state_path("film") == tmp_path / "s" / "empathy" / "bandit" / "film.json"
    assert data_dir("calibration") == tmp_path / "d" / "empathy" / "calibration"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/path")  # invalid by the spec: ignored
    assert state_dir() == Path.home() / ".local" / "state" / "empathy"


def test_the_reward_formula_is_called_in_one_place():
    """`engagement` (the formula) is used only by `segment_reward`; the show and the
    simulator both measure a reward through `measured_segment_reward` (which rewards through
    `segment_reward`), and the simulator judges the hidden one with `segment_reward`."""
    users = {}
    for rel, text in _sources():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.id if isinstance(fn, ast.Name) else getattr(fn, "attr", None)
                if name in ("engagement", "segment_reward", "measured_segment_reward"):
                    users.setdefault(name, set()).add(rel)
    assert users["engagement"] == {"host/audience.py"}
    assert {"host/policy.py", "sim/audience.py"} <= users["measured_segment_reward"]
    assert {"host/audience.py", "sim/audience.py"} <= users["segment_reward"]
    assert "host/policy.py" not in users["segment_reward"]


def test_show_and_simulator_reward_the_same_states_alike():
    """The states the show's timeline holds, computed from traces, give the show's reward."""
    import numpy as np

    from empathy.host.audience import segment_reward, trace_states

    rng = np.random.default_rng(1)
    traces = 0.4 * np.sin(np.linspace(0, 6, 200))[None, :] + rng.normal(0, 0.1, (12, 200))
    arousal, sync = trace_states(traces, 10.0)
    assert len(arousal) == len(sync) == 40  # 20 s at 2 states a second
    timeline = [{"arousal": a, "synchrony": s} for a, s in zip(arousal, sync)]
    r = segment_reward([t["arousal"] for t in timeline], [t["synchrony"] for t in timeline], 0.2)
    assert r == segment_reward(arousal, sync, 0.2) and 0.5 < r < 1.0
