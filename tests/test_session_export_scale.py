"""A long show's export is written as it is read: its memory does not grow with the show (a
1,000-seat cinema's three hours are 108 million samples). Measured in Python's allocations,
not timed. CSV: holding every row, 20,000 samples peaked at ~7.6 MB (60,000: 22.9 MB), row by
row 0.17 MB. Parquet: whole 9.0 MB, in row groups of 1,000 rows 0.45 MB."""

import csv
import tracemalloc

import pytest

from empathy.host.session import store
from empathy.host.session.exports import table
from empathy.host.session.store import Recorder
from empathy.wire import SeatSample

N = 20_000


@pytest.fixture(scope="module")
def long_show(tmp_path_factory):
    """N samples; heart rate 0 (an int: no value) or a float, pupil an int throughout, so a
    column's type comes from all its rows, not its first."""
    rec = Recorder(tmp_path_factory.mktemp("s"), {"story": "t"})
    rec("samples", [SeatSample(1, i % 50, i, i * 100, 0 if i % 9 == 0 else 70.5 + i % 7, 40.0,
                               4, 0.1, 0.0, 6, 0.5, 0) for i in range(N)])
    rec.event("segment", {"segment": "arrival"}, ts_us=1)
    rec.close()
    return rec.path


def _peak(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_csv_export_holds_no_table_in_memory(long_show, tmp_path):
    written, peak = _peak(lambda: table.write(long_show, tmp_path / "out", "csv"))
    assert peak < 2_000_000, peak
    samples = next(p for p in written if p.name.endswith(".samples.csv"))
    with open(samples, newline="") as f:
        rows = list(csv.reader(f))
    cols, stored = store.read(long_show, "samples")
    assert rows[0] == cols and rows[1:] == [[str(v) for v in r] for r in stored]


def test_parquet_export_holds_one_row_group_in_memory(long_show, tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setattr(table, "BATCH", 1000, raising=False)
    table.write(long_show, tmp_path / "warm", "parquet")  # pyarrow's first write imports pandas
    written, peak = _peak(lambda: table.write(long_show, tmp_path / "out", "parquet"))
    assert peak < 3_000_000, peak
    for t in store.TABLES:  # as one table written whole (the export before row groups)
        cols, rows = store.read(long_show, t)
        whole = pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})
        (got,) = [p for p in written if p.name.endswith(f".{t}.parquet")]
        assert pq.read_table(got).equals(whole), t
    types = pq.read_schema(next(p for p in written if ".samples." in p.name))
    assert str(types.field("hr_bpm").type) == "double" and str(types.field("pupil_mm").type) == "int64"


@pytest.mark.parametrize("fmt", ["xdf", "edf", "bids"])
def test_seat_exports_read_a_seat_at_a_time(long_show, tmp_path, monkeypatch, fmt):
    """XDF, EDF+ and BIDS hold one seat's samples (and EDF+ a minute of records), not the
    session: 20,000 samples of 50 seats peaked at 10.6 MB held whole, 0.4-0.8 MB a seat at a
    time. The same bytes as an export that read the whole session first (cmp, bench_export)."""
    from empathy.host.session.exports import export, recording

    monkeypatch.setattr(recording, "FETCH", 500, raising=False)
    export(long_show, tmp_path / "warm", fmt)  # the format's libraries imported, untraced
    written, peak = _peak(lambda: export(long_show, tmp_path / "out", fmt))
    assert peak < 3_000_000, peak
    assert [p.read_bytes() for p in written] == [
        (tmp_path / "warm" / p.relative_to(tmp_path / "out")).read_bytes() for p in written]


def test_edf_refuses_more_seats_than_edflib_holds_before_reading_them(tmp_path):
    from empathy.host.session.exports import export

    rec = Recorder(tmp_path / "s", {"story": "t"})
    rec("samples", [SeatSample(1, seat, 0, 10**9, 70.0) for seat in range(80)])
    rec.close()
    with pytest.raises(ValueError, match="80 seats: EDF\\+ holds 79 "):
        export(rec.path, tmp_path / "out", "edf")
    assert not list((tmp_path / "out").glob("*"))


def test_bids_events_of_a_long_looping_show_take_one_pass(tmp_path):
    """An installation whose story loops is one session for its whole run: 16,000 segment
    starts are 33 hours of a 7.5-s loop. Each segment's end was found by scanning every start:
    18 CPU-s here (32,000 in an export: 89 s); one pass back over them: 0.07 s."""
    import time

    from empathy.host.session.exports import bids
    from empathy.host.session.exports.recording import load

    rec = Recorder(tmp_path, {"story": "t"})
    rec("samples", [SeatSample(1, 1, 0, 10**9, 70.0, 40.0, 4, 0.1, 0.0, 6, 0.5, 0)])
    for i in range(16_000):
        t = 10**9 + i * 7_500_000
        rec.event("segment", {"segment": "loop", "start_us": t}, ts_us=t)
    rec.close()
    recording = load(rec.path)
    cpu = time.process_time()
    rows = bids._events(recording)
    cpu = time.process_time() - cpu
    assert len(rows) == 16_000 and rows[0]["duration"] == 7.5 and rows[-1]["duration"] == 0.0
    assert cpu < 3.0, cpu  # (0.07 s here: 40x that on a slow, loaded machine)
