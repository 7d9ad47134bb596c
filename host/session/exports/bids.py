"""BIDS export: each seat a subject, the session a BIDS session, the film a task.

Layout (BIDS 1.10, physiological recordings of the `beh` datatype)::

    dataset_description.json  README  participants.tsv  participants.json
    sub-<seat>/ses-<session>/beh/sub-<seat>_ses-<session>_task-<film>_physio.tsv.gz
                                 sub-<seat>_ses-<session>_task-<film>_physio.json
                                 sub-<seat>_ses-<session>_task-<film>_events.tsv
    task-<film>_events.json

The physio file has no header row (BIDS says so); its sidecar names the columns, their
units, `SamplingFrequency` (10 Hz, the edge rate) and `StartTime`: the first row's time in
seconds against the events' zero, the film's first frame (negative: the resting baseline
came first). Empty cells are `n/a`. The clock and each unit's sync quality are in the
sidecar under `EmpathyClock`. Seats are labelled by their per-session pseudonym. A seat's
events hold its sensor faults too (`trial_type` sensor_fault, `fault` the wire table's
name, `duration` how long it held: that stretch of the seat's data is not a body's).
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from pathlib import Path

import numpy as np

from empathy import __version__, wire
from empathy.host.session.exports.recording import MEASURES, RATE_HZ, Recording, grid

BIDS_VERSION = "1.10.0"


def _task(rec: Recording) -> str:
    """The task label: the title's letters and digits, cut to fit a file name (a 300-letter
    title was 'File name too long' from every BIDS export)."""
    return re.sub(r"[^0-9A-Za-z]", "", rec.title)[:64] or "film"


def _segment_ends(rec: Recording) -> list[int]:
    """Each segment start's end: the next later start, else the recording's end. One pass
    back over the starts (in time order): scanning them all for each was time squared in the
    session of an installation whose story loops for weeks (32,000 segments: 89 CPU-s)."""
    starts = [m.ts_us for m in rec.markers if m.kind == "segment"]
    ends, end = [0] * len(starts), rec.span_us()[1]
    for i in range(len(starts) - 1, -1, -1):
        if i + 1 < len(starts) and starts[i + 1] > starts[i]:
            end = starts[i + 1]
        ends[i] = end
    return ends


def _events(rec: Recording) -> list[dict]:
    rows, ends = [], _segment_ends(rec)
    n = 0  # segment starts so far
    for m in rec.markers:
        d, onset = m.data, (m.ts_us - rec.t0_us) / 1e6
        duration = 0.0
        if m.kind == "segment":
            duration = max(0.0, (ends[n] - m.ts_us) / 1e6)
            n += 1
        rows.append({"onset": round(onset, 4), "duration": round(duration, 4),
                     "trial_type": m.kind, "segment": d.get("segment", "n/a"),
                     "decision": d.get("decision", "n/a"), "chosen": d.get("chosen", "n/a"),
                     "reason": d.get("reason", "n/a"), "lut": d.get("lut", "n/a")
                     if m.kind == "grade" else "n/a",
                     "strength": d.get("strength", "n/a") if m.kind == "grade" else "n/a",
                     "fault": "n/a"})
    return rows


def _fault_rows(rec: Recording) -> dict[int, list[dict]]:
    """Seat id -> its sensor faults as event rows (one still set runs to the recording's end)."""
    out: dict[int, list[dict]] = {}
    end = rec.span_us()[1]
    blank = dict.fromkeys(("segment", "decision", "chosen", "reason", "lut", "strength"), "n/a")
    for f in rec.faults:
        out.setdefault(f.seat_id, []).append({
            "onset": round((f.start_us - rec.t0_us) / 1e6, 4),
            "duration": round(max(0, f.end_or(end) - f.start_us) / 1e6, 4),
            "trial_type": "sensor_fault", **blank, "fault": f.fault})
    return out


EVENTS_SIDECAR = {
    "trial_type": {"Description": "what happened on screen",
                   "Levels": {"segment": "a segment of the film started (duration: until the next)",
                              "decision": "the show chose the next segment",
                              "grade": "the picture's colour grade changed",
                              "sensor_fault": "the seat's unit said a sensor was out (duration: "
                                              "how long): its data then is no body's"}},
    "segment": {"Description": "story segment id (segment and grade rows)"},
    "decision": {"Description": "decision point id (decision rows)"},
    "chosen": {"Description": "the segment chosen (decision rows)"},
    "reason": {"Description": "why, as the policy explained it (decision rows)"},
    "lut": {"Description": "the .cube look in use (grade rows)"},
    "strength": {"Description": "the look's strength 0..1 (grade rows)"},
    "fault": {"Description": "the sensor fault, as the edge unit named it (sensor_fault rows)",
              "Levels": {f.name: f"{f.text}: {f.action}" for f in wire.FAULTS}},
}


def _cell(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.6g}"


def write(rec: Recording, out: Path) -> list[Path]:
    task, ses = _task(rec), rec.label
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def put(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    put(out / "dataset_description.json", json.dumps({
        "Name": f"{rec.title}: screening {rec.session}", "BIDSVersion": BIDS_VERSION,
        "DatasetType": "raw", "GeneratedBy": [{"Name": "Empathy Engine", "Version": __version__,
                                               "Description": "empathy session export"}]},
        indent=2))
    put(out / "README", f"Audience physiology recorded by Empathy Engine during a screening "
                        f"of {rec.title!r} (session {rec.session}).\nEach subject is one "
                        "seat, labelled by a pseudonym that holds for this session only.\n")
    put(out / "participants.tsv", "participant_id\n" + "".join(
        f"sub-{s.label}\n" for s in rec.seats))
    put(out / "participants.json", json.dumps({"participant_id": {
        "Description": "a seat, by its per-session pseudonym (no ticket or seat number)"}}))
    put(out / f"task-{task}_events.json", json.dumps({"TaskName": rec.title, **EVENTS_SIDECAR},
                                                     indent=2))
    events, faults = _events(rec), _fault_rows(rec)
    columns = [m.name for m in MEASURES]
    for s in rec.series():  # a seat at a time: a long show's samples stay on disk
        seat = s.seat
        base = out / f"sub-{seat.label}" / f"ses-{ses}" / "beh" / \
            f"sub-{seat.label}_ses-{ses}_task-{task}"
        step = int(1e6 / RATE_HZ)
        t = np.arange(seat.first_us, seat.last_us + 1, step, dtype=np.int64)
        g = grid(s, t)
        lines = "".join("\t".join(_cell(g[m.field][i]) for m in MEASURES) + "\n"
                        for i in range(len(t)))
        dest = Path(f"{base}_physio.tsv.gz")
        dest.parent.mkdir(parents=True, exist_ok=True)
        # No name and no time in the gzip header: they would leak and break reproducibility.
        with open(dest, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                    mtime=0) as f:
            f.write(lines.encode("utf-8"))
        written.append(dest)
        sync = rec.clock.get(str(seat.unit_id))
        put(Path(f"{base}_physio.json"), json.dumps({
            "SamplingFrequency": RATE_HZ, "StartTime": round((t[0] - rec.t0_us) / 1e6, 6),
            "Columns": columns, "PhysioType": "generic", "TaskName": rec.title,
            "Manufacturer": "Empathy Engine", "SoftwareVersions": __version__,
            **{m.name: {"Description": m.description, "Units": m.unit} for m in MEASURES},
            "EmpathyClock": {**rec.clock_note(), "units": None,
                             "sync_uncertainty_us": sync["sync_uncertainty_us"] if sync
                             else None}}, indent=2))
        rows = sorted(events + faults.get(seat.seat_id, []), key=lambda r: r["onset"])
        with open(f"{base}_events.tsv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, list(rows[0]) if rows else ["onset", "duration",
                                                               "trial_type"],
                               delimiter="\t", lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
        written.append(Path(f"{base}_events.tsv"))
    return written
