"""Red team, session 26 (second pass): clip time and decision windows on an artist's own
encodings, `story check`'s memory, the MQTT receiver's QoS 2/3, a .cube's text (real clips
made by ffmpeg, the real Decoder, a real Show, a raw-socket broker, real files).

Clip time was the file's own time stamp: an ffmpeg MPEG-TS's first frame sits at 0.74 s, so
every decision window after such a clip closed 0.74 s early; an x264 MP4's buffers run
0.08 s ahead of its film time (its B-frame delay), so a range of one lost its first two
frames, and `story check` measured a TS's picture as ending 0.74 s after it does.
`story check` decoded an 8K clip's first frame at full size, a decoder thread per core:
1.0 GB at its peak, on a Pi kiosk with 4-8 GB. The MQTT receiver answered QoS 2 with QoS 1's
PUBACK (a resend taken twice, PUBREL unanswered) and took a QoS 3 PUBLISH. A .cube with a
Latin-1 TITLE was refused whole as binary; 1e300 was refused with no line."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from empathy.host.player.decode import Decoder, End, read_frames
from empathy.host.story import loads
from empathy.host.story_check import check_files
from empathy.keys import Keystore

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def ffmpeg(*args) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *map(str, args)], check=True,
                   timeout=60)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """3 s at 25 fps with sound: a broadcast MPEG-TS (MPEG-2) and an x264 MP4 (B-frames)."""
    d = tmp_path_factory.mktemp("clips")
    src = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=3",
           "-f", "lavfi", "-i", "sine=duration=3", "-pix_fmt", "yuv420p"]
    ffmpeg(*src, "-c:v", "mpeg2video", "-c:a", "mp2", d / "a.ts")
    ffmpeg(*src, "-c:v", "libx264", "-c:a", "aac", d / "a.mp4")
    return {"ts": d / "a.ts", "mp4": d / "a.mp4"}


def _frames(dec) -> list:
    got = []
    while not isinstance(item := dec.get(timeout=20), End):
        assert item is not None, "decoder stalled"
        got.append(item)
    assert item.error is None
    return got


@pytest.mark.parametrize("kind", ["ts", "mp4"])
def test_clip_time_starts_at_the_first_frame(clips, kind):
    """Before: the first frame at 0.74 s (TS) or 0.08 s (MP4)."""
    frames = list(read_frames(clips[kind]))
    assert len(frames) == 75
    assert [round(f.t_s, 3) for f in frames[:3]] == [0.0, 0.04, 0.08]


@pytest.mark.parametrize("kind", ["ts", "mp4"])
def test_a_range_is_counted_from_the_first_frame(clips, kind):
    """[1, 2) is frames 25..49, a second of sound. Before: the MP4's range lost its first
    two frames (23 frames, the first at 0.08 s); the TS's was 0.74 s later in the film."""
    frames = _frames(Decoder(clips[kind], in_s=1.0, out_s=2.0))
    assert len(frames) == 25 and frames[0].t_s == pytest.approx(0.0, abs=1e-6)
    whole = list(read_frames(clips[kind]))
    assert (frames[0].rgb == whole[25].rgb).all() and (frames[-1].rgb == whole[49].rgb).all()
    assert sum(len(f.audio) for f in frames) == 48000


STORY = """title = "Window"\nstart = "a"
[segments.a]\nmedia = "{a}"\nduration_s = 3.0
[segments.b]\nmedia = "{a}"\nduration_s = 3.0
[segments.c]\nmedia = "{a}"\nduration_s = 3.0
[decisions.pick]\nafter = "a"\nwindow_s = [0.2, 1.0]\ndefault = "b"
options = {{ b = 0.5, c = 0.5 }}
"""


