"""Sound through the player: gapless, in step with the picture, no click at a switch."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from empathy.host.player import audio
from empathy.host.player.decode import Decoder, End, Frame, read_frames
from empathy.host.player.outputs import VideoWriter
from empathy.host.player.player import Clip, Player

W, H, FPS = 96, 54, 25
SPF = audio.RATE // FPS  # samples per frame


def tone(hz: float, n: int, phase: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(n) / audio.RATE
    return np.repeat((amp * np.cos(2 * np.pi * hz * t + phase))[:, None], 2, 1).astype(np.float32)


def make_clip(path: Path, pcm: np.ndarray, frames: int, level: int) -> Path:
    """A clip whose sound is `pcm` (may run past the picture: the tail)."""
    w = VideoWriter(f"file:{path}", W, H, FPS, audio=True)
    for i in range(frames):
        w.push(np.full((H, W, 3), level, np.uint8), i / FPS, 1 / FPS)
        w.push_audio(pcm[i * SPF:(i + 1) * SPF], i * SPF / audio.RATE)
    if len(pcm) > frames * SPF:
        w.push_audio(pcm[frames * SPF:], frames * SPF / audio.RATE)
    assert w.close()
    return path


def clicks(pcm: np.ndarray) -> np.ndarray:
    """|second difference| per sample: a pure low tone keeps it tiny, a step makes it spike."""
    return np.abs(np.diff(pcm[:, 0], 2))


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("sound")
    n = 20 * SPF
    # a ends on a crest (+0.5) and b starts in a trough (-0.5): a hard cut would jump by 1.
    a = tone(200.0, n, 0.0)
    b = tone(200.0, n, np.pi)
    a_tail = tone(200.0, n + 2400, 0.0)
    return {"a": make_clip(d / "a.mp4", a, 20, 200), "b": make_clip(d / "b.mp4", b, 20, 40),
            "a_tail": make_clip(d / "a_tail.mp4", a_tail, 20, 200),
            "mute": d / "mute.mp4", "dir": d}


def test_track_pads_gaps_and_forgets_overlap():
    t = audio.Track()
    t.add(np.ones((100, 2), np.float32), 50)  # starts late: 0..49 is silence
    t.add(np.full((100, 2), 2, np.float32), 120)  # overlaps 120..149: first copy wins
    assert t.end == 220 and t.covers(220) and not t.covers(221)
    got = t.take(0, 160)
    assert np.all(got[:50] == 0) and np.all(got[50:150] == 1) and np.all(got[150:] == 2)
    assert len(t.rest()) == 60
    t.done = True
    assert t.covers(10_000) and np.all(t.take(200, 240)[20:] == 0)


def test_a_track_far_ahead_of_the_picture_copies_each_chunk_once():
    """The demuxer decodes seconds of sound ahead of the picture. Adding a chunk copied the
    whole track (one growing array), so the cost grew with the square of the sound ahead: on
    a loaded host the picture froze 4.6 s while 9.6 s of sound was drained."""
    t = audio.Track()
    chunk = np.ones((1024, 2), np.float32)  # one AAC frame
    cpu = time.thread_time()
    for i in range(2000):  # 43 s of sound
        t.add(chunk, i * 1024)
    shares = [t.take(*audio.chunk_bounds(k, 15.0)) for k in range(150)]
    assert time.thread_time() - cpu < 1.0  # the growing array took 4.5 CPU-s
    assert sum(len(s) for s in shares) == 150 * 3200 and all(np.all(s == 1) for s in shares)
    assert len(t.rest()) == 2000 * 1024 - 150 * 3200


def test_the_decoder_takes_only_the_sound_its_frames_need(tmp_path):
    """A frame's sound is pulled from the demuxer as the frame is decoded, no further: the
    rest waits in its appsink. It pulled all there was (seconds, the demuxer runs ahead)
    whenever the picture queue was full or a frame's share was missing, and the picture
    waited meanwhile."""
    clip = make_clip(tmp_path / "long.mp4", tone(200.0, 250 * SPF, 0.0), 250, 120)
    dec = Decoder(clip, W, H, FPS, queue_size=2)
    try:
        assert isinstance(dec.get(timeout=20), Frame)
        time.sleep(1.0)  # the queue is full: the decoder waits on the player
        frames = [dec.get(timeout=20) for _ in range(5)]
        assert all(isinstance(f, Frame) and len(f.audio) == SPF for f in frames)
        time.sleep(0.5)
        # ~10 frames decoded (0.4 s); the old pull held all 10 s of the clip's sound
        assert dec._track.end < audio.RATE, dec._track.end / audio.RATE
    finally:
        dec.stop()


def test_splice_has_no_step_and_hard_cut_does():
    old, new = tone(200, 2000, 0.0), tone(200, 2000, np.pi)
    ref = clicks(old).max()
    smooth = audio.splice(old, new, int(audio.FADE_MS * audio.RATE / 1000))
    seam = np.concatenate([tone(200, 2000, 0.0)[::-1][-200:], smooth])
    assert clicks(seam).max() < 20 * ref
    hard = np.concatenate([tone(200, 2000, 0.0)[::-1][-200:], new])
    assert clicks(hard).max() > 1000 * ref
    # The mirrored continuation carries on from the last sample, so the seam is continuous.
    cont = audio.continuation(None, old, 240)
    assert np.allclose(cont[0], old[-1])
    assert np.array_equal(audio.continuation(new[:300], old, 240), new[:240])


def test_decoder_hands_sound_per_frame_and_tail(media):
    dec = Decoder(media["a_tail"], W, H, FPS)
    frames, end = [], None
    while end is None:
        item = dec.get(timeout=20)
        assert item is not None
        if isinstance(item, End):
            end = item
        else:
            frames.append(item)
    assert end.error is None and len(frames) == 20
    assert all(f.audio is not None and len(f.audio) == SPF for f in frames)
    assert end.tail is not None and len(end.tail) >= 2000  # the 50 ms past the picture
    pcm = np.concatenate([f.audio for f in frames])
    assert 0.35 < np.abs(pcm[2000:]).max() < 0.65  # our tone came back through AAC


def _switch_run(media, tmp_path, first: str, fade_ms: float) -> tuple[np.ndarray, Player]:
    out = tmp_path / f"{first}_{fade_ms}.mp4"
    p = Player(f"file:{out}", W, H, FPS, tmp_path / f"{first}_{fade_ms}.csv", realtime=False,
               audio_fade_ms=fade_ms)
    p.start(Clip("a", media[first], None))
    p.set_next(Clip("b", media["b"], None))
    assert p.wait(30) and p.error is None
    frames = list(read_frames(out, fps=FPS))
    assert len(frames) == 40
    return np.concatenate([f.audio for f in frames]), p


@pytest.mark.parametrize("first", ["a", "a_tail"])
def test_switch_is_gapless_and_click_free(media, tmp_path, first):
    pcm, p = _switch_run(media, tmp_path, first, audio.FADE_MS)
    assert len(pcm) == 40 * SPF  # sound exactly as long as the picture: no gap, no drift
    cut = 20 * SPF
    seam = clicks(pcm[cut - 960:cut + 960]).max()
    body = clicks(pcm[5000:cut - 2000]).max()
    assert seam < 6 * body, (seam, body)
    assert [s["to"] for s in p.switches] == ["b"] and p.switches[0]["frame"] == 20
    # b's sound is playing after the switch (trough-first tone, not silence).
    assert np.abs(pcm[cut + 1000:]).max() > 0.35


def test_hard_cut_clicks_so_the_check_can_fail(media, tmp_path):
    pcm, _ = _switch_run(media, tmp_path, "a", 0.0)
    cut = 20 * SPF
    assert clicks(pcm[cut - 960:cut + 960]).max() > 6 * clicks(pcm[5000:cut - 2000]).max()


def test_silent_clip_and_audio_off(media, tmp_path):
    mute = VideoWriter(f"file:{media['mute']}", W, H, FPS)  # a file with no sound at all
    for i in range(10):
        mute.push(np.full((H, W, 3), 90, np.uint8), i / FPS, 1 / FPS)
    assert mute.close()
    out = tmp_path / "o.mp4"
    p = Player(f"file:{out}", W, H, FPS, tmp_path / "f.csv", realtime=False)
    p.start(Clip("m", media["mute"], None))
    p.set_next(Clip("a", media["a"], None))
    assert p.wait(30) and p.error is None
    frames = list(read_frames(out, fps=FPS))
    pcm = np.concatenate([f.audio for f in frames])
    assert len(frames) == 30 and len(pcm) == 30 * SPF
    assert np.abs(pcm[: 9 * SPF]).max() < 0.02 and np.abs(pcm[12 * SPF:]).max() > 0.35
    q = Player(f"file:{tmp_path / 'v.mp4'}", W, H, FPS, tmp_path / "g.csv", realtime=False,
               audio=False)
    q.start(Clip("a", media["a"], None))
    assert q.wait(30) and q.frames_rendered == 20
    assert all(f.audio is None for f in read_frames(tmp_path / "v.mp4"))


def test_held_last_frame_fades_the_sound_out(media, tmp_path):
    out = tmp_path / "hold.mp4"
    p = Player(f"file:{out}", W, H, FPS, tmp_path / "hold.csv", realtime=True)
    p.start(Clip("a", media["a"], None))
    p.set_next(Clip("ghost", media["dir"] / "missing.mp4", None))  # nothing can follow
    assert p.wait(20)
    frames = list(read_frames(out, fps=FPS))
    assert len(frames) > 21
    pcm = np.concatenate([f.audio for f in frames])
    cut = 20 * SPF
    assert clicks(pcm[cut - 960:cut + 960]).max() < 6 * clicks(pcm[5000:cut - 2000]).max()
    assert np.abs(pcm[cut + 480:]).max() < 0.01  # then silence under the frozen frame


def test_lut_apply_keeps_the_sound(media, tmp_path):
    from empathy.cli import main
    from empathy.host.player.cube import identity_cube, write_cube

    write_cube(tmp_path / "id.cube", identity_cube(5))
    out = tmp_path / "graded.mp4"
    assert main(["lut", "apply", str(tmp_path / "id.cube"), str(media["a_tail"]), str(out)]) == 0
    src = Decoder(media["a_tail"], W, H, FPS)
    dst = Decoder(out, W, H, FPS)
    got = {}
    for name, dec in (("src", src), ("dst", dst)):
        chunks = []
        while True:
            item = dec.get(timeout=20)
            assert item is not None
            if isinstance(item, End):
                chunks.append(item.tail)
                break
            chunks.append(item.audio)
        got[name] = np.concatenate(chunks)
    assert len(got["dst"]) == len(got["src"]) == 20 * SPF + 2400  # tail included
    assert np.abs(got["dst"] - got["src"]).max() < 1e-3  # ALAC: the same samples


def test_a_range_of_a_silent_clip_gives_its_frames(media, tmp_path):
    """The seek goes to the picture's sink only: a silent clip's unlinked sound branch made
    the pipeline's seek fail ('cannot seek')."""
    mute = VideoWriter(f"file:{tmp_path / 'm.mp4'}", W, H, FPS)
    for i in range(25):
        mute.push(np.full((H, W, 3), 10 * i, np.uint8), i / FPS, 1 / FPS)
    assert mute.close()
    frames = list(read_frames_range(tmp_path / "m.mp4", 0.4, 0.8))
    assert [round(f.t_s * FPS) for f in frames] == list(range(10))
    assert abs(int(frames[0].rgb.mean()) - 100) <= 3  # frame 10 of the file: level 100


