"""Writes the watch and app example files beside it from the heart corpus's tuning RR series
(never a held-out one): Garmin FIT files written with fit-tool (`pip install fit-tool`), not
with fitdecode, which reads them; Polar Sensor Logger's HR.txt and PPI.txt, HRV Logger's
RR.csv.
Run once: `python tests/data/signal/make_apps.py`. Layouts and sources: README.md here."""

import io
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from fit_tool.fit_file_builder import FitFileBuilder
from fit_tool.profile.messages.beat_intervals_message import BeatIntervalsMessage
from fit_tool.profile.messages.event_message import EventMessage
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.hrv_message import HrvMessage
from fit_tool.profile.messages.record_message import RecordMessage
from fit_tool.profile.profile_type import Event, EventType, FileType, Manufacturer

HERE = Path(__file__).parent
CACHE = Path(__file__).parents[3] / "cache" / "heart-corpus"
START = datetime(2023, 3, 14, 10, 12, 31, tzinfo=timezone.utc)
FIT_RR = 398  # pyhrv-nni-long's first intervals (5.6 min; the last message 3 of 5): 4 KB


def corpus_rr(dist: str, name: str) -> np.ndarray:
    with tarfile.open(CACHE / dist) as t:
        data = t.extractfile(name).read()
    if name.endswith(".npy"):
        return np.load(io.BytesIO(data)).astype(float)
    return np.loadtxt(io.BytesIO(data), skiprows=1, delimiter=",")[:, 1]


def rate_each_second(rr_ms: np.ndarray) -> list[tuple[int, int]]:
    """(s from the start, bpm) a second, as a strap reports: the last interval's rate."""
    beats = np.cumsum(rr_ms) / 1000
    return [(s, round(60000 / rr_ms[np.searchsorted(beats, s) - 1]))
            for s in range(1, int(beats[-1]))]


def fit(rr_ms: np.ndarray, start: datetime, hrv: bool = True, beat_intervals: bool = False
        ) -> bytes:
    """An activity as a Garmin watch writes it: file_id, timer start, a record a second
    with heart_rate, hrv messages of five intervals (s) between them as the beats come (the
    last one's empty slots 0xFFFF), timer stop. With beat_intervals, FIT message 290 in
    their place: after each record, the intervals (ms) of the beats in that second, stamped
    (timestamp, timestamp_ms) at the first of them."""
    ms0 = round(start.timestamp() * 1000)
    b = FitFileBuilder(auto_define=True)
    m = FileIdMessage()
    m.type, m.manufacturer, m.product = FileType.ACTIVITY, Manufacturer.GARMIN.value, 2697
    m.time_created, m.serial_number = ms0, 3_900_000_001
    b.add(m)
    b.add(_event(EventType.START, ms0))
    beats = np.cumsum(rr_ms) / 1000
    done = 0  # intervals written
    for s, bpm in rate_each_second(rr_ms) + [(np.inf, None)]:
        if bpm is not None:
            r = RecordMessage()
            r.timestamp, r.heart_rate = ms0 + 1000 * s, bpm
            b.add(r)
        if beat_intervals and done < (upto := int(np.searchsorted(beats, s, "right"))):
            m = BeatIntervalsMessage()
            first = ms0 + round(1000 * beats[done] - rr_ms[done])
            m.timestamp, m.timestamp_ms = first - first % 1000, first % 1000
            m.time = [int(v) for v in rr_ms[done:upto]]
            b.add(m)
            done = upto
        while hrv and not beat_intervals and done < len(rr_ms) and beats[min(done + 4, len(rr_ms) - 1)] <= s:
            h = HrvMessage()
            five = list(rr_ms[done:done + 5] / 1000)
            h.time = five + [None] * (5 - len(five))
            b.add(h)
            done += len(five)
    b.add(_event(EventType.STOP_ALL, ms0 + round(1000 * beats[-1])))
    return b.build().to_bytes()


def _event(kind, ms: int) -> EventMessage:
    e = EventMessage()
    e.event, e.event_type, e.timestamp = Event.TIMER, kind, ms
    return e


def polar_hr(rr_ms: np.ndarray) -> None:
    """Polar Sensor Logger's HR.txt: a reading a second; a row ends after the last field
    the app has (HRV, its own RMSSD, only now and then; breathing rarely)."""
    with open(HERE / "polar_h10_HR.txt", "w") as f:
        f.write("Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];\n")
        for s, bpm in rate_each_second(rr_ms):
            stamp = (START + timedelta(seconds=s, milliseconds=37)).strftime(
                "%Y-%m-%dT%H:%M:%S.%f")[:-3]
            more = ";42.5;" if s % 5 == 0 else ";41.8;14.2;" if s % 17 == 0 else ""
            f.write(f"{stamp};{bpm}{more}\n")


def hrv_logger(rr_ms: np.ndarray) -> None:
    """HRV Logger's RR.csv: 'date, rr, since start', the date to the second with its zone,
    'since start' the ms before each interval; no newline at the end."""
    since = np.concatenate(([0], np.cumsum(rr_ms)[:-1])).astype(int)
    rows = [f"{(START + timedelta(milliseconds=int(t))).strftime('%Y-%m-%d %H:%M:%S +0000')}"
            f", {int(v)}, {t}" for v, t in zip(rr_ms, since)]
    (HERE / "hrv_logger_RR.csv").write_text("date, rr, since start\n" + "\n".join(rows))


def polar_ppi(rr_ms: np.ndarray) -> None:
    """Polar Sensor Logger's PPI.txt (Verity Sense): a row a pulse interval, its error
    estimate, blocker (1: motion spoilt it; here at 3 intervals), skin contact, contact
    supported, the sensor's rate; the phone stamps each notification (a few beats)."""
    blocked = {30, 31, 77}
    with open(HERE / "polar_verity_PPI.txt", "w") as f:
        f.write("Phone Data RX timestamp;PP-interval [ms];error estimate [ms];blocker;contact;"
                "contact;hr [bpm]\n")
        t = np.cumsum(rr_ms)
        for k, v in enumerate(rr_ms):
            sent = START + timedelta(milliseconds=float(t[k - k % 4 + 3 if k - k % 4 + 3 <
                                                         len(t) else -1]) + 80)
            f.write(f"{sent.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]};{int(v)};{5 + k % 3};"
                    f"{int(k in blocked)};1;1;{round(60000 / v)}\n")


if __name__ == "__main__":
    long = corpus_rr("pyhrv-0.5.0.tar.gz", "pyhrv-0.5.0/pyhrv/files/SampleNNISeriesLong.npy")
    (HERE / "garmin_hrv.fit").write_bytes(fit(long[:FIT_RR], START))
    (HERE / "garmin_hr_only.fit").write_bytes(fit(long[:FIT_RR], START, hrv=False))
    (HERE / "garmin_beat_intervals.fit").write_bytes(fit(long[:FIT_RR], START,
                                                         beat_intervals=True))
    # two activities chained in one file, the second a minute after the first ends
    half = FIT_RR // 2
    later = START + timedelta(seconds=float(np.sum(long[:half])) / 1000 + 60)
    (HERE / "garmin_chained.fit").write_bytes(fit(long[:half], START)
                                              + fit(long[half:FIT_RR], later))
    rr = np.round(corpus_rr("systole-0.3.1.tar.gz",
                            "systole-0.3.1/src/systole/datasets/rr.txt")[:120])
    polar_hr(rr)
    hrv_logger(rr)
    polar_ppi(rr)