def test_a_decision_window_after_an_mpeg_ts_closes_on_time(clips, tmp_path):
    """A real Show on the TS clip: the player is held on the window's last frame (0.96 s in)
    long enough for the show loop to act; it must not have decided yet, and decides once
    frame 25 (1.00 s) is on screen. Before: clip time reached 1.0 s at frame 7 (0.28 s into
    the picture): the window closed 0.72 s early."""
    from empathy.host.show import Show, ShowConfig

    keys = Keystore.new([1])
    show = Show(loads(STORY.format(a=clips["ts"]), tmp_path / "w.toml"),
                ShowConfig(listen="udp://127.0.0.1:0", output=f"file:{tmp_path}/o.mp4",
                           loop=False, width=160, height=96, fps=25, policy="default",
                           reward_latency_s=0.0),
                keys.units, keys.cue_signing, tmp_path / "frames.csv", realtime=False)
    seen = {"times": [], "early": None, "decided": False}

    def decided() -> bool:
        return show.decided_for == len(show.segment_log) - 1

    def until(cond, wait_s: float) -> bool:
        deadline = time.monotonic() + wait_s
        while not cond() and time.monotonic() < deadline:
            time.sleep(0.005)
        return cond()

    def frame(kind, data) -> None:  # the player thread
        if kind != "frame" or data.clip_id != "a" or data.play != 0:
            return
        seen["times"].append(round(data.clip_t_s, 3))
        k = len(seen["times"]) - 1
        if k == 24:  # 0.96 s: the window is still open
            seen["early"] = until(decided, 0.5)
        elif k == 25:
            seen["decided"] = until(decided, 20.0)

    show.subscribe(frame)
    summary = show.run(30)
    assert seen["early"] is False and seen["decided"] is True
    assert seen["times"][:2] == [0.0, 0.04] and seen["times"][25] == 1.0
    assert [d["decision"] for d in summary["decisions"]] == ["pick"]


def test_story_check_measures_a_ts_picture_from_its_first_frame(tmp_path):
    """3 s of picture under 4 s of sound, declared as 3.6 s: the show's clip ends with its
    picture, 0.6 s early. Before: "ok" (its last frame ends at 3.74 s of the file's time)."""
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=3", "-f", "lavfi", "-i",
           "sine=duration=4", "-c:v", "mpeg2video", "-c:a", "mp2", tmp_path / "a.ts")
    story = STORY.format(a=tmp_path / "a.ts").replace("duration_s = 3.0", "duration_s = 3.6", 1)
    errors = [str(e) for e in check_files(loads(story, tmp_path / "w.toml")).errors]
    assert any("'a'" in e and "picture of a.ts ends at 3.00 s" in e for e in errors), errors


def test_story_check_of_an_8k_clip_stays_small(tmp_path):
    """Ten 8K frames (x264): `story check`'s peak memory, its own process measured alone.
    Before: 1,046 MB on 2 cores (more threads, more on more cores); after: 534 MB (the
    discoverer's own decode, about 330 MB, is the rest)."""
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=7680x4320:rate=25:duration=0.4", "-pix_fmt",
           "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", tmp_path / "a.mp4")
    (tmp_path / "t.toml").write_text(
        'title = "t"\nstart = "a"\n[segments.a]\nmedia = "a.mp4"\nduration_s = 0.4\n')
    child = subprocess.Popen([sys.executable, "-c", "from empathy.cli import main; main()",
                              "story", "check", str(tmp_path / "t.toml")], stdout=subprocess.PIPE)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 0 and b"ok" in out
    assert usage.ru_maxrss < 800_000, f"{usage.ru_maxrss / 1000:.0f} MB"  # kB on Linux


def _packets(conn, want: int, timeout_s: float = 5.0) -> list[bytes]:
    """The next `want` packets the receiver sends (its PINGREQs, and a SUBSCRIBE that came
    after the broker's first read, left out); b"" once it has closed the connection."""
    conn.settimeout(timeout_s)
    got, buf = [], b""
    while len(got) < want:
        data = conn.recv(65536)
        if not data:
            return got + [b""]
        buf += data
        while len(buf) >= 2 and len(buf) >= 2 + buf[1]:  # short packets: a 1-byte length
            p, buf = buf[:2 + buf[1]], buf[2 + buf[1]:]
            if p[0] not in (0xC0, 0x82):
                got.append(p)
    return got


