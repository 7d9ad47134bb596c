"""Red team on the parsers written last: the signal files `empathy signal` reads (WFDB
headers, CSV headers and fields), the .cube block parser against a plain reference, and
the container walk of `story check`. Each case is a file a user or a copy could hand us."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from empathy.edge.signal_file import SignalFileError, read_signal
from empathy.host.player.cube import parse_cube


def refused(path) -> str:
    with pytest.raises(SignalFileError) as e:
        read_signal(str(path))
    return str(e.value)


def wfdb_record(tmp_path, record_line: str, samples: int = 10):
    (tmp_path / "r.dat").write_bytes(np.arange(samples, dtype="<i2").tobytes())
    hea = tmp_path / "r.hea"
    hea.write_text(record_line + "\nr.dat 16 200 16 0 0 0 0 ppg\n")
    return hea


# wfdb reads '1e400' as 1 Hz and 'nan' or '-5' as its default 250 Hz: silently wrong times
@pytest.mark.parametrize("rate", ["1e400", "1e-300", "nan", "-5", "0"])
def test_a_wfdb_rate_wfdb_cannot_read_is_refused_not_replaced(tmp_path, rate):
    line = refused(wfdb_record(tmp_path, f"r 1 {rate} 10"))
    assert line.endswith(f"r.hea:1: sampling rate '{rate}' is not a positive number of Hz "
                         "that wfdb reads as written"), line


def test_a_wfdb_rate_it_reads_still_reads(tmp_path):
    t, cols = read_signal(str(wfdb_record(tmp_path, "r 1 100/1000(0) 10")))
    assert list(cols) == ["ppg"] and t[1] == pytest.approx(0.01)
    np.testing.assert_allclose(cols["ppg"], np.arange(10) / 200)


def test_a_wfdb_header_claiming_more_samples_than_its_data_is_one_line(tmp_path):
    """A header saying 1e12 samples had wfdb allocate 1.8 TiB: a MemoryError traceback."""
    hea = wfdb_record(tmp_path, "r 1 100 1000000000000")
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", "hr", str(hea)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"empathy signal hr: {hea}:1: 1000000000000 samples a signal, but r.dat holds 20 "
        "bytes (2000000000000 needed): a copy cut short, or a wrong header"]


def test_a_wfdb_header_naming_a_missing_data_file(tmp_path):
    hea = wfdb_record(tmp_path, "r 1 100 10")
    (tmp_path / "r.dat").unlink()
    assert refused(hea).endswith("r.hea: its data file r.dat is missing")


# 'time,ppg,time': the second 'time' was read as the clock, after the first was checked
# to run forward: times of 0, -50, -90 s came back with no error
@pytest.mark.parametrize("header, name", [("time,ppg,time", "time"), ("t,ppg,PPG", "ppg")])
def test_a_column_named_twice_is_refused(tmp_path, header, name):
    f = tmp_path / "rec.csv"
    f.write_text(header + "\n0,1,100\n1,2,50\n2,3,10\n")
    assert refused(f).endswith(f"rec.csv:1: column '{name}' is named twice")


def test_a_megabyte_field_gives_a_short_line(tmp_path):
    f = tmp_path / "rec.csv"
    f.write_text("time,ppg\n0,1\n1," + "7" * 1_000_000 + "\n2,x" + "y" * 1_000_000 + "\n")
    line = refused(f)
    assert line.startswith(f"{f}:3: ppg is '7777") and len(line) - len(str(f)) < 200, line[:300]
    f.write_text("time,ppg\n0,1\n1,x" + "y" * 1_000_000 + "\n")
    line = refused(f)
    assert line.startswith(f"{f}:3: ppg 'xyyy") and "1,000,001 characters" in line
    assert len(line) - len(str(f)) < 200


@pytest.mark.parametrize("text", [
    '\ufeff"time","ppg"\r\n"0.0","1"\r\n"0.1","2"\r\n',  # BOM, CRLF, quotes
    "time,ppg\r0.0,1\r0.1,2\r",  # CR only
])
def test_spreadsheet_line_endings_read_alike(tmp_path, text):
    f = tmp_path / "rec.csv"
    f.write_bytes(text.encode())
    t, cols = read_signal(str(f))
    assert list(t) == [0.0, 0.1] and list(cols["ppg"]) == [1.0, 2.0]


def test_a_nul_byte_in_a_row_is_named(tmp_path):
    f = tmp_path / "rec.csv"
    f.write_text("time,ppg\n0,1\n0.1,2\x00\n0.2,3\n")
    assert refused(f).endswith("rec.csv:3: ppg '2\\x00' is not a number")


def test_cube_blocks_read_as_the_plain_reference(tmp_path):
    """Rows that cross the 64-KB block edges, in every number spelling the format allows,
    come out as numpy.loadtxt reads the same data lines."""
    n = 33
    rng = np.random.default_rng(7)
    spell = ["{:.6f}", "{:.3e}", "{:+.4f}", "{:.9g}", "{:.2E}"]
    rows = [" ".join(rng.choice(spell).format(v) for v in rng.uniform(-0.2, 1.2, 3))
            for _ in range(n ** 3)]
    rows[5] = "-0 +1 0."
    rows[30000] = ".5   1e-3\t-0.0"
    text = "TITLE \"t\"\r\nLUT_3D_SIZE 33\r\n" + "\r\n".join(rows) + "\r\n"
    cube = parse_cube(text)
    ref = np.loadtxt(rows, dtype=np.float64).astype(np.float32).reshape(n, n, n, 3)
    np.testing.assert_array_equal(cube.lut3d, ref.transpose(2, 1, 0, 3))
    assert np.signbit(cube.lut3d[5, 0, 0, 0])  # '-0' stays negative zero


@pytest.mark.parametrize("name, value", [("hr_bpm", 0.004), ("rmssd_ms", -0.001),
                                         ("pupil_mm", 0.0004)])
def test_a_reading_under_one_count_is_lost_not_vouched_for(name, value):
    """0.004 bpm passed drop_impossible and encode, and arrived as 0 ("no value") with
    HR_OK still set: the host counted a seat with a heart rate of none."""
    from empathy import wire

    key, flag = b"k" * 32, int(wire.RANGES[name].flag)
    s = wire.SeatSample(1, 2, 3, 4, flags=flag, **{name: value})
    kept, lost = wire.drop_impossible(s)
    assert lost == (name,) and getattr(kept, name) == 0.0 and not kept.flags & flag
    with pytest.raises(wire.WireError):
        wire.encode(s, key)
    got = wire.decode(wire.encode(kept, key), {1: key})
    assert getattr(got, name) == 0.0 and not got.flags & flag
    # negative zero is "no value", as 0 is: nothing lost, the bit is the sender's
    kept, lost = wire.drop_impossible(wire.SeatSample(1, 2, 3, 4, **{name: -0.0}))
    assert lost == () and getattr(kept, name) == 0.0


def test_the_container_walk_stops_at_a_bound_and_still_finds_a_cut(tmp_path):
    """A file of millions of 8-byte boxes was walked to its end before `host run` started
    (2M boxes: 1.2 s; a GB of them, a minute). Past MAX_PARTS parts it is left to the
    probe; a cut within them is still found."""
    from empathy.host.story_cutshort import MAX_PARTS, cut_short

    mdat_past_the_end = (1 << 30).to_bytes(4, "big") + b"mdat" + bytes(100)
    few, many = tmp_path / "few.mp4", tmp_path / "many.mp4"
    few.write_bytes(b"\0\0\0\x08ftyp" + b"\0\0\0\x08free" * 1000 + mdat_past_the_end)
    assert cut_short(few) == ("'mdat' box", 8 * 1001 + (1 << 30), 8 * 1001 + 108)
    many.write_bytes(b"\0\0\0\x08ftyp" + b"\0\0\0\x08free" * MAX_PARTS + mdat_past_the_end)
    assert cut_short(many) is None
    # sizes 0 and 1 (64-bit): to the end, and a 64-bit size past it
    zero = tmp_path / "zero.mp4"
    zero.write_bytes(b"\0\0\0\x08ftyp" + b"\0\0\0\0mdat" + bytes(50))
    assert cut_short(zero) is None
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0\0\0\x08ftyp\0\0\0\x01mdat" + (1 << 40).to_bytes(8, "big") + bytes(9))
    assert cut_short(big) == ("'mdat' box", 8 + (1 << 40), 33)


def test_a_fifo_clip_and_a_folder_lut_are_named_as_such_without_waiting(tmp_path):
    """`story check` (what host run and demo run first): a FIFO named .mp4 must not be
    opened (it waits for a writer); it and a LUT that is a folder were 'not found'."""
    from artist_film import make_film

    film = make_film(tmp_path / "my-film")
    (film / "clips" / "undertow.mp4").unlink()
    os.mkfifo(film / "clips" / "undertow.mp4")
    (film / "luts" / "steel.cube").unlink()
    (film / "luts" / "steel.cube").mkdir()
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "check",
                        str(film / "story.toml")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    out = r.stdout + r.stderr
    assert f"{film / 'clips' / 'undertow.mp4'} is not a regular file" in out, out
    assert f"{film / 'luts' / 'steel.cube'} is not a regular file" in out, out


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which(
    "setpriv"), reason="runs the check as another user (nobody) than the clip's owner")
def test_a_clip_only_its_owner_may_read_is_one_problem_among_all(tmp_path):
    """A clip copied with mode 600 by another user stopped `story check` (and host run's)
    at its first read: PermissionError, the other problems never listed."""
    import tempfile

    from artist_film import make_film

    shared = Path(tempfile.mkdtemp(prefix="red14-"))  # tmp_path is root's alone
    try:
        shared.chmod(0o755)
        film = make_film(shared / "my-film")
        (film / "clips" / "first_light.mp4").chmod(0o600)
        (film / "luts" / "steel.cube").unlink()
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            sys.executable, "-m", "empathy.cli", "story", "check",
                            str(film / "story.toml")],
                           capture_output=True, text=True, timeout=120)
        out = r.stdout + r.stderr
        assert r.returncode == 1 and "Traceback" not in out, out
        assert "first_light.mp4: cannot read it (Permission denied)" in out, out
        assert f"{film / 'luts' / 'steel.cube'} not found" in out, out
    finally:
        shutil.rmtree(shared)
