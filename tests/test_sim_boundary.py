"""The simulated world stays in its own room: the estimator never imports it.

Only the places that *drive* a simulation may reach `empathy.sim`: the demo, the policy
simulator's command, benchmarks and tests. Everything that measures (edge, host fusion and
policies, calibration, the wire, the drivers) must stand without it, or a simulator that
knows the estimator's assumptions could flatter it.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRIVERS = {"host/demo.py", "host/demo_story.py", "host/policy_cli.py", "host/policy_sim.py",  # they run simulations;
           "host/policy_measure.py"}  # they estimate nothing
MEASURING = ("edge", "host", "calibration", "sensors", "empathy", "models")


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_estimator_never_imports_the_simulated_world():
    offenders = []
    for top in MEASURING:
        for f in sorted((ROOT / top).rglob("*.py")):
            rel = f.relative_to(ROOT).as_posix()
            if rel in DRIVERS:
                continue
            bad = sorted(m for m in _imports(f) if m == "empathy.sim" or m.startswith("empathy.sim."))
            if bad:
                offenders.append(f"{rel}: {', '.join(bad)}")
    assert not offenders, "the estimator reaches into the simulated world:\n" + "\n".join(offenders)


def test_the_check_sees_an_import(tmp_path):
    f = tmp_path / "leak.py"
    f.write_text("def f():\n    from empathy.sim.seat import SimSource\n")
    assert "empathy.sim.seat" in _imports(f)
