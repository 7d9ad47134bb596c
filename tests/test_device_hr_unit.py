"""A heart-rate device that sends no RR intervals, as the unit runs it (edge/device_hr.py):
figures no heart makes are counted in the unit's stats, where a venue sees a device sending
garbage; and its stored calibration (`calibrate hr --sensor-id`) undoes its bias and lag."""

from __future__ import annotations

import json
import subprocess
import sys

from empathy.keys import Keystore


def _edge_run(tmp_path, source: str, seconds: float = 3.0) -> tuple[dict, str]:
    Keystore.new([1]).for_unit(1).save(tmp_path / "k.toml")
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'unit_id = 1\nuplink = "udp://127.0.0.1:9"\nkeystore = "{tmp_path}/k.toml"\n'
                   f'faces = false\nsync_hz = 0\nseq_file = "{tmp_path}/unit1.seq"\n'
                   f'[[seats]]\nseat_id = 1\nsource = "{source}"\n'
                   '[[seats]]\nseat_id = 2\nsource = "sim://seat?seed=2&faces=0"\n')
    p = subprocess.run([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                        str(cfg), "--duration", str(seconds), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr[-800:]
    return json.loads(p.stdout.strip().splitlines()[-1]), p.stderr


def test_a_device_sending_figures_no_heart_makes_shows_in_the_units_stats(tmp_path):
    """A figure a second, played ten times as fast: 0 is the device's "no reading" (not
    garbage); 255, 300 and 12 bpm are no heart's (255: a byte of all ones)."""
    figures = [72, 73, 255, 72, 0, 0, 74, 300, 73, 12, 72, 255, 73, 74, 72, 73]
    csv = tmp_path / "watch.csv"
    csv.write_text("ts_us,hr_bpm\n" + "".join(f"{(i + 1) * 1_000_000},{v}\n"
                                               for i, v in enumerate(figures)))
    stats, said = _edge_run(tmp_path, f"replay://{csv}?speed=10")
    assert stats["device_hr_rejected"] == {"1": 4}  # seat 2 has no device: not listed
    # and in the log as it happens (checked once a second)
    lines = [ln for ln in said.splitlines() if "figures no heart makes" in ln]
    assert lines and all("seat 1:" in ln for ln in lines) and "(4 in all)" in lines[-1], said
