"""`empathy policy simulate|evaluate|measure`: compare policies on simulated audiences
(`host/policy_sim.py`), judge a new policy offline from recorded screenings before showing
it to anyone (here), and derive the simulated audience's measurement model
(`host/policy_measure.py`).

    empathy policy evaluate --story S.toml --recorded LOG.jsonl|summary.json ... --policy NAME ...

`evaluate` reads decision records (from `simulate --record`, a show's summary.json or a
recorded session, whose decisions carry their inputs and propensity) and estimates each policy's
mean reward with trajectory inverse-propensity weighting (IPS) and the step-wise doubly
robust estimator (DR: a per-option ridge model of the reward, corrected by the weighted
residuals), so it stays unbiased when either the model or the logged propensities are
right.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

from empathy.cli import deferred, number_in
from empathy.errors import UserError
from empathy.host.policy_settings import POLICY_NAMES, REWARD_LATENCY_S
from empathy.paths import read_file

SIM_POLICIES = ("default", "rules", "arc", "bandit")


def _story(args):
    from empathy.host.story import StoryError, load

    try:
        return load(args.story, check_files=False)
    except StoryError:
        raise  # the CLI's error boundary says it, with `empathy story check` as the fix


def _policy(name: str, args, tmp: str):
    from empathy.host.policy import make_policy

    # A simulation starts the learner from nothing unless told which state to use, so
    # trying things out never touches what a cinema's bandit has learned.
    state = args.state or str(Path(tmp) / f"{name}.json")
    return make_policy(name, state_path=state, seed=args.seed)


# -- evaluate -------------------------------------------------------------------------------
def load_logs(paths: list[str], story) -> list[list[dict]]:
    """Decision records grouped into screenings, in order. A show's summary.json or
    recorded session (.session.db) is one screening; a .jsonl groups by its records'
    `screening` (and `policy`) fields."""
    out = []
    for path in paths:
        if path.endswith(".session.db"):
            out.append(_session_screening(Path(path), story))
            continue
        try:
            text = read_file(path, limit=1 << 30).decode("utf-8")  # a FIFO waited for ever
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not UTF-8 text (a JSONL log, summary.json or "
                             ".session.db)") from None
        if path.endswith(".jsonl"):
            groups: dict = {}
            for i, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    r = _record(line, f"{path}:{i}")
                    groups.setdefault((r.get("policy"), r.get("screening")), []).append(r)
            out += groups.values()
        else:
            summary = _record(text, path)
            decisions = summary.get("decisions", [])
            if not isinstance(decisions, list) or not all(isinstance(d, dict) for d in decisions):
                raise ValueError(f"{path}: decisions must be a list of objects")
            out.append(_judged(decisions))
    return out


def _record(text: str, where: str) -> dict:
    try:
        r = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not JSON: {e}") from None
    if not isinstance(r, dict):  # `.get` on a list was an unexpected error (exit 70)
        raise ValueError(f"{where}: a JSON object is needed, not {type(r).__name__}")
    return r


def _judged(decisions: list[dict]) -> list[dict]:
    """Leave out the policy's decisions whose segment was cut short (no reward); keep an
    operator's forced ones (no inputs), which make the screening unusable."""
    return [d for d in decisions if not d.get("inputs") or d.get("reward") is not None]


def _session_screening(path: Path, story) -> list[dict]:
    """A recorded show: its decisions, rewarded from its own segment and state events the
    same way the show rewards them (`policy.learn_from_show`)."""
    from empathy.host.policy import learn_from_show
    from empathy.host.session.reading import event_docs
    from empathy.host.session.store import SessionError, read

    if not path.is_file():  # sqlite would create an empty one
        raise ValueError(f"{path}: no such session file")
    try:
        _, rows = read(path, "events")
    except SessionError as e:
        raise ValueError(str(e)) from None
    events = list(event_docs(rows))
    segments = [d for _, k, d in events if k == "segment"]
    if not segments:
        return []
    decisions = [{k: v for k, v in d.items() if k != "reward"}
                 for _, k, d in events if k == "decision"]
    t0 = segments[0]["start_us"] - int(segments[0]["at_s"] * 1e6)
    learn_from_show(None, story, decisions, segments, [d for _, k, d in events if k == "state"],
                    t0, (max(ts for ts, _, _ in events) - t0) / 1e6)
    return _judged(decisions)


