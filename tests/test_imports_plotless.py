"""A process that draws nothing loads no plotting: a show (`host run`, not a kiosk), `story
check` and `story new` start GStreamer without matplotlib's FreeType first (empathy/plots.py
never_plots: ~0.15 CPU-s a start), and the tuning bench refuses an option before loading
scipy.signal (~0.8 CPU-s). The tests start hundreds of these; a kiosk's reports still plot
(tests/test_kiosk.py)."""

import subprocess
import sys
from pathlib import Path

import tomli_w

from empathy.host.sample.render import ensure
from empathy.keys import Keystore
from test_imports_light import loaded

ROOT = Path(__file__).resolve().parents[1]
STORY = ROOT / "host" / "sample" / "neon_rain.toml"
PLOTTING = ("matplotlib",)


def test_story_check_and_story_new_load_no_plotting(tmp_path):
    media = ensure()
    assert loaded(tmp_path, "story", "check", str(STORY), "--media-root", str(media),
                  heavy=PLOTTING + ("gi",)) == ["gi"]  # its clips were probed
    assert loaded(tmp_path, "story", "new", str(media / "media"), "--out",
                  str(tmp_path / "new.toml"), heavy=PLOTTING + ("gi",)) == ["gi"]
    assert (tmp_path / "new.toml").exists()


def test_a_show_loads_no_plotting(tmp_path):
    Keystore.new([1]).save(tmp_path / "host.keys.toml")
    cfg = tmp_path / "host.toml"
    cfg.write_text(tomli_w.dumps({
        "keystore": str(tmp_path / "host.keys.toml"), "story": str(STORY),
        "media_root": str(ensure()), "frame_log": str(tmp_path / "frames.csv"),
        "duration_s": 1.0, "state_dir": str(tmp_path / "state"),
        "show": {"listen": "udp://127.0.0.1:0", "output": "null", "width": 160,
                 "height": 90, "fps": 10.0}, "session": {"dir": str(tmp_path / "sessions")}}))
    assert loaded(tmp_path, "host", "run", "--config", str(cfg),
                  heavy=PLOTTING + ("gi",)) == ["gi"]
    assert (tmp_path / "frames.csv").read_text().count("\n") > 1  # it played


def test_the_tuning_bench_refuses_an_option_before_loading_scipy_signal():
    r = subprocess.run([sys.executable, "-c",
                        "import runpy, sys; sys.argv = ['policy_tuning', '--latency', '-5']\n"
                        "try:\n    runpy.run_module('empathy.bench.policy_tuning', "
                        "run_name='__main__')\nexcept SystemExit as e:\n"
                        "    print('scipy.signal' in sys.modules, e.code)"],
                       capture_output=True, text=True, timeout=120)
    assert r.stdout.split() == ["False", "2"], r.stdout + r.stderr
    assert "argument --latency" in r.stderr
