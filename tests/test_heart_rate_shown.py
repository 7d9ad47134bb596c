"""The corpus page's 'HR shown' is the heart rate `empathy signal hr` prints for the same
beats (issue 19's goal is read on it): the page calls signal hr's own rate function, so the
two cannot drift apart."""

import json
import subprocess
import sys

import numpy as np
import pytest

from empathy.edge.beat_score import shown_rate, span_rate
from empathy.edge.heart_corpus import record_data
from empathy.edge.heart_page import summary
from empathy.edge.heart_validation import score_record
from empathy.edge.hrv import heart_summary
from corpus_records import need


def _signal_hr(tmp_path, x, fs: float, kind: str) -> dict:
    f = tmp_path / "rec.csv"
    np.savetxt(f, x, fmt="%.17g")
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", "hr", str(f), "--fs",
                        repr(float(fs)), "--kind", kind, "--json"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# a consensus record has no spans: the page's shown HR is the whole record's. heartpy-data2's
# loose start holds intervals of 3 s and more, which signal hr leaves out of a PPG's rate
# (the count-based HR keeps them: 57.8 bpm where signal hr prints 67.2)
@pytest.mark.parametrize("name", ["heartpy-data2", "bsn-ecg-supine"])
def test_the_pages_shown_hr_is_what_signal_hr_prints(tmp_path, name):
    rec = need(name)
    x, fs = record_data(rec)
    r = score_record(rec)
    assert r["spans"] is None
    printed = _signal_hr(tmp_path, x, fs, rec.kind)
    assert r["shown"]["ours"][0] == pytest.approx(printed["bpm"], abs=1e-9)
    assert f"| {r['shown']['ours'][0]:.1f} |" in "\n".join(summary([r]))


def test_shown_rate_is_signal_hrs_rate_over_the_intervals_inside_one_span():
    rng = np.random.default_rng(1)
    beats = np.cumsum(rng.uniform(0.7, 0.9, 120))
    beats = np.concatenate([beats[:60], beats[60:] + 4.0])  # a 4-s gap: lost contact on a PPG
    for ecg in (False, True):
        s = heart_summary(beats, np.ones(len(beats)), beats[-1] + 1, cycles=ecg)
        assert shown_rate(beats, None, ecg) == pytest.approx(s["bpm"], abs=1e-12)
    iv = np.diff(beats)
    assert shown_rate(beats, None, False) == pytest.approx(60 / np.mean(iv[iv < 3]))
    assert shown_rate(beats, None, True) == pytest.approx(60 / np.mean(iv))
    # two spans: the interval from one to the next (the gap) is in neither
    spans = np.array([[beats[0], beats[59]], [beats[60], beats[-1]]])
    inside = np.concatenate([iv[:59], iv[60:]])
    assert shown_rate(beats, spans, True) == pytest.approx(60 / np.mean(inside))
    # the count-based rate over the same spans is not it (the spans' edges count there)
    assert abs(span_rate(beats, spans) - shown_rate(beats, spans, True)) > 0.5


def test_the_goal_is_read_on_the_shown_hr_with_the_count_based_hr_beside_it():
    """heartpy-data2: ours and the consensus both lose the loose start's long intervals,
    so the shown HRs agree where the count-based ones (every interval) do not."""
    r = score_record(need("heartpy-data2"))
    (sh, sh_ref), (_, hr, hr_ref) = r["shown"]["ours"], r["rows"]["ours"]
    page = "\n".join(summary([r]))
    assert f"| {sh_ref:.1f} | {sh:.1f} | {sh - sh_ref:+.1f} | {hr_ref:.1f} | " \
           f"{hr - hr_ref:+.1f} |" in page
    ok = abs(sh - sh_ref) <= 1.5 and r["rows"]["ours"][0].f1 >= max(
        m.f1 for n, (m, _, _) in r["rows"].items() if n != "ours")
    assert page.splitlines()[2].endswith("| yes |" if ok else "| **no** |")


def test_the_deficit_aware_rows_judge_the_shown_hr_against_the_whole_reference():
    """bidmc-04 (tuning): 7 R peaks in its spans are PVCs that sent no pulse to the finger;
    no PPG detector finds them, so the deficit-aware F1 leaves them out. The shown HR mends
    the intervals they merged (RR artefact correction splits them as missed beats:
    tests/test_heart_rate_mended.py), so it reads the heart's rate and is judged against
    the whole reference: -1.8 bpm with the raw intervals, -0.3 now. Against the reference
    less the deficits it would read +1.6 and fail for finding the heart's real beats."""
    from empathy.edge.pulse_deficit import page_section

    r = score_record(need("bidmc-04"))
    d, (sh, sh_ref) = r["deficit"], r["shown"]["ours"]
    assert len(d["gone"]) == 7 and abs(sh - sh_ref) < 0.5
    row = next(ln for ln in page_section([r]) if ln.startswith("| bidmc-04 |"))
    assert f"| {sh - sh_ref:+.1f} | " in row
    f1_less = d["rows"]["ours"][0].f1
    best_less = max(m.f1 for n, (m, _) in d["rows"].items() if n != "ours")
    assert row.endswith("→ yes |" if f1_less >= best_less else "→ **no** |")


def test_the_page_shows_no_hr_where_signal_hr_finds_no_heartbeat(tmp_path):
    """wrist-s1-walk: `signal hr` finds no heartbeat (quality 0.07, under 0.15: exit 3) and
    prints no rate, but the page's 'HR shown ours' read 80.8 bpm (+21.2 against the ECG's
    59.6): a figure no user is shown. The row says so now; the rate its beats would give
    stays in the detail rows. A PPG with a heartbeat keeps its figure."""
    walk = score_record(need("wrist-s1-walk"))
    x, fs = record_data(walk["rec"])
    f = tmp_path / "walk.csv"
    np.savetxt(f, x, fmt="%.17g")
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", "hr", str(f), "--fs",
                        repr(float(fs)), "--kind", "ppg", "--json"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 3 and "no heartbeat found" in r.stderr
    assert walk["heartbeat"] is False
    row = next(ln for ln in summary([walk]) if ln.startswith("| wrist-s1-walk |"))
    assert "| none: no heartbeat (quality 0.07) |" in row and "80.8" not in row
    assert row.endswith("| **no** |")
    from empathy.edge.pulse_deficit import page_section
    row = next(ln for ln in page_section([walk]) if ln.startswith("| wrist-s1-walk |"))
    assert "| none: no heartbeat |" in row and row.endswith("no → **no** |")
    clean = score_record(need("heartpy-data2"))
    assert clean["heartbeat"] is True
    assert f"| {clean['shown']['ours'][0]:.1f} |" in "\n".join(summary([clean]))