def _usable(screening: list[dict], story) -> bool:
    """Every decision logged by a policy, with what it saw, how likely it was and its reward
    (an operator's forced branch or a rewardless record makes the screening unusable), each
    of the kind evaluate() reads: a record from elsewhere skips, not crashes, it."""
    return bool(screening) and all(_sound(r, story) for r in screening)


def _sound(r: dict, story) -> bool:
    from empathy.host.audience import AudienceState

    d = story.decisions.get(r.get("decision")) if isinstance(r.get("decision"), str) else None
    if d is None or not isinstance(r.get("chosen"), str) or r["chosen"] not in d.options:
        return False
    if not isinstance(r.get("inputs"), dict) or not isinstance(r.get("scores"), (dict, type(None))):
        return False
    if not (_number(r.get("reward")) and _number(r.get("propensity"))
            and 0 < r["propensity"] <= 1):
        return False
    try:
        AudienceState(**r["inputs"])
    except TypeError:
        return False
    return all(v is None or _number(v) for v in r["inputs"].values())


def _number(v) -> bool:
    import numpy as np

    return isinstance(v, (int, float)) and not isinstance(v, bool) and bool(np.isfinite(v))


def target_probabilities(policy, decision, state, min_good_fraction: float = 0.25) -> dict:
    from empathy.host.policy import decide

    if state.good_fraction < min_good_fraction:
        return {o: float(o == decision.default) for o in decision.options}
    if callable(getattr(policy, "probabilities", None)):
        return policy.probabilities(decision, state)
    chosen = decide(policy, decision, state, min_good_fraction).chosen
    return {o: float(o == chosen) for o in decision.options}


def _reward_model(screenings: list[list[dict]], ridge: float = 1.0):
    """Per (decision, option) ridge regression of the reward on the bandit's features."""
    import numpy as np

    from empathy.host.audience import AudienceState
    from empathy.host.policies.bandit import features

    data: dict = {}
    for s in screenings:
        for r in s:
            data.setdefault((r["decision"], r["chosen"]), []).append(
                (features(AudienceState(**r["inputs"])), r["reward"]))
    fallback = float(np.mean([r for v in data.values() for _, r in v])) if data else 0.0
    weights = {}
    for key, rows in data.items():
        x, y = np.array([a for a, _ in rows]), np.array([b for _, b in rows])
        weights[key] = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    return lambda d, o, feats: float(feats @ weights[(d, o)]) if (d, o) in weights else fallback


def evaluate(policy, story, screenings: list[list[dict]]) -> dict:
    """Estimated mean screening reward of `policy` from screenings another policy logged."""
    import numpy as np

    from empathy.host.audience import AudienceState
    from empathy.host.policies.bandit import features

    q = _reward_model(screenings)
    ips, dr, weights, logged = [], [], [], []
    for s in screenings:
        rho, v_dr, steps = 1.0, 0.0, len(s)
        for r in s:
            d = story.decisions[r["decision"]]
            # The options offered then (conditions may have hidden some) are the scored ones.
            d = replace(d, options={o: d.options[o] for o in r.get("scores") or d.options
                                    if o in d.options})
            state = AudienceState(**r["inputs"])
            pi = target_probabilities(policy, d, state)
            x = features(state)
            qs = {o: q(d.id, o, x) for o in d.options}
            prev, rho = rho, rho * pi.get(r["chosen"], 0.0) / r["propensity"]
            v_dr += (rho * (r["reward"] - qs[r["chosen"]])
                     + prev * sum(pi[o] * qs[o] for o in d.options)) / steps
        mean_r = float(np.mean([r["reward"] for r in s]))
        ips.append(rho * mean_r)
        dr.append(v_dr)
        weights.append(rho)
        logged.append(mean_r)
    w = np.array(weights)
    se = lambda v: round(float(np.std(v, ddof=1) / np.sqrt(len(v))), 4) if len(v) > 1 else None  # noqa: E731
    return {"policy": policy.name, "screenings": len(screenings),
            "ips": round(float(np.mean(ips)), 4), "dr": round(float(np.mean(dr)), 4),
            "ips_se": se(ips), "dr_se": se(dr),  # standard errors over screenings
            "effective_screenings": round(float(w.sum() ** 2 / max((w ** 2).sum(), 1e-12)), 1),
            "logged": round(float(np.mean(logged)), 4)}


