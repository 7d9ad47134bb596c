"""The stories and the perfect measurement that tests/test_policy_sim*.py share."""

from pathlib import Path


from empathy.host.story import load
from empathy.sim import SAMPLE_IMPACT, HERE as SIM
from empathy.sim.impact import story_impacts
from empathy.sim.measurement import MeasurementModel


HERE = Path(__file__).resolve().parents[1] / "host" / "sample"
STORY = load(HERE / "neon_rain.toml", check_files=False)
IMPACT = story_impacts(STORY, SAMPLE_IMPACT)
CROWDS = load(HERE / "two_crowds.toml", check_files=False)
CROWDS_IMPACT = story_impacts(CROWDS, SIM / "two_crowds_impact.toml")
PERFECT = MeasurementModel(1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0)
