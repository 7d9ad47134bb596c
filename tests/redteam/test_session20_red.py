"""Red team, session 20: what was built this session (packed and app files for `empathy
signal`, the unit's state writer, the seat's arousal) attacked as a hostile file, user or
network would. Each finding: the attack as a real file or a real process, then the fix.
A file a user gives is read or refused in one line with a non-zero exit; never a traceback,
all the memory, or a rule it states bypassed."""

import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

RECORD = ('<Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" '
          'unit="count/min" startDate="2024-05-01 10:{m:02d}:00 +0000" '
          'endDate="2024-05-01 10:{m:02d}:00 +0000" value="{v}"/>\n')
DTD = '<!DOCTYPE HealthData [\n<!ELEMENT HealthData ANY>\n{extra}]>\n'


def export_xml(records: str, *, head: str = "", extra: str = "", between: str = "") -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + head + DTD.format(extra=extra)
            + "<HealthData>\n" + records + between + "</HealthData>\n")


def export_zip(p: Path, data: bytes) -> Path:
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("apple_health_export/export.xml", data)
    return p


def signal(*args, timeout=120):
    """The CLI in its own process (a reader that hangs fails the test, not the suite)."""
    return subprocess.run([sys.executable, "-m", "empathy.cli", "signal", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def refused(*args) -> str:
    r = signal(*args)
    assert r.returncode == 1 and "Traceback" not in r.stderr, (r.returncode, r.stdout,
                                                              r.stderr[-2000:])
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr[-2000:]
    return r.stderr


RATES = "".join(RECORD.format(m=m, v="&bpm;") for m in range(30))
ENTITY = '<!ENTITY bpm "70">\n'


def test_an_apple_export_in_utf16_cannot_slip_an_entity_past_the_refusal(tmp_path):
    """Entity declarations are refused (an entity bomb); the check looked for the bytes
    '<!ENTITY' in UTF-8 only, so the same export.zip in UTF-16 (which expat reads) had its
    entities expanded: 70 bpm read from '&bpm;'."""
    text = export_xml(RATES, extra=ENTITY).replace('"UTF-8"', '"UTF-16"')
    err = refused("hr", export_zip(tmp_path / "export.zip", text.encode("utf-16")), "--json")
    assert "entities" in err


def test_an_entity_declaration_across_two_chunks_is_refused(tmp_path):
    """The prolog was scanned as its newest 1 MiB: a '<!ENTITY' cut by the stream's 1-MiB
    chunk, with a full chunk after it, fell out of the window unscanned and was expanded."""
    lead = '<?xml version="1.0" encoding="UTF-8"?>\n<!--'
    dtd = DTD.format(extra=ENTITY)
    pad = (1 << 20) - len(lead) - 3 - dtd.index("<!ENTITY") - 4  # '<!EN' | 'TITY'
    text = export_xml(RATES, head=" " * pad, extra=ENTITY, between="<Pad/>" * 300_000)
    text = lead + text[len('<?xml version="1.0" encoding="UTF-8"?>\n'):].replace(
        "<!DOCTYPE", "-->" + "<!DOCTYPE", 1)
    data = text.encode()
    assert data.index(b"<!ENTITY") == (1 << 20) - 4 and len(data) > 2 << 20
    err = refused("hr", export_zip(tmp_path / "export.zip", data), "--json")
    assert "entities" in err


def test_an_element_holding_millions_is_refused_not_held_in_memory(tmp_path):
    """Records are let go as each ends; an element that never ends (a 12-MB export.xml of
    one <X> holding 3 million <a/>) was held whole: +290 MB of memory, ~20x the file (a
    1-GB file, 200x from a 5-MB zip, is 20 GB). Apple's records hold tens of elements."""
    p = tmp_path / "export.xml"
    p.write_text(export_xml(RECORD.format(m=0, v=70), between="<X>" + "<a/>" * 300_000
                            + "</X>"))
    err = refused("hr", p, "--json")
    assert "elements" in err


def tcx(points: str, *, head: str = "", extra: str = "") -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + head
            + "<TrainingCenterDatabase><Activities><Activity><Lap><Track>" + points + extra
            + "</Track></Lap></Activity></Activities></TrainingCenterDatabase>\n")


def trackpoints(value: str) -> str:
    return "".join(f"<Trackpoint><Time>2024-05-01T10:00:{s:02d}Z</Time><HeartRateBpm>"
                   f"<Value>{value}</Value></HeartRateBpm></Trackpoint>" for s in range(40))


def test_a_tcx_cannot_hide_its_entity_declaration_past_its_first_megabyte(tmp_path):
    """TCX/GPX looked for '<!ENTITY' in their first 1 MiB only: a comment of 1 MiB (naming
    the root, so the file is taken for a track) put the DTD past it, and '&v;' read 70."""
    p = tmp_path / "ride.tcx"
    p.write_text(tcx(trackpoints("&v;"), head="<!-- <TrainingCenterDatabase> " + " " * (1 << 20)
                     + "-->\n<!DOCTYPE TrainingCenterDatabase [<!ENTITY v \"70\">]>\n"))
    assert "entities" in refused("hr", p, "--json")


def test_a_tcx_of_millions_of_elements_is_not_held_in_memory(tmp_path):
    """Trackpoints were cleared but kept (empty) in their Track, and all else kept whole: a
    12-MB TCX with 3 million <a/> took +260 MB (and a 1-GiB gzip bomb's cap, ~20 GB)."""
    p = tmp_path / "ride.tcx"
    p.write_text(tcx(trackpoints("70"), extra="<a/>" * 300_000))
    assert "elements" in refused("hr", p, "--json")


def test_a_day_long_track_of_more_points_than_the_cap_is_read(tmp_path):
    """The points themselves are let go as each is read: 30 hours at 1 s is read whole."""
    n = 110_000
    p = tmp_path / "day.tcx"
    t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    p.write_text(tcx("".join(f"<Trackpoint><Time>{(t0 + timedelta(seconds=s)).isoformat()}"
                             f"</Time><HeartRateBpm><Value>{60 + s % 2}</Value></HeartRateBpm>"
                             "</Trackpoint>" for s in range(n))))
    r = signal("hr", p, "--json")
    assert r.returncode == 0 and '"readings": 110000' in r.stdout, r.stderr[-2000:]


def hrv_session(bpms) -> str:
    beats, at = [], 36000.0
    for b in bpms:
        at += 60 / (float(b) if b != "NaN" else 60.0)
        beats.append(f'<InstantaneousBeatsPerMinute bpm="{b}" time="{int(at // 3600) % 12}:'
                     f'{int(at // 60 % 60):02d}:{at % 60:05.2f} am"/>')
    return ('<Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="Watch"'
            ' unit="ms" startDate="2024-05-01 10:00:00 +0000" endDate="2024-05-01 10:01:00 '
            '+0000" value="40"><HeartRateVariabilityMetadataList>' + "".join(beats)
            + "</HeartRateVariabilityMetadataList></Record>\n")


def test_an_apple_beat_of_nan_bpm_is_refused_not_read_as_its_time_alone(tmp_path):
    """Beats' bpm are range-checked ('a beat of no rate'); 'NaN' passed that check (NaN
    compares false both ways) and its interval was read from the times alone."""
    good = [60, 62, 64, 62, 60, 61, 63, 62, 60, 61] * 6
    p = tmp_path / "export.xml"
    p.write_text(export_xml(hrv_session(good)))
    assert signal("hrv", p, "--json").returncode == 0
    p.write_text(export_xml(hrv_session(good[:30] + ["NaN"] + good[31:])))
    assert "no rate" in refused("hrv", p, "--json")


def beat_intervals_fit(p: Path, messages: list[list[int]]) -> Path:
    """FIT message 290 (beat_intervals, uint16 ms), one a second, as fit-tool writes it."""
    fit_tool = pytest.importorskip("fit_tool")  # noqa: F841 (the writer of the test files)
    from fit_tool.fit_file_builder import FitFileBuilder
    from fit_tool.profile.messages.beat_intervals_message import BeatIntervalsMessage
    from fit_tool.profile.messages.file_id_message import FileIdMessage
    from fit_tool.profile.profile_type import FileType, Manufacturer

    ms0 = round(datetime(2024, 5, 1, 10, tzinfo=timezone.utc).timestamp() * 1000)
    b = FitFileBuilder(auto_define=True)
    m = FileIdMessage()
    m.type, m.manufacturer, m.product = FileType.ACTIVITY, Manufacturer.GARMIN.value, 2697
    m.time_created, m.serial_number = ms0, 1
    b.add(m)
    for i, ms in enumerate(messages):
        m = BeatIntervalsMessage()
        m.timestamp, m.timestamp_ms, m.time = ms0 + 1000 * i, 0, ms
        b.add(m)
    p.write_bytes(b.build().to_bytes())
    return p


@pytest.mark.parametrize("ms", [1, 65534])
def test_fit_beat_intervals_no_heart_makes_are_refused_not_reported(tmp_path, ms):
    """A text file's RR intervals are range-checked (200..10000 ms); a FIT's were not:
    message 290 of 1-ms intervals gave `signal hrv` 'mean RR 1 ms', RMSSD 0.0, exit 0
    (65534 ms: 'mean RR 65534 ms'). A watch's few artefacts are still read and corrected."""
    err = refused("hrv", beat_intervals_fit(tmp_path / "w.fit", [[ms] * 3] * 60), "--json")
    assert "intervals" in err
    few = [[800, 820, 150 if i == 30 else 810] for i in range(60)]  # (one artefact in 180)
    r = signal("hrv", beat_intervals_fit(tmp_path / "few.fit", few), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["artefacts_corrected"] >= 1, r.stderr


def test_an_apple_export_of_one_endless_tag_is_refused_not_buffered(tmp_path):
    """The parser holds a tag whole until it closes: one attribute of 100 MB took 360 MB
    (of 5 GB, the size of a real export: all the memory). Apple's tags are kilobytes."""
    p = tmp_path / "export.xml"
    p.write_text(export_xml(RECORD.format(m=0, v=70).replace("/>", ' note="' + "A" * (20 << 20)
                                                                  + '"/>')))
    assert "tag" in refused("hr", p, "--json")


def test_end_on_the_last_day_there_is_is_refused_as_the_bad_date_it_is(tmp_path):
    """--end 9999-12-31 (a date alone: to that day's end) overflowed adding the day:
    'unexpected error: OverflowError' and a crash log."""
    p = tmp_path / "export.xml"
    p.write_text(export_xml(RECORD.format(m=0, v=70)))
    r = signal("hr", p, "--end", "9999-12-31")
    assert "unexpected" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.returncode != 0 and "9999-12-31" in r.stderr.strip().splitlines()[-1], r.stderr


@pytest.mark.parametrize("date", ["0001-01-01 00:00:00 +1400", "9999-12-31 23:00:00 -1400",
                                  "2024-05-01 10:00:00 +9999"])
def test_an_apple_record_at_the_ends_of_time_or_of_no_zone_is_refused_in_one_line(tmp_path,
                                                                                  date):
    """A record's local time less its zone went past the calendar's ends ('unexpected
    error: OverflowError'), and a zone of +99:99 was read as 100 hours 39 minutes."""
    p = tmp_path / "export.xml"
    p.write_text(export_xml(RECORD.format(m=0, v=70).replace("2024-05-01 10:00:00 +0000",
                                                             date)))
    r = signal("hr", p, "--json")
    assert "unexpected" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    if date.endswith("9999"):
        assert "is not" in refused("hr", p, "--json")


def test_a_tcx_of_one_endless_tag_is_refused_not_buffered(tmp_path):
    """As Apple's: a TCX whose <Notes> hold 100 MB took ~3.5x that in memory (a .tcx.gz
    unpacks up to 1 GiB). A track's tags are bytes to kilobytes."""
    p = tmp_path / "ride.tcx"
    p.write_text(tcx(trackpoints("70"), extra="<Notes>" + "A" * (20 << 20) + "</Notes>"))
    assert "tag" in refused("hr", p, "--json")


def test_a_zip_whose_directory_lies_about_its_packed_size_is_still_a_bomb(tmp_path):
    """The bomb cap is 200x the member's packed size, as the zip's central directory says
    it: one that says 2 GB for the 64 KB holding 64 MiB of zeros (a stored member of 2 MB
    after it to read on into) had the 64 MiB unpacked in full, not refused past 16 MiB;
    up to the absolute cap of 1 GiB would be. A directory that lies is refused."""
    import struct

    p = tmp_path / "lie.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("activity.fit", b"\0" * (64 << 20))
        z.writestr("notes.txt", os.urandom(2 << 20), zipfile.ZIP_STORED)
    data = bytearray(p.read_bytes())
    struct.pack_into("<I", data, data.index(b"PK\x01\x02") + 20, 0x7FFFFFFF)
    p.write_bytes(bytes(data))
    assert "crafted zip" in refused("hr", p, "--member", "activity.fit")


def test_a_zip_member_s_name_cannot_break_the_one_line_or_drive_the_terminal(tmp_path):
    """A member's name was said as it is: one holding a newline and an escape sequence
    made the refusal two lines, the second of the zip's own words, in red."""
    p = tmp_path / "w.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("b\nall fine\x1b[31m.fit", b"junk")
    err = refused("hr", p)
    assert "\x1b" not in err
    with zipfile.ZipFile(p, "w") as z:
        for name in ("a.fit", "b\n\x1b[31m.fit"):
            z.writestr(name, b"junk")
    err = refused("hr", p)
    assert "\x1b" not in err and "--member" in err