def read_frames_range(path, in_s, out_s):
    dec = Decoder(path, W, H, FPS, in_s=in_s, out_s=out_s)
    try:
        while not isinstance(item := dec.get(timeout=20), End):
            assert item is not None, "decoder stalled"
            yield item
        assert item.error is None, item.error
    finally:
        dec.stop()


@pytest.mark.parametrize("in_s", [0.0, 0.2])
def test_a_file_with_sound_only_ends_in_an_error_at_once(tmp_path, in_s):
    """Its video sink is never linked: without a check it waits for ever (no frame, no
    EOS) and the show holds the last clip's frame instead of falling back."""
    from empathy.host.player.gst import Gst

    Gst_ = Gst()
    path = tmp_path / "sound.mp4"
    pipe = Gst_.parse_launch(
        "audiotestsrc num-buffers=40 ! audioconvert ! audio/x-raw,format=S16LE ! "
        f"avenc_alac ! mp4mux ! filesink location={path}")
    pipe.set_state(Gst_.State.PLAYING)
    assert pipe.get_bus().timed_pop_filtered(10 * Gst_.SECOND, Gst_.MessageType.EOS)
    pipe.set_state(Gst_.State.NULL)
    dec = Decoder(path, W, H, FPS, in_s=in_s)
    try:
        item = dec.get(timeout=5)
    finally:
        dec.stop()
    assert isinstance(item, End) and "no video stream" in item.error, item
