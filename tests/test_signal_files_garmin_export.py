"""Garmin Connect's account export ('Export Your Data', garmin.com/account/datamanagement):
one zip holding DI_CONNECT/ folders of JSON, and the activities' own uploaded files in
zips inside it, DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip (_Part2...),
each member named by its upload ('<account>_<upload id>.fit'), as public readers of the
export lay it out (FitMe's garmin_export reader: 'the raw per-activity .fit files in a
nested DI-Connect-Uploaded-Files zip'; fit2tp's README: 'UploadedFiles_0-_Part1'). The
FIT files here are real ones (python-fitparse's, tests/data/signal/README.md), zipped with
Python's zipfile as Garmin's zips are. Before: refused, 'a zip inside the zip: unzip it'.
Now one level of zips in the zip is read, its members named 'outer/inner/name' for
--member, the bomb caps counted across both levels, and deeper nesting still refused."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from signal_run import ok, refused

DATA = Path(__file__).parent / "data" / "signal"
RUN = DATA / "garmin-fenix-5-run.fit"  # hrv messages: beats
BIKE = DATA / "garmin-fenix-5-bike.fit"  # records' heart rate only
UPLOADED = "DI_CONNECT/DI-Connect-Uploaded-Files/"
PART1 = UPLOADED + "UploadedFiles_0-_Part1.zip"


def zip_bytes(members: dict, method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def account_export(path: Path, parts: dict) -> Path:
    members = {"DI_CONNECT/DI-Connect-Fitness/ann_0_summarizedActivities.json":
               '[{"summarizedActivitiesExport": []}]',
               "DI_CONNECT/DI-Connect-User/user_profile.json": '{"firstName": "Ann"}'}
    members.update({UPLOADED + name: zip_bytes(m) for name, m in parts.items()})
    path.write_bytes(zip_bytes(members))
    return path


def test_the_one_activity_of_an_account_export_is_read(tmp_path, capsys):
    export = account_export(tmp_path / "a1b2c3.zip", {
        "UploadedFiles_0-_Part1.zip": {"ann@example.com_1203456789.fit": RUN.read_bytes()}})
    assert ok(capsys, "hrv", export) == ok(capsys, "hrv", RUN)


def test_several_are_named_outer_inner_name_and_member_reads_one(tmp_path, capsys):
    export = account_export(tmp_path / "a1b2c3.zip", {
        "UploadedFiles_0-_Part1.zip": {"ann@example.com_1203456789.fit": RUN.read_bytes(),
                                       "ann@example.com_1203456790.fit": BIKE.read_bytes()},
        "UploadedFiles_0-_Part2.zip": {"ann@example.com_1203456791.fit": BIKE.read_bytes()}})
    err = refused(capsys, "hrv", export)
    assert "3 activities" in err and f"{PART1}/ann@example.com_1203456789.fit" in err
    assert ok(capsys, "hrv", export, "--member", f"{PART1}/ann@example.com_1203456789.fit") \
        == ok(capsys, "hrv", RUN)
    assert ok(capsys, "hr", export, "--member", "ann@example.com_1203456791.fit") \
        == ok(capsys, "hr", BIKE)  # (by its name alone, found in Part2)
    assert "no members named" in refused(capsys, "hr", export, "--member", f"{PART1}/x.fit")
    err = refused(capsys, "hr", export, "--member", "ann@example.com_1203456789.fit.x")
    assert "no members named" in err


def test_deeper_nesting_is_refused_and_names_leaving_it_too(tmp_path, capsys):
    deep = zip_bytes({"a.zip": zip_bytes({"run.fit": RUN.read_bytes()})})
    export = account_export(tmp_path / "deep.zip", {"UploadedFiles_0-_Part1.zip": {
        "b.zip": zip_bytes({"run.fit": RUN.read_bytes()})}})
    assert "packed again" in refused(capsys, "hrv", export, "--member", f"{PART1}/b.zip")
    (tmp_path / "deep2.zip").write_bytes(zip_bytes({"x/y.zip": deep}))
    assert "packed again" in refused(capsys, "hrv", tmp_path / "deep2.zip")
    evil = account_export(tmp_path / "evil.zip", {"UploadedFiles_0-_Part1.zip": {
        "../../x.fit": RUN.read_bytes()}})
    assert "outside" in refused(capsys, "hrv", evil)


@pytest.mark.parametrize("mib,bomb", [(16, True), (15, False)])
def test_the_bomb_cap_counts_both_levels(tmp_path, capsys, mib, bomb):
    """A zip in the zip of 64 KiB of noise and a file of zeros: under 16 MiB (the cap's
    floor) the file alone passes, and so does the inner zip alone, but together they
    unpack past the one cap of the chain, so the 16-MiB one stops there."""
    noise = np.random.default_rng(0).bytes(64 << 10)
    inner = zip_bytes({"noise.bin": noise, "a.fit": bytes((mib << 20) - 1024)})
    (tmp_path / "bomb.zip").write_bytes(zip_bytes({PART1: inner}, zipfile.ZIP_STORED))
    err = refused(capsys, "hrv", tmp_path / "bomb.zip", "--member", f"{PART1}/a.fit")
    assert ("zip bomb" in err) == bomb, err


def test_a_zip_of_many_zips_is_not_unpacked_whole_to_look(tmp_path, capsys):
    """Each zip in the zip is unpacked to list it: a few are (Garmin's parts), 65 are not;
    --member with the full path reads one all the same."""
    one = zip_bytes({"run.fit": RUN.read_bytes()})
    (tmp_path / "many.zip").write_bytes(zip_bytes({f"p{k}.zip": one for k in range(65)}))
    assert "a zip of 65 zips" in refused(capsys, "hrv", tmp_path / "many.zip")
    assert ok(capsys, "hrv", tmp_path / "many.zip", "--member", "p7.zip/run.fit") == \
        ok(capsys, "hrv", RUN)
