"""EDF+ export: one signal per seat and measure at 10 Hz, events as annotations.

EDF+ is what clinical viewers (EDFbrowser) and MNE read. Every signal shares one time base:
the file starts at the earliest sample (the resting baseline) and an annotation marks the
film's first frame. EDF has no missing value, so a cell without a value holds the signal's
physical minimum, set just below its real range (a real value is never clipped onto it);
readers can turn it into NaN. Labels are `<seat pseudonym> <measure>` (EDF allows 16
characters). Annotation texts are cut to 40 characters (the decision's full reason is in the
XDF and BIDS exports). Each seat's sensor fault is an annotation with its duration, "seat 12
fault lead_off": that stretch of the seat's signals is no body's.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from empathy.host.session.exports.recording import MEASURES, RATE_HZ, Recording, grid

SHORT = {"hr_bpm": "HR", "rmssd_ms": "RMSSD", "pupil_mm": "pupil", "arousal": "arousal",
         "valence": "valence", "expression": "expr", "expression_conf": "expr conf",
         "flags": "flags"}
TEXT_MAX = 40  # what pyedflib (EDFlib) keeps of an annotation
RECORDS = 60  # 1-s records handed to pyedflib at a time
# EDFlib's limit, 640, counts its annotation signal when it reads a file back (its writer
# takes 640 and adds one: a file pyedflib could not open)
MAX_SIGNALS = 639


def _no_value(lo: float, hi: float) -> float:
    return lo - (hi - lo) / 1000


def _start(rec: Recording) -> datetime:
    try:
        return datetime.strptime(rec.meta.get("started_utc", ""), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def write(rec: Recording, out: Path) -> list[Path]:
    if not rec.seats:
        raise ValueError(f"session {rec.session} has no seat samples: no signal for EDF+")
    if len(rec.seats) * len(MEASURES) > MAX_SIGNALS:  # said before hours of gridding
        raise ValueError(f"session {rec.session} has {len(rec.seats)} seats: EDF+ holds "
                         f"{MAX_SIGNALS // len(MEASURES)} (EDFlib's 640 signals, its "
                         "annotations one): export bids, xdf, csv or parquet")
    out.mkdir(parents=True, exist_ok=True)
    dest = out / f"{rec.session}.edf"
    lo_us, hi_us = rec.span_us()
    step = int(1e6 / RATE_HZ)
    n = max(1, int(np.ceil((hi_us - lo_us + 1) / 1e6)) * int(RATE_HZ))  # whole records
    t = lo_us + np.arange(n, dtype=np.int64) * step
    headers = [{"label": f"{seat.label} {SHORT[m.field]}"[:16], "dimension": m.unit[:8],
                "sample_frequency": RATE_HZ, "physical_min": _no_value(m.lo, m.hi),
                "physical_max": m.hi, "digital_min": -32768, "digital_max": 32767,
                "transducer": "Empathy Engine edge unit", "prefilter": "fused at the edge"}
               for seat in rec.seats for m in MEASURES]
    # EDF interleaves every signal in each 1-s record, but samples come a seat at a time: the
    # gridded signals wait on disk (a 1,000-seat 3-h show's are 7 GB), then go out by records.
    with tempfile.TemporaryFile(dir=out) as spill:
        for s in rec.series():  # signal after signal, each n float64
            g = grid(s, t)
            for m in MEASURES:
                v = np.clip(g[m.field], m.lo, m.hi)
                spill.write(np.where(np.isfinite(v), v, _no_value(m.lo, m.hi)).tobytes())
        spill.flush()
        _write(rec, dest, headers, spill.fileno(), n, lo_us)
    return [dest]


def _write(rec: Recording, dest: Path, headers: list[dict], spill: int, n: int, lo_us: int):
    import pyedflib

    w = pyedflib.EdfWriter(str(dest), len(headers), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        w.setSignalHeaders(headers)
        w.setStartdatetime(_start(rec))
        w.setPatientCode(f"session_{rec.label}"[:80])
        w.setEquipment("Empathy_Engine")
        w.setRecordingAdditional(f"{rec.title}_seats={len(rec.seats)}".replace(" ", "_")[:80])
        rate = int(RATE_HZ)
        per = RECORDS * rate
        for a in range(0, n, per):  # whole records (n is)
            k = min(per, n - a)
            block = np.empty((len(headers), k))
            for i, row in enumerate(block):
                row[:] = np.frombuffer(os.pread(spill, 8 * k, 8 * (i * n + a)), np.float64)
            # A record is every signal's second in turn: (signals, records, rate) ->
            # (records, signals, rate). writeSamples built each record by np.append signal
            # after signal, copying it again for each: time squared in the signals.
            for record in np.ascontiguousarray(
                    block.reshape(len(headers), k // rate, rate).transpose(1, 0, 2)):
                if w.blockWritePhysicalSamples(record.ravel()) < 0:
                    raise OSError(f"{dest}: EDFlib could not write a data record")
        w.writeAnnotation(max(0.0, (rec.t0_us - lo_us) / 1e6), -1, "film start (time zero)")
        for m in rec.markers:
            w.writeAnnotation(max(0.0, (m.ts_us - lo_us) / 1e6), -1, m.text()[:TEXT_MAX])
        end = rec.span_us()[1]
        for f in rec.faults:
            w.writeAnnotation(max(0.0, (f.start_us - lo_us) / 1e6),
                              max(0, f.end_or(end) - f.start_us) / 1e6, f.label()[:TEXT_MAX])
    finally:
        w.close()
