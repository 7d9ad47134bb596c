"""Blinks and cleaning (`empathy signal pupil`'s edge/pupil.py pupil_clean) on real EyeLink
recordings, against the blink events the tracker's own parser wrote into each file.

The recordings: the three test EDFs inside the `eyelinkio` 0.3.0 wheel (its code BSD-3;
the files are its test data; read with the SR Research EDF library the wheel carries):
two monocular 1000 Hz EyeLink CL recordings (67 s, 125 s) and a binocular 500 Hz EyeLink
GL one (200 s, both eyes). scripts/install.sh puts the wheel in cache/pupil-corpus/; it is
unpacked into a temporary folder to be read, nothing is fetched here.

Split fixed before pupil_clean first ran on any of them: the two 1000 Hz files tune, the
500 Hz binocular one (another tracker, another rate, two eyes) is held out.

EyeLink writes pupil area in arbitrary units, 0 when lost; diameter ~ sqrt(area), scaled so
each eye's median is 4 mm (no calibration ships: the speed test in mm/s depends on it).
A stretch found = samples pupil_clean bridged or left as a gap (a blink with its lid
margins, an outlier); it matches a tracker blink it overlaps. Sensitivity = tracker blinks matched /
tracker blinks; precision = stretches found that match / stretches found. The tracker
also loses the pupil without a blink (a look away, a glance at the keyboard): such a
stretch counts against precision, as it would in our blink rate.

    python -m empathy.bench.pupil_series_real [--json]
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import zipfile

import numpy as np

from empathy.bench.pupil_real import EYELINK, CorpusMissing, dist_path, run_cli
from empathy.edge.pupil import pupil_clean

FILES = {"test_raw.edf": "tuning", "test_2_raw.edf": "tuning",
         "test_raw_binocular.edf": "held_out"}
MEDIAN_MM = 4.0


@contextlib.contextmanager
def _quiet_stdout():
    """The EDF library prints to the process's own stdout (fd 1), not sys.stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def recordings() -> list[dict]:
    """One entry per eye and file: name, split, times (s), pupil (mm, NaN lost), the
    tracker's blinks [(start_s, end_s)]."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(dist_path(EYELINK)) as z:
            z.extractall(tmp)
        sys.path.insert(0, tmp)
        try:
            for name, split in FILES.items():
                out += _eyes(_read_edf(os.path.join(tmp, "eyelinkio", "tests", "data", name)),
                             name, split)
        finally:
            sys.path.remove(tmp)
            for mod in [m for m in sys.modules if m.split(".")[0] == "eyelinkio"]:
                del sys.modules[mod]
    return out


def _read_edf(path: str) -> dict:
    """The EDF as eyelinkio reads it; its library missing for this machine (it ships x86-64
    Linux, macOS and Windows builds) or a damaged file is CorpusMissing."""
    try:
        import eyelinkio

        with _quiet_stdout():
            return eyelinkio.read_edf(path)
    except (ImportError, OSError, RuntimeError, ValueError) as e:
        raise CorpusMissing(f"cannot read {os.path.basename(path)} with eyelinkio: {e}") from None


def _eyes(edf: dict, name: str, split: str) -> list[dict]:
    fields = list(edf["info"]["sample_fields"])
    blinks = edf["discrete"]["blinks"]
    out = []
    for col, field in enumerate(fields):
        if not field.startswith("ps"):
            continue
        eye = 1 if field == "ps_right" else 0
        area = np.asarray(edf["samples"][col], float)
        seen = np.isfinite(area) & (area > 0)
        if seen.sum() < 10:
            raise CorpusMissing(f"{name}: {field} holds no pupil")
        dia = np.sqrt(np.where(seen, area, np.nan))
        mine = blinks[blinks["eye"] == eye]
        out.append({"name": f"{name} {field}", "split": split, "t": np.asarray(edf["times"], float),
                    "mm": dia * (MEDIAN_MM / np.nanmedian(dia)),
                    "blinks": [(float(s), float(e)) for s, e in zip(mine["stime"], mine["etime"])]})
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def score(rec: dict) -> dict:
    t, mm = rec["t"], rec["mm"]
    clean = pupil_clean(t, mm)
    lost = ~np.isfinite(mm)
    found = [(t[s], t[e - 1]) for s, e in _runs(clean.bridged | ~np.isfinite(clean.mm))]
    true = rec["blinks"]
    hit = [any(s <= te and ts <= e for s, e in found) for ts, te in true]
    real = [any(s <= te and ts <= e for ts, te in true) for s, e in found]
    return {"name": rec["name"], "split": rec["split"], "seconds": round(float(t[-1] - t[0]), 1),
            "tracker_blinks": len(true), "blinks_counted": clean.blinks,
            "stretches_found": len(found),
            "sensitivity": round(float(np.mean(hit)), 3) if true else None,
            "precision": round(float(np.mean(real)), 3) if found else None,
            "lost_pct": round(100 * float(lost.mean()), 1),
            "bridged_pct": round(100 * float(clean.bridged.mean()), 1),
            "gap_pct": round(100 * float(np.isnan(clean.mm).mean()), 1)}


def compare() -> list[dict]:
    return [score(r) for r in recordings()]


def markdown(rows: list[dict]) -> str:
    lines = ["| split | recording (eye) | length | tracker's blinks | blinks counted | "
             "sensitivity | precision | lost by the tracker | bridged | left as gaps |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['split'].replace('_', '-')} | {r['name']} | {r['seconds']} s | "
                     f"{r['tracker_blinks']} | {r['blinks_counted']} | {r['sensitivity']} | "
                     f"{r['precision']} | {r['lost_pct']} % | {r['bridged_pct']} % | "
                     f"{r['gap_pct']} % |")
    return "\n".join(lines)


def main(argv=None) -> int:
    return run_cli("pupil_series_real", __doc__, compare, markdown, argv)


if __name__ == "__main__":
    raise SystemExit(main())
