"""`empathy signal pupil` on real EyeLink recordings (bench/pupil_series_real.py: the test
EDFs in the eyelinkio wheel, cached by scripts/install.sh) against the tracker's own blink
events."""

import json
import subprocess
import sys

import numpy as np
import pytest

from empathy.bench import pupil_real, pupil_series_real


@pytest.fixture(scope="module")
def recordings():
    try:
        return pupil_series_real.recordings()
    except pupil_real.CorpusMissing as e:
        pytest.skip(f"real pupil recordings not cached ({e})")


def test_signal_pupil_counts_real_blinks(recordings, tmp_path):
    """A real blink is a lid sweeping over the pupil: fast changes broken by slower samples,
    and at 1000 Hz the tracker's sample-to-sample noise alone passes 10 mm/s. Each fragment
    used to count as a blink (test_2_raw: 142 for the tracker's 19; held-out left eye: 2017
    for 113)."""
    for rec in recordings:
        f = tmp_path / "eye.csv"
        np.savetxt(f, np.column_stack([rec["t"], np.nan_to_num(rec["mm"])]), delimiter=",",
                   comments="", header="time_s,pupil_mm", fmt="%.4f")
        r = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", "pupil", str(f),
                            "--json"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        counted, true = json.loads(r.stdout)["blinks"], len(rec["blinks"])
        assert 0.8 * true <= counted <= 1.5 * true + 2, (rec["name"], counted, true)


def test_every_tracker_blink_is_bridged(recordings):
    for rec in recordings:
        s = pupil_series_real.score(rec)
        assert s["sensitivity"] == 1.0, s
