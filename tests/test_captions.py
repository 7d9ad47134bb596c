"""Captions a film-maker delivers beside each clip (a Windows tool's .srt in CP1252 with CRLF,
a UTF-16 .vtt with its BOM) reach the screen: `story new` picks them up, `story check` reads
them, and a real Show (GStreamer player to a file, as fast as it can) burns them in after the
look, timed to each clip's own time and switching with the cut."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from empathy.host.player.cube import identity_cube, write_cube
from empathy.host.player.decode import read_frames
from empathy.host.player.player import Clip, Player
from empathy.host.story import load
from empathy.keys import Keystore

W, H, FPS = 320, 180, 25
EMPATHY = [sys.executable, "-m", "empathy.cli"]


def ffmpeg_clip(path: Path, seconds: float) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"color=c=0x505050:s={W}x{H}:r={FPS}:d={seconds}", "-pix_fmt", "yuv420p",
                    "-c:v", "libx264", str(path)], check=True, timeout=60)
    return path


def white(frame: np.ndarray) -> np.ndarray:
    """Pixels of a caption's letters: near white in every channel (a tint would show)."""
    return (frame[H // 2:] >= 200).all(axis=2)


def width_of_text(frame: np.ndarray) -> int:
    cols = np.flatnonzero(white(frame).any(axis=0))
    return int(cols[-1] - cols[0]) if cols.size else 0


@pytest.fixture()
def film(tmp_path) -> Path:
    d = tmp_path / "film"
    d.mkdir()
    ffmpeg_clip(d / "a.mp4", 2.0)
    ffmpeg_clip(d / "b.mp4", 2.0)
    red = identity_cube(9)
    red.lut3d = np.ascontiguousarray(red.lut3d)
    red.lut3d[..., 1:] = 0.0  # a look that leaves only red: white text would come out red
    write_cube(d / "a.cube", red)
    # Windows: CP1252, CRLF, cues out of order, tags; a's second cue runs past its end
    (d / "a.srt").write_bytes(
        "2\r\n00:00:01,200 --> 00:00:09,000\r\nII\r\n\r\n"
        "1\r\n00:00:00,400 --> 00:00:01,000\r\n<i>Caf\u00e9</i> <font color=\"red\">I</font>\r\n"
        .encode("cp1252"))
    (d / "b.vtt").write_bytes("WEBVTT\n\n00:00.000 --> 00:01.000\n<b>A much longer line of "
                              "text</b>\n".encode("utf-16"))
    return d


def _story_new(film: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*EMPATHY, "story", "new", str(film), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)


def test_story_new_and_a_show_burn_the_clips_captions_after_the_look(film, tmp_path):
    from empathy.host.show import Show, ShowConfig

    out = tmp_path / "film.toml"
    made = _story_new(film, out)
    assert made.returncode == 0, made.stderr
    assert "Windows-1252" in made.stderr  # the guess is said, once
    story = load(out)
    assert [p.name for _, p in story.segments["a"].captions] == ["a.srt"]
    assert [p.name for _, p in story.segments["b"].captions] == ["b.vtt"]
    keys = Keystore.new([1])
    show = Show(story, ShowConfig(listen="udp://127.0.0.1:0", output=f"file:{tmp_path}/o.mp4",
                                  loop=False, width=W, height=H, fps=FPS, policy="default",
                                  reward_latency_s=0.0),
                keys.units, keys.cue_signing, tmp_path / "frames.csv", realtime=False)
    summary = show.run(30)
    assert [s["segment"] for s in summary["segments"]] == ["a", "b"]
    frames = [f.rgb for f in read_frames(tmp_path / "o.mp4")]
    assert len(frames) == 100
    lit = [int(white(f).sum()) for f in frames]
    # a: no cue before 0.4 s; "Café I" 0.4..1.0 s, under a red look yet white; "II" from 1.2 s
    assert lit[5] == 0 and lit[12] > 10 and lit[27] == 0 and lit[35] > 10
    # the cut: a's cue would run on to 9 s; b's own takes over on b's first frame
    assert width_of_text(frames[49]) < W // 6 < W // 3 < width_of_text(frames[50])
    assert lit[74] > 0 and lit[75] == 0  # b's cue ends at 1.0 s of b: frame 75
    # the look still applies around the captions
    assert frames[12][10:40, 10:40, 1:].mean() < 20 and frames[60][10:40, 10:40].min() > 40


def test_a_range_counts_its_in_point(tmp_path):
    """A segment playing 1..2 s of its file: a cue at 1.5..1.7 s of the file shows 0.5 s in
    (frames 13..17: 0.52..0.68 s)."""
    clip = ffmpeg_clip(tmp_path / "m.mp4", 2.0)
    (tmp_path / "m.srt").write_text("1\n00:00:01,500 --> 00:00:01,700\nNOW\n")
    p = Player(f"file:{tmp_path}/o.mp4", W, H, FPS, tmp_path / "f.csv", realtime=False,
               audio=False)
    m = Clip("m", clip, None, 1.0, 1.0, 2.0, tmp_path / "m.srt", tmp_path)
    p.preload([m])
    p.start(m)
    assert p.wait(30) and p.error is None
    lit = [int(white(f.rgb).sum()) > 0 for f in read_frames(tmp_path / "o.mp4")]
    assert len(lit) == 25 and lit.index(True) == 13 and lit[13:18] == [True] * 5 \
        and not any(lit[18:])


def test_story_check_refuses_a_bad_file_in_one_line(film, tmp_path):
    out = tmp_path / "film.toml"
    (film / "b.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:nan\nx\n")
    assert _story_new(film, out).returncode == 1
    checked = subprocess.run([*EMPATHY, "story", "check", str(out)], capture_output=True,
                             text=True, timeout=120)
    assert checked.returncode == 1 and "Traceback" not in checked.stderr + checked.stdout
    said = [s for s in (checked.stdout + checked.stderr).splitlines() if "b.vtt" in s]
    assert len(said) == 1 and "b.vtt:3: not a timing line" in said[0], said


def test_languages_from_story_new_to_the_screening(tmp_path):
    from empathy.host.player.captions import choose
    from empathy.host.story import StoryError, loads

    d = tmp_path / "film"
    d.mkdir()
    ffmpeg_clip(d / "a.mp4", 0.2)
    for name in ("a.en.srt", "a.fr.vtt", "a.srt", "a.vtt", "a.x!.srt"):
        (d / name).write_text("1\n00:00:00,000 --> 00:00:01,000\nx\n")
    assert _story_new(d, tmp_path / "s.toml").returncode == 0
    text = (tmp_path / "s.toml").read_text()
    # a.srt before a.vtt; "x!" is no language
    assert 'captions = { "" = "film/a.srt", "en" = "film/a.en.srt", "fr" = "film/a.fr.vtt" }' \
        in text
    files = load(tmp_path / "s.toml").segments["a"].captions
    name = lambda p: p.name if p else None  # noqa: E731
    assert name(choose(files, None)) == "a.srt"            # the untagged file
    assert name(choose(files, "fr")) == "a.fr.vtt"         # the story's language
    assert name(choose(files, "fr", "en")) == "a.en.srt"   # the screening's wins
    assert name(choose(files, "fr", "de")) == "a.srt"      # none in German: the untagged
    assert choose(files, "en", "off") is None and choose(files, "off") is None
    story = 'start = "a"\n{}[segments.a]\nmedia = "a.mp4"\nduration_s = 1\ncaptions = {}\n'
    for top, caps, words in [('captions_language = "de"\n', '{ en = "a.srt" }', ":2: "
                              "captions_language 'de': no segment has captions in it"),
                             ("", '{ "e n" = "a.srt" }', ":5: segment 'a': captions language "
                              "'e n' is not a language tag"),
                             ("", "3", ":5: segment 'a': captions must be a name")]:
        with pytest.raises(StoryError) as e:
            loads(story.format(top, caps), tmp_path / "s.toml", check_files=False)
        assert words in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_the_screening_turns_them_off_in_the_host_config(film, tmp_path):
    from empathy.host.player.captions import check_setting
    from empathy.host.show import Show, ShowConfig

    assert _story_new(film, tmp_path / "s.toml").returncode == 0
    story, keys = load(tmp_path / "s.toml"), Keystore.new([1])
    for setting, shown in (("story", "a.srt"), ("off", None), ("en", "a.srt")):
        show = Show(story, ShowConfig(listen="udp://127.0.0.1:0", output="null", fps=FPS,
                                      captions=setting),
                    keys.units, keys.cue_signing, tmp_path / "frames.csv", realtime=False)
        got = show._clip("a").captions
        show.receiver.close()  # never run: its sockets closed here
        show.cues.close()
        assert (got.name if got else None) == shown, setting
    # a language the story's table names the file in reaches the player (its letterforms)
    (film / "kanji.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\n写真\n")
    text = (tmp_path / "s.toml").read_text()
    (tmp_path / "ja.toml").write_text(re.sub(r"(?m)^captions = .*$",
                                             'captions = { ja = "film/kanji.srt" }', text))
    show = Show(load(tmp_path / "ja.toml"), ShowConfig(listen="udp://127.0.0.1:0",
                                                       output="null", fps=FPS),
                keys.units, keys.cue_signing, tmp_path / "frames.csv", realtime=False)
    got = show._clip("a")
    show.receiver.close()
    show.cues.close()
    assert (got.captions.name, got.captions_language) == ("kanji.srt", "ja")
    for bad in ("o", "e n", "english!"):
        with pytest.raises(ValueError, match="captions"):
            check_setting(bad)


@pytest.mark.parametrize("name,data", [
    ("zero.srt", b""), ("blank.srt", b" \r\n\r\n \n"), ("bom.vtt", b"\xef\xbb\xbf"),
    ("untimed.srt", b"1\n00:00:01,000 --> 00:00:01,000\n\n"),
    ("events.ass", "[Script Info]\nScriptType: v4.00+\n".encode("utf-16"))])
def test_story_check_warns_of_a_file_without_a_cue(tmp_path, name, data):
    (tmp_path / "c.mp4").write_bytes(b"")  # story check's verdict on the clip is not ours
    (tmp_path / name).write_bytes(data)
    (tmp_path / "s.toml").write_text('start = "s0"\n[segments.s0]\nmedia = "c.mp4"\n'
                                     f'duration_s = 1\ncaptions = "{name}"\n')
    r = subprocess.run([*EMPATHY, "story", "check", str(tmp_path / "s.toml")],
                       capture_output=True, text=True, timeout=120)
    said = [s for s in (r.stdout + r.stderr).splitlines() if name in s]
    assert len(said) == 1 and "warning" in said[0] and "no cue" in said[0], r.stdout + r.stderr
