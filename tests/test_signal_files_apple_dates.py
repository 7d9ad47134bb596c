"""Apple Health's export from a phone set to 12-hour time: HealthKit's dates then carry the
locale's am/pm word after the time, as iOS's date formatter writes them when the user's
12-hour setting overrides a fixed 'HH' pattern (Apple's QA1480): '2024-09-28 4:51:59 pm
+1000' (en_AU) and, from iOS 17, '7:57:00\u202fam +1000' with a narrow no-break space,
as users of Health Auto Export (HealthKit's dates, the same formatter) reported them
(github.com/joeecarter/health-import-server issue 5; irvinlim/apple-health-ingester issue
24); en_US writes 'PM'. The export here is the Apple tests' one (their DTD head, records
and beats), its dates rewritten so. Before: every such record was refused ('not
YYYY-MM-DD hh:mm:ss +hhmm'). A locale's other word (ja: 午後) is refused in one line that
says what to do."""

import re

import pytest

from signal_run import ok, refused
from test_signal_files_apple import export  # noqa: F401 (the fixture)
from test_signal_files_apps import written  # noqa: F401 (the fixture)

DATE = re.compile(r'(Date="\d{4}-\d\d-\d\d )(\d\d):(\d\d:\d\d)( [+-]\d{4}")')


def twelve_hour(xml: str, am: str, pm: str) -> str:
    """Every record's date as a 12-hour clock writes it: '9:15:02 PM' for 21:15:02."""
    def one(m):
        h = int(m[2])
        return f"{m[1]}{(h - 1) % 12 + 1}:{m[3]}{am if h < 12 else pm}{m[4]}"
    out, n = DATE.subn(one, xml)
    assert n > 50  # (every record's creation, start and end)
    return out


@pytest.mark.parametrize("am,pm", [(" AM", " PM"), (" am", " pm"), ("\u202fam", "\u202fpm"),
                                   (" a.m.", " p.m.")])
def test_a_12_hour_export_reads_as_the_24_hour_one(capsys, tmp_path, export, am, pm):  # noqa: F811
    p = tmp_path / "export.xml"
    p.write_text(twelve_hour(export[0].read_text(), am, pm), encoding="utf-8")
    for verb in ("hr", "hrv"):
        assert ok(capsys, verb, p) == ok(capsys, verb, export[0])
    span = ("--start", "2024-05-01", "--end", "2024-05-01")
    assert ok(capsys, "hr", p, *span) == ok(capsys, "hr", export[0], *span)


def test_another_locale_s_word_is_refused_saying_what_to_do(capsys, tmp_path, export):  # noqa: F811
    p = tmp_path / "export.xml"
    p.write_text(twelve_hour(export[0].read_text(), " 午前", " 午後"), encoding="utf-8")
    said = refused(capsys, "hr", p)
    assert "'午" in said and "24-hour time" in said
    bad = tmp_path / "bad.xml"  # (a 12-hour clock's hour 13 is no hour)
    bad.write_text(export[0].read_text().replace(" 08:00:00 +1000", " 13:00:00 PM +1000"))
    assert "is not 'YYYY-MM-DD hh:mm:ss +hhmm'" in refused(capsys, "hr", bad)


def test_an_ios_16_export_with_its_broken_dtd_and_vertical_tabs_reads(capsys, tmp_path,
                                                                       export):  # noqa: F811
    """iOS 16 (HealthKit Export Version 12) wrote its DTD with an ATTLIST never closed
    (VisionPrescription's: 'syntax error: line 156, column 0' in every reader,
    fedecalendino/apple-health issue 1, markwk/qs_ledger issue 23; apple-health-grafana's
    tests/test-export3.zip) and a vertical tab into some values (jameno/Simple-Apple-
    Health-XML-to-CSV pull 3). Before: 'not whole XML (syntax error...): a copy cut short?
    export it again', which no export mends. Now read as the export without them."""
    broken = ('<!ATTLIST VisionPrescription\n  type             CDATA #REQUIRED\n'
              '  dateIssued       CDATA #REQUIRED\n  expirationDate   CDATA #REQUIRED\n'
              '  brand            CDATA #IMPLIED\n\n')
    xml = export[0].read_text()
    bad = xml.replace("<!ELEMENT HeartRateVariabilityMetadataList",
                      broken + "<!ELEMENT HeartRateVariabilityMetadataList", 1)
    bad = bad.replace('sourceVersion="10.4"', 'sourceVersion="10.4\x0b"')
    p = tmp_path / "export.xml"
    p.write_text(bad)
    for verb in ("hr", "hrv"):
        assert ok(capsys, verb, p) == ok(capsys, verb, export[0])


def test_an_export_zip_naming_export_xml_in_the_phone_s_language_reads(capsys, tmp_path,
                                                                      export):  # noqa: F811
    """A phone in Chinese names it apple_health_export/导出.xml beside 导出_cda.xml and its
    workout-routes/*.gpx (apple-health-grafana's tests/test-export-cn.zip). Before: its
    routes were taken for the activities ('a zip of 2 activities ... give --member')."""
    import zipfile

    z = tmp_path / "导出.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as f:
        f.writestr("apple_health_export/导出_cda.xml", "<ClinicalDocument/>")
        for k in (1, 2):
            f.writestr(f"apple_health_export/workout-routes/route_2024-05-0{k}_6.07pm.gpx",
                       '<?xml version="1.0"?><gpx version="1.1"><trk/></gpx>')
        f.write(export[0], "apple_health_export/导出.xml")
    for verb in ("hr", "hrv"):
        assert ok(capsys, verb, z) == ok(capsys, verb, export[0])