def _evaluate(args) -> int:
    story = _story(args)
    if story is None:
        return 1
    try:
        logs = load_logs(args.recorded, story)
        usable = [s for s in logs if _usable(s, story)]
        if not usable:
            raise ValueError(f"no usable screenings in {', '.join(args.recorded)} (each decision "
                             f"needs inputs, propensity and reward, from this story)")
        with tempfile.TemporaryDirectory() as tmp:
            results = [evaluate(_policy(n, args, tmp), story, usable) for n in args.policy]
    except (ValueError, KeyError) as e:  # json.JSONDecodeError is a ValueError
        raise UserError(str(e)) from None
    if args.json:
        print(json.dumps({"skipped": len(logs) - len(usable), "results": results}))
        return 0
    print(f"{len(usable)} usable screenings ({len(logs) - len(usable)} skipped); "
          f"logged mean reward {results[0]['logged']:.4f}")
    for r in results:
        pm = lambda k: f" ± {r[k]:.4f}" if r[k] is not None else ""  # noqa: E731
        print(f"{r['policy']:<8} IPS {r['ips']:.4f}{pm('ips_se')}  DR {r['dr']:.4f}"
              f"{pm('dr_se')}  (effective screenings {r['effective_screenings']:.0f}; ± one "
              f"standard error)")
    return 0


def register(p) -> None:
    # Built from light modules; each verb's own (numpy, the simulator) loads as it runs.
    sub = p.add_subparsers(dest="verb", required=True)
    s = sub.add_parser("simulate", help="compare policies over simulated screenings")
    s.add_argument("--story", required=True)
    s.add_argument("--impact", help="simulation-only segment dynamics (TOML); default: targets")
    s.add_argument("--policy", action="extend", nargs="+", choices=POLICY_NAMES,
                   help="one or more, repeatable (default: the story's, else "
                        f"{', '.join(SIM_POLICIES)})")
    s.add_argument("--screenings", type=number_in(int, 2, 100_000), default=500)
    s.add_argument("--seats", type=number_in(int, 2, 5000), default=30)
    s.add_argument("--seed", type=number_in(int, 0, 2**32 - 1), default=0)
    s.add_argument("--reward-latency", type=number_in(float, 0, 15), default=REWARD_LATENCY_S,
                   help="seconds a segment's measured reward window is shifted by (default: "
                        "the host's [show] reward_latency_s default)")
    s.add_argument("--measurement", help="measurement model (default: sim/measurement.toml, "
                                         "from `empathy policy measure`)")
    s.add_argument("--state", help="learning policy state file (default: a fresh one)")
    s.add_argument("--record", help="write every decision as JSON lines (for evaluate)")
    s.add_argument("--plot", help="write the learning and regret curves (PNG/SVG)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=deferred("empathy.host.policy_sim", "simulate"))
    e = sub.add_parser("evaluate", help="estimate a policy's reward from recorded screenings")
    e.add_argument("--story", required=True)
    e.add_argument("--recorded", action="extend", nargs="+", required=True,
                   help="simulate --record JSONL, a show's summary.json or a recorded "
                        "session .session.db (one or more, repeatable)")
    e.add_argument("--policy", action="extend", nargs="+", required=True, choices=POLICY_NAMES,
                   help="one or more, repeatable")
    e.add_argument("--state", help="learning policy state to judge (default: a fresh one)")
    e.add_argument("--seed", type=number_in(int, 0, 2**32 - 1), default=0)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_evaluate)
    m = sub.add_parser("measure", help="derive the simulated audience's measurement model by "
                                       "running the real edge on simulated people")
    m.add_argument("--viewers", type=number_in(int, 2, 10000), default=16)
    m.add_argument("--minutes", type=number_in(float, 0.5, 60), default=3.0,
                   help="of film per viewer")
    m.add_argument("--seed", type=number_in(int, 0, 2**32 - 1), default=0)
    m.add_argument("--no-faces", action="store_true", help="seats without face cameras")
    m.add_argument("--out", help="TOML to write (default: sim/measurement.toml)")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=deferred("empathy.host.policy_measure", "measure"))
