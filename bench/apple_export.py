"""Reading users' big exports (edge/signal_apple.py, signal_packed.py): peak memory and
time of `empathy signal hr|hrv` on

- an Apple Health export.xml of N heart-rate records over days from three sources (the
  Watch every 5 min, a workout a day from Polar Flow at a reading a second, the iPhone's
  few), dates in 12-hour form ('9:15:02 PM') in every other record, and an HRV session
  a day, written to a temporary folder, read as export.xml and as export.zip;
- a Garmin Connect account export holding two UploadedFiles_0-_PartN.zip of activities,
  one of them read by --member outer/inner/name.

Each figure is a fresh Python process's peak RSS (ru_maxrss of the child: the
interpreter and numpy count); seconds are the call's own, on this (shared) machine.

    python -m empathy.bench.apple_export [--records 600000] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

from empathy.cli import number_in

CHILD = ("import resource, sys, time; from empathy import cli; t0 = time.perf_counter(); "
         "rc = cli.main(sys.argv[1:]); print(rc, time.perf_counter() - t0, "
         "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n<!ELEMENT HealthData '
        '(ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>\n]>\n'
        '<HealthData locale="en_US">\n <ExportDate value="2024-05-03 08:00:00 -0500"/>\n')
DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "signal"


def _date(t: datetime, twelve: bool) -> str:
    if not twelve:
        return t.strftime("%Y-%m-%d %H:%M:%S -0500")
    return (f"{t:%Y-%m-%d} {(t.hour - 1) % 12 + 1}:{t:%M:%S} "
            f"{'AM' if t.hour < 12 else 'PM'} -0500")


def write_export(path: Path, records: int) -> None:
    """A day: 288 Watch readings, a 1-h workout at a reading a second (Polar Flow) and the
    Watch's every 5 s beside it, 3 iPhone readings, one HRV session of 60 beats."""
    per_day = 288 + 3600 + 720 + 3
    day0 = datetime(2020, 1, 1)
    with open(path, "w") as f:
        f.write(HEAD)
        for d in range(max(1, records // per_day)):
            day = day0 + timedelta(days=d)
            rows = [(day + timedelta(minutes=5 * k), "Ann’s Apple Watch", 60 + k % 7)
                    for k in range(288)]
            gym = day.replace(hour=18)
            rows += [(gym + timedelta(seconds=k), "Polar Flow", 140 + k % 9) for k in range(3600)]
            rows += [(gym + timedelta(seconds=5 * k), "Ann’s Apple Watch", 132 + k % 9)
                     for k in range(720)]
            rows += [(day.replace(hour=h), "Ann’s iPhone", 70) for h in (9, 12, 15)]
            for k, (t, src, v) in enumerate(rows):
                s = _date(t, k % 2 == 1)
                f.write(f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="{src}" '
                        f'unit="count/min" creationDate="{s}" startDate="{s}" endDate="{s}" '
                        f'value="{v}"/>\n')
            t = day.replace(hour=22)
            beats = "".join(f'   <InstantaneousBeatsPerMinute bpm="{75 + k % 3}" time="'
                            f'{10 + 0}:{(k * 8) // 600:02d}:{(k * 8) % 600 / 10:05.2f} PM"/>\n'
                            for k in range(60))
            f.write(f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" '
                    f'sourceName="Ann’s Apple Watch" unit="ms" startDate="{_date(t, True)}" '
                    f'endDate="{_date(t, True)}" value="41.5">\n  <HeartRateVariabilityMetadata'
                    f'List>\n{beats}  </HeartRateVariabilityMetadataList>\n </Record>\n')
        f.write("</HealthData>\n")


def write_garmin(path: Path) -> str:
    fit = (DATA / "garmin-fenix-5-run.fit").read_bytes()
    part = "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part{}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n in (1, 2):
            inner = path.with_name(f"part{n}.zip")
            with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as p:
                for k in range(200):
                    p.writestr(f"ann@example.com_{n}{k:09d}.fit", fit)
            z.write(inner, part.format(n))
    return part.format(1) + "/ann@example.com_1000000007.fit"


def run(*args) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, "signal", *map(str, args), "--json"],
                       capture_output=True, text=True, check=False)
    rc, s, kb = r.stderr.strip().splitlines()[-1].split()
    return {"rc": int(rc), "s": round(float(s), 2), "peak_mb": round(int(kb) / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=number_in(int, 1, 10_000_000), default=600_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "export.xml"
        write_export(xml, args.records)
        out["export_mb"] = round(xml.stat().st_size / 2**20, 1)
        z = Path(tmp) / "export.zip"
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as f:
            f.write(xml, "apple_health_export/export.xml")
        for name, p in (("xml", xml), ("zip", z)):
            out[f"hr_{name}"] = run("hr", p)
            out[f"hrv_{name}"] = run("hrv", p)
        out["hr_xml_source"] = run("hr", xml, "--source", "watch")
        g = Path(tmp) / "garmin_export.zip"
        member = write_garmin(g)
        out["garmin_member"] = run("hrv", g, "--member", member)
        out["garmin_list"] = run("hrv", g)
    print(json.dumps(out) if args.json else "\n".join(f"{k:15} {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
