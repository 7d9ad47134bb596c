"""The thirty-fifth pass's third blind PPG set (edge/heart_reference/README.md): the first
4 min of every BIDMC record with no excerpt in the corpus whose patient is in no other BIDMC
record, all held out. The set is the rule's, the files are the ones cut and recorded, and
the lead II reference is plausible and sits on the QRS with a finger pulse after it. Cheap:
no PPG detector runs here (the set is scored once, by the page, after the pass's PPG changes)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from empathy.edge.beat_score import in_spans
from empathy.edge.heart_corpus import REFERENCE_DIR, RECORDS, record
from empathy.edge.heart_records import FRESH, FRESH2, FRESH3
from reference_excerpts import aligned, holds, readme_records

# each BIDMC record's patient, the MIMIC II matched ID its `bidmc_NN_Fix.txt` gives (01-53)
PATIENTS = dict(zip((f"{n:02d}" for n in range(1, 54)), (
    "s01182 s01241 s01795 s01840 s01995 s03386 s03386 s03386 s03386 s03516 s04641 s06914 "
    "s07432 s07784 s08452 s08915 s08936 s09483 s09968 s11342 s11342 s11342 s11342 s12531 "
    "s12589 s13314 s13927 s15646 s17236 s17497 s17735 s17756 s19981 s20471 s20486 s22348 "
    "s24455 s25323 s25323 s26845 s26868 s29093 s29125 s29503 s29622 s29866 s30026 s30243 "
    "s31106 s31141 s31400 s32195 s32628").split()))
# record -> (reference beats, trusted s, median rate bpm) as the README's table gives them
TABLE = {"bidmc-44": (366, 236.5, 91.5), "bidmc-46": (424, 232.4, 107.1),
         "bidmc-47": (336, 235.7, 83.3), "bidmc-48": (402, 233.9, 101.4),
         "bidmc-49": (340, 237.9, 85.2), "bidmc-50": (305, 234.2, 76.5),
         "bidmc-51": (358, 237.9, 89.3), "bidmc-52": (457, 238.3, 113.6)}


def cutter():
    """The cut script (not shipped in the package: read from the checkout)."""
    path = Path(__file__).resolve().parents[1] / "edge/heart_reference/cut_pulse_excerpts.py"
    spec = importlib.util.spec_from_file_location("cut_pulse_excerpts", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_set_is_the_rules():
    """Every BIDMC record with no excerpt in the corpus (bidmc-NN, bidmc-NN-late) whose patient
    is in no other BIDMC record: the cutter's list, the records' list and the files."""
    in_corpus = {r.name[6:8] for r in RECORDS if r.name.startswith("bidmc-") and
                 r.name not in FRESH3}
    shared = {n for n, p in PATIENTS.items() if list(PATIENTS.values()).count(p) > 1}
    rule = {f"bidmc-{n}" for n in PATIENTS if n not in in_corpus | shared}
    assert rule == FRESH3 == set(TABLE) == {f"bidmc-{n}" for n in cutter().BIDMC_FRESH3}
    assert not FRESH3 & (FRESH | FRESH2)
    assert {p.stem for p in REFERENCE_DIR.glob("bidmc-*.npz")} >= FRESH3
    patients = {PATIENTS[r.name[6:8]] for r in RECORDS if r.name.startswith("bidmc-") and
                r.name not in FRESH3}
    assert not patients & {PATIENTS[n[6:]] for n in FRESH3}  # no patient on two sides


@pytest.mark.parametrize("name", sorted(TABLE))
def test_each_is_held_out_and_the_file_the_readme_records(name):
    rec = record(name)
    with np.load(REFERENCE_DIR / rec.member) as z:
        assert str(z["use"]) == "held out" and rec.held_out and rec.kind == "ppg"
        assert str(z["record"]) == f"bidmc{name[6:]}" and "first 4 min" in str(z["what"])
    readme = readme_records(name)
    assert f"| {name} | {PATIENTS[name[6:]]}," in readme


@pytest.mark.parametrize("name", sorted(TABLE))
def test_each_holds_4_min_of_finger_pulse_and_plausible_ecg_beats(name):
    n, trusted, bpm = TABLE[name]
    _, x, beats, spans = holds(name, 125.0, 30000, n, trusted)
    assert set(np.unique(np.round(x * 1023, 6))) <= set(range(4096 if x.max() > 1 else 1024))
    assert 60 / np.median(np.diff(beats)) == pytest.approx(bpm, abs=0.05)
    assert 200 <= trusted and 1 <= len(spans) <= 4 and np.all(np.diff(beats) > 0.25)
    for span in spans:  # in a trusted span no reference beat is a double or follows a gap
        iv = np.diff(in_spans(beats, [span]))
        assert np.all(iv > 0.75 * np.median(iv)) and np.all(iv < 1.25 * np.median(iv))
        assert np.all(60 / iv > 40) and np.all(60 / iv < 150)  # a plausible adult rate


@pytest.mark.parametrize("name", sorted(TABLE))
def test_each_reference_sits_on_the_qrs_and_a_pulse_follows_it(name):
    """(reference_excerpts.aligned) when cut: 0-32 ms off the QRS, the pulse's rise
    0.69-0.86 of its slope's 99th percentile."""
    aligned(name)
