"""`empathy signal hr|hrv` on recordings as exports pack them (edge/signal_packed.py):
Strava's bulk export (activities/NNN.fit.gz, .gpx.gz beside activities.csv), Garmin
Connect's 'Export Original' (a zip of one .fit). The packed files are real FIT files
(python-fitparse's, tests/data/signal/README.md) packed here with Python's gzip and zipfile,
the writers those exports' formats are; each reads as the file itself. Hostile archives
(cut short, bombs, names leaving the archive) are refused in one line."""

import gzip
import io
import zipfile
from pathlib import Path

import pytest
from signal_run import ok, refused


DATA = Path(__file__).parent / "data" / "signal"
RUN = DATA / "garmin-fenix-5-run.fit"  # hrv messages: beats
BIKE = DATA / "garmin-fenix-5-bike.fit"  # records' heart rate only


def gz(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data))
    return path


def zipped(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_strava_s_fit_gz_reads_as_the_fit_itself(tmp_path, capsys):
    """Before: 'gzip-compressed, not text: gunzip it first'."""
    packed = gz(tmp_path / "8931234.fit.gz", RUN.read_bytes())
    assert ok(capsys, "hrv", packed) == ok(capsys, "hrv", RUN)
    assert ok(capsys, "hr", gz(tmp_path / "1.fit.gz", BIKE.read_bytes())) == ok(capsys, "hr", BIKE)


def test_a_garmin_connect_zip_of_one_fit_reads_as_the_fit(tmp_path, capsys):
    packed = zipped(tmp_path / "12345678.zip", {"12345678_ACTIVITY.fit": RUN.read_bytes()})
    assert ok(capsys, "hrv", packed) == ok(capsys, "hrv", RUN)


def test_a_gzipped_track_reads_as_the_track(tmp_path, capsys):
    gpx = ('<?xml version="1.0"?><gpx version="1.1" xmlns:gpxtpx="http://www.garmin.com/'
           'xmlschemas/TrackPointExtension/v1"><trk><trkseg>' + "".join(
               f'<trkpt lat="1" lon="2"><time>2024-05-01T10:00:{s:02d}Z</time><extensions>'
               f'<gpxtpx:TrackPointExtension><gpxtpx:hr>{60 + s % 7}</gpxtpx:hr>'
               '</gpxtpx:TrackPointExtension></extensions></trkpt>' for s in range(40))
           + "</trkseg></trk></gpx>")
    plain = tmp_path / "a.gpx"
    plain.write_text(gpx)
    assert ok(capsys, "hr", gz(tmp_path / "77.gpx.gz", gpx.encode())) == ok(capsys, "hr", plain)


def test_strava_s_export_zip_names_its_activities_and_reads_the_one_asked(tmp_path, capsys):
    """Strava's bulk export: activities.csv and activities/NNN.fit.gz; several activities
    are not guessed between: the refusal names them, --member reads one (by its path in the
    zip or its name). One activity among other files is read."""
    fit_gz = gzip.compress(RUN.read_bytes())
    export = zipped(tmp_path / "export_1234.zip", {
        "activities.csv": "Activity ID,Activity Date,Filename\n",
        "activities/101.fit.gz": fit_gz, "activities/102.fit.gz": gzip.compress(
            BIKE.read_bytes()), "profile.csv": "Athlete ID\n"})
    err = refused(capsys, "hrv", export)
    assert "2 activities" in err and "activities/101.fit.gz" in err and "--member" in err
    assert ok(capsys, "hrv", export, "--member", "activities/101.fit.gz") == ok(capsys, "hrv", RUN)
    assert ok(capsys, "hr", export, "--member", "102.fit.gz") == ok(capsys, "hr", BIKE)
    assert "no members named" in refused(capsys, "hr", export, "--member", "9.fit.gz")
    one = zipped(tmp_path / "one.zip", {"activities.csv": "x\n", "activities/101.fit.gz": fit_gz})
    assert ok(capsys, "hrv", one) == ok(capsys, "hrv", RUN)
    garmin = zipped(tmp_path / "garmin.zip", {"DI_CONNECT/UploadedFiles_0-_Part1.zip":
                                              export.read_bytes(), "DI_CONNECT/a.json": "{}"})
    err = refused(capsys, "hrv", garmin, "--member", "UploadedFiles_0-_Part1.zip")
    assert "2 files in DI_CONNECT/UploadedFiles_0-_Part1.zip" in err  # (one zip in: named)
    err = refused(capsys, "hrv", garmin, "--member",
                  "DI_CONNECT/UploadedFiles_0-_Part1.zip/activities/101.fit.gz")
    assert "packed again inside a zip inside the zip" in err  # (never three deep)


def test_an_error_inside_an_archive_names_the_archive_not_a_temporary_file(tmp_path, capsys):
    cut = RUN.read_bytes()[:300]  # a FIT cut inside its first messages
    err = refused(capsys, "hrv", zipped(tmp_path / "a.zip", {"x/run.fit": cut}))
    assert f"{tmp_path / 'a.zip'}:x/run.fit:" in err and "/empathy-signal-" not in err


def test_hostile_archives_are_refused_in_one_line(tmp_path, capsys):
    data = gzip.compress(RUN.read_bytes())
    (tmp_path / "cut.fit.gz").write_bytes(data[:len(data) // 2])
    assert "cut-short" in refused(capsys, "hrv", tmp_path / "cut.fit.gz")
    (tmp_path / "bad.fit.gz").write_bytes(data[:10] + bytes(50) + data[60:])
    assert "damaged" in refused(capsys, "hrv", tmp_path / "bad.fit.gz")
    # 100 MiB of zeros in 100 KB: refused once 200x its size is out, not written whole
    zeros = io.BytesIO()
    with gzip.GzipFile(fileobj=zeros, mode="wb", compresslevel=9) as g:
        for _ in range(100):
            g.write(bytes(1 << 20))
    (tmp_path / "bomb.fit.gz").write_bytes(zeros.getvalue())
    assert "zip bomb" in refused(capsys, "hrv", tmp_path / "bomb.fit.gz")
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("a.fit", "w") as f:
            for _ in range(100):
                f.write(bytes(1 << 20))
    assert "zip bomb" in refused(capsys, "hr", tmp_path / "bomb.zip")
    evil = zipped(tmp_path / "evil.zip", {"../../etc/cron.d/x.fit": RUN.read_bytes()})
    assert "outside" in refused(capsys, "hrv", evil)
    assert not (tmp_path.parent.parent / "etc").exists()
    crc = bytearray(zipped(tmp_path / "c.zip", {"a.fit": RUN.read_bytes()}).read_bytes())
    crc[60:64] = b"\0\0\0\0"  # inside the deflated data
    (tmp_path / "crc.zip").write_bytes(bytes(crc))
    assert "archive" in refused(capsys, "hrv", tmp_path / "crc.zip")
    assert "no zip" in refused(capsys, "hrv", RUN, "--member", "a.fit")


@pytest.mark.parametrize("entity", ['<!ENTITY x SYSTEM "file:///etc/passwd">',
                                    '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">'])
def test_a_track_declaring_entities_is_refused_gzipped_or_not(tmp_path, capsys, entity):
    """An external entity (XXE) or an entity bomb in a GPX: refused before it is parsed."""
    gpx = (f'<?xml version="1.0"?>\n<!DOCTYPE gpx [ {entity} ]>\n<gpx version="1.1"><trk>'
           '<trkseg><trkpt lat="1" lon="2"><time>2024-05-01T10:00:00Z</time><extensions>'
           '<hr>&x;</hr></extensions></trkpt></trkseg></trk></gpx>\n')
    (tmp_path / "a.gpx").write_text(gpx)
    assert "declares entities" in refused(capsys, "hr", tmp_path / "a.gpx")
    assert "declares entities" in refused(capsys, "hr", gz(tmp_path / "a.gpx.gz", gpx.encode()))


def test_strava_s_tcx_with_its_leading_spaces_reads(tmp_path, capsys):
    """Strava's exported TCX (activities/NNN.tcx.gz) starts with ten spaces before '<?xml'
    (GoldenCheetah issue 3149, gpsbabel issue 371, sweatpy issue 99: 'XML or text
    declaration not at start of entity'). Before: that error. Its heart rate reads as the
    same track's without them."""
    tcx = ('<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase\n  xmlns="http://'
           'www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">\n<Activities><Activity '
           'Sport="Biking"><Id>2024-05-01T10:00:00Z</Id><Lap StartTime="2024-05-01T10:00:00Z">'
           '<Track>' + "".join(f'<Trackpoint><Time>2024-05-01T10:00:{s:02d}Z</Time>'
                               f'<HeartRateBpm><Value>{70 + s % 4}</Value></HeartRateBpm>'
                               '</Trackpoint>' for s in range(30))
           + '</Track></Lap></Activity></Activities></TrainingCenterDatabase>\n')
    (tmp_path / "clean.tcx").write_text(tcx)
    strava = gz(tmp_path / "5112.tcx.gz", (" " * 10 + tcx).encode())
    assert ok(capsys, "hr", strava) == ok(capsys, "hr", tmp_path / "clean.tcx")


def test_an_empty_zip_says_so(tmp_path, capsys):
    """A zip of nothing begins with its directory's end, not a member: it was read as text
    ('header but no samples')."""
    p = tmp_path / "export.zip"
    zipfile.ZipFile(p, "w").close()
    assert "an empty zip archive" in refused(capsys, "hrv", p)
