"""The disk under the session store fills up mid-show (a real 2 MB tmpfs, filled to the
last byte by another writer), then space comes back."""

import subprocess
import time

import pytest

from conftest import assert_recorded, assert_screen_alive, wait_for


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs for the session store (needs root, as CI has; else skipped)."""
    path = tmp_path / "small_disk"
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield path
    subprocess.run(["umount", "-l", str(path)], check=True)


def fill(path) -> int:
    """Write until the filesystem says ENOSPC; returns the bytes written."""
    n = 0
    # unbuffered: a buffered file keeps a partly written block and raises ENOSPC again
    # when the `with` closes it
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                n += f.write(b"\0" * 65536)
        except OSError:
            pass
    return n


def test_disk_full_under_the_session_store_loses_nothing_and_is_reported(cinema_factory,
                                                                         small_disk):
    cinema = cinema_factory(units=2, proxy={}, session_dir=small_disk / "sessions")
    cinema.start()
    cinema.wait_all_heard()
    started = time.monotonic()
    cinema.wait_sent(60)
    filler = small_disk / "filler"
    fill(filler)
    full_at = time.monotonic()
    failed = wait_for(lambda: cinema.tap.health("session_write_failed", full_at), 15,
                      "session_write_failed on the API")
    assert "full" in failed[0]["why"], failed
    time.sleep(3)  # three seconds of show with nowhere to write
    assert cinema.hearing(1) and cinema.state()["segment"]  # the show goes on
    filler.unlink()
    freed_at = time.monotonic()
    back = wait_for(lambda: cinema.tap.health("session_write_ok", freed_at), 15,
                    "session_write_ok on the API")
    assert back[0]["dropped"] == 0
    cinema.wait_sent(len(cinema.sent()) + 20)
    until = time.monotonic()
    cinema.stop_host()
    assert_screen_alive(cinema.frames(), cinema.screen())
    (db,) = cinema.sessions()
    got = assert_recorded(cinema, db, until, since=started)
    print(f"disk full {freed_at - full_at:.1f} s:", got)