@pytest.mark.parametrize("v5", [False, True])
def test_a_qos_2_message_is_answered_by_the_qos_2_flow_and_taken_once(v5):
    """A broker that sends QoS 2 (we subscribe at 1 at most: a stranger, or a broker that
    ignores the grant): PUBREC, the message once though the broker sends it again before
    its PUBREL, then PUBCOMP. Before: PUBACK (QoS 1's answer), the message taken twice,
    PUBREL unanswered (the broker holds the message for ever)."""
    from empathy import wire
    from empathy.clock import now_us
    from empathy.transports import open_receiver
    from test_hostile_broker import LyingBroker

    broker = LyingBroker(v5)
    rx = open_receiver(f"mqtt://127.0.0.1:{broker.port}/s1?v={'5' if v5 else '3.1.1'}")
    try:
        assert broker.ready.wait(5)
        good = wire.encode(wire.SeatSample(3, 30, 1, now_us()), Keystore.new([3]).units[3])
        publish = bytearray(broker.publish("empathy/s1/u/3/s", good, qos=2))  # packet id 7
        broker.conn.sendall(publish)
        assert _packets(broker.conn, 1) == [b"\x50\x02\x00\x07"]  # PUBREC
        publish[0] |= 0x08  # DUP: the broker did not hear our PUBREC
        broker.conn.sendall(publish)
        assert _packets(broker.conn, 1) == [b"\x50\x02\x00\x07"]
        broker.conn.sendall(b"\x62\x02\x00\x07")  # PUBREL
        assert _packets(broker.conn, 1) == [b"\x70\x02\x00\x07"]  # PUBCOMP
        assert rx.recv_batch(1.0) == [good] and rx.recv_batch(0.3) == []
    finally:
        rx.close()
        broker.close()


@pytest.mark.parametrize("v5", [False, True])
def test_a_qos_3_publish_closes_the_connection(v5):
    """QoS 3 does not exist: the receiver of one MUST close the connection (MQTT 3.1.1 and
    5, [MQTT-3.3.1-4]). Before: answered with a PUBACK, its payload taken."""
    from empathy import wire
    from empathy.clock import now_us
    from empathy.transports import open_receiver
    from test_hostile_broker import LyingBroker

    broker = LyingBroker(v5)
    rx = open_receiver(f"mqtt://127.0.0.1:{broker.port}/s1?v={'5' if v5 else '3.1.1'}")
    try:
        assert broker.ready.wait(5)
        good = wire.encode(wire.SeatSample(3, 30, 1, now_us()), Keystore.new([3]).units[3])
        broker.conn.sendall(broker.publish("empathy/s1/u/3/s", good, qos=3))
        assert _packets(broker.conn, 1) == [b""]  # closed, nothing answered
        assert rx.recv_batch(0.3) == [] and rx.thread.is_alive()  # reconnecting
    finally:
        rx.close()
        broker.close()


def _cube_rows(n: int) -> bytes:
    return b"".join(b"%g %g %g\n" % (r / (n - 1), g / (n - 1), b / (n - 1))
                    for b in range(n) for g in range(n) for r in range(n))


def test_a_cube_titled_in_latin_1_is_read(tmp_path):
    """A Windows grading tool's TITLE and comments in Latin-1 (Windows-1252: its quote mark
    too): they are for a human. Before:
    the whole file refused as "binary data (not UTF-8 text)"."""
    from empathy.host.player.cube import read_cube

    path = tmp_path / "noir.cube"
    path.write_bytes(b'TITLE "Caf\xe9 cr\xe8me\x92s"\n# \xe9talonnage\nLUT_3D_SIZE 2\n'
                     + _cube_rows(2).replace(b"1 1 1\n", b"1 1 1 # blanc \xe9clatant\n"))
    cube = read_cube(path)
    assert cube.title == "Caf\u00e9 cr\u00e8me\u2019s" and cube.lut3d.shape == (2, 2, 2, 3)


def test_a_latin_1_byte_in_a_row_is_still_binary_data_on_its_line(tmp_path):
    from empathy.host.player.cube import CubeError, read_cube

    path = tmp_path / "bad.cube"
    rows = _cube_rows(2).replace(b"1 0 0", b"1 0 \xe9")
    path.write_bytes(b'TITLE "Caf\xe9"\nLUT_3D_SIZE 2\n' + rows)
    with pytest.raises(CubeError) as e:
        read_cube(path)
    assert (e.value.line, e.value.message) == (4, "binary data (not UTF-8 text), not a text .cube")


@pytest.mark.parametrize("n,row", [(2, 5), (33, 20_000)])  # the line-by-line and block paths
def test_a_value_too_large_for_float32_is_named_with_its_line(tmp_path, n, row):
    """1e300 is a float64 but no float32. Before: "values too large for float32", line 0."""
    from empathy.host.player.cube import CubeError, read_cube

    lines = _cube_rows(n).splitlines(keepends=True)
    lines[row] = b"0.5 1e300 0.5\n"
    path = tmp_path / "big.cube"
    path.write_bytes(b"LUT_3D_SIZE %d\n" % n + b"".join(lines))
    with pytest.raises(CubeError) as e:
        read_cube(path)
    assert e.value.line == row + 2, str(e.value)
    assert "too large for float32" in e.value.message and "1e300" in e.value.message
