"""What a media file is, from GStreamer's discoverer: container, codecs, size, rate, sound.

The player decodes with decodebin (decode.py); the discoverer uses the same plugin registry,
so a file it cannot read, or one whose decoder is missing, is one the show cannot play.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from .gst import Gst, bus_error, set_file
from .hdr import of_caps

# Caps names of the video codecs we can name for a platform's hardware decoders.
CODECS = {"video/x-h264": "h264", "video/x-h265": "h265", "video/x-av1": "av1",
          "video/x-vp9": "vp9", "video/x-vp8": "vp8", "video/x-prores": "prores",
          "image/jpeg": "mjpeg", "video/x-theora": "theora", "video/x-dnxhd": "dnxhd"}


@dataclass(frozen=True)
class ClipInfo:
    path: str
    container: str        # "ISO MP4/M4A", "Matroska", ... ("" for a bare stream)
    video_codec: str      # short name: h264, h265, av1, vp9... or the caps name
    video_desc: str       # what GStreamer calls it: "H.264 (High Profile)"
    width: int            # as shown: a phone's rotation tag applied (decode.py's videoflip)
    height: int
    fps: float
    duration_s: float
    audio_codec: str      # "" when the file has no sound
    audio_rate: int
    audio_channels: int
    seekable: bool
    hdr: str | None = None  # 'hlg' or 'pq' (hdr.source_of): the player converts it to SDR

    def to_dict(self) -> dict:
        return asdict(self)


class ProbeError(RuntimeError):
    """The file is not a video the show can play; the message says why."""


def _pbutils():
    Gst()
    import gi

    gi.require_version("GstPbutils", "1.0")
    from gi.repository import GstPbutils

    return GstPbutils


def _codec(caps) -> tuple[str, str]:
    if caps is None or not caps.get_size():
        return "", ""
    name = caps.get_structure(0).get_name()
    if name == "video/mpeg":
        ok, version = caps.get_structure(0).get_int("mpegversion")
        name = f"mpeg{version}" if ok else "mpeg"
    short = CODECS.get(name, name.removeprefix("video/x-").removeprefix("video/"))
    return short, _pbutils().pb_utils_get_codec_description(caps) or short


def _shown_size(v) -> tuple[int, int]:
    """Width and height as the player shows the stream: turned by its orientation tag."""
    w, h = v.get_width(), v.get_height()
    tags = v.get_tags()
    ok, turn = tags.get_string("image-orientation") if tags is not None else (False, "")
    return (h, w) if ok and turn.endswith(("-90", "-270")) else (w, h)


def describe(path: Path | str, timeout_s: float = 10.0) -> ClipInfo:
    """Probe one file; ProbeError when it is unreadable, has no picture or lacks a decoder."""
    Gst_, pb = Gst(), _pbutils()
    path = Path(path)
    if not path.is_file():
        raise ProbeError(f"{path}: no such file")
    try:
        disc = pb.Discoverer.new(int(timeout_s * Gst_.SECOND))
        info = disc.discover_uri(path.resolve().as_uri())
    except Exception as e:  # GLib.Error: not a media file, truncated, unknown type...
        msg = getattr(e, "message", None) or str(e)
        raise ProbeError(f"{path}: not a video GStreamer can read ({msg})") from None
    result = info.get_result()
    if result == pb.DiscovererResult.MISSING_PLUGINS:
        missing = ", ".join(info.get_missing_elements_installer_details() or []) or "?"
        raise ProbeError(f"{path}: no decoder installed for it ({missing})")
    if result != pb.DiscovererResult.OK:
        raise ProbeError(f"{path}: cannot probe ({result.value_nick})")
    vids = info.get_video_streams()
    if not vids and _has_video_track(path):
        raise ProbeError(f"{path}: its picture lasts under a fifth of it (the sound runs on), "
                         "which GStreamer takes for a preview and leaves out: cut the clip to "
                         "its picture's length (ffmpeg -i IN -t SECONDS -c copy OUT)")
    if not vids or vids[0].is_image():
        raise ProbeError(f"{path}: no video stream")
    v = vids[0]
    top = info.get_stream_info()
    container = ""
    if isinstance(top, pb.DiscovererContainerInfo):
        container = _codec(top.get_caps())[1]
    vcodec, vdesc = _codec(v.get_caps())
    den = v.get_framerate_denom()
    fps = v.get_framerate_num() / den if den else 0.0
    auds = info.get_audio_streams()
    acodec = _codec(auds[0].get_caps())[1] if auds else ""
    duration = info.get_duration()
    if duration in (0, Gst_.CLOCK_TIME_NONE):  # not said: a short MPEG-TS (an HLS segment)
        duration = (picture_end(path, 0.0) or 0.0) * Gst_.SECOND
    return ClipInfo(str(path), container, vcodec, vdesc, *_shown_size(v),
                    round(fps, 3), duration / Gst_.SECOND, acodec,
                    auds[0].get_sample_rate() if auds else 0,
                    auds[0].get_channels() if auds else 0, bool(info.get_seekable()),
                    of_caps(v.get_caps()))


_MP4_VIDEO = re.compile(rb"hdlr.{8}vide", re.S)  # a track's handler box: a picture track
_MP4_INDEX_BYTES = 4 << 20  # where a film's index (moov) is looked for: its start and end


def _has_video_track(path: Path) -> bool:
    """An MP4/MOV with a picture track in its index (moov, at its start or end). qtdemux
    leaves out a picture track shorter than a fifth of the film: the discoverer then finds
    no video in a clip that has one."""
    with path.open("rb") as f:
        head = f.read(_MP4_INDEX_BYTES)
        f.seek(max(len(head), f.seek(0, 2) - _MP4_INDEX_BYTES))
        tail = f.read(_MP4_INDEX_BYTES)
    return head[4:8] == b"ftyp" and any(_MP4_VIDEO.search(b) for b in (head, tail))


def probe(path: Path | str) -> tuple[int, int, float, float]:
    """(width, height, fps, duration_s) of a video file; RuntimeError if unreadable."""
    c = describe(path)
    return c.width, c.height, c.fps, c.duration_s


def picture_end(path: Path | str, after_s: float, timeout_s: float = 10.0) -> float | None:
    """Where the picture's last frame ends (seconds), read from the frames the demuxer gives
    from `after_s` on, without decoding them: `after_s` when none comes after it, None for
    a stream with no time stamps. The discoverer's duration is the container's, its
    longest stream's (sound may run on past the picture), or a header's claim."""
    Gst_ = Gst()
    pipe = Gst_.parse_launch("filesrc name=src ! parsebin name=parse "
                             "appsink name=sink sync=false max-buffers=2")
    set_file(pipe.get_by_name("src"), path)
    sink = pipe.get_by_name("sink")

    def pad_added(_parse, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        video = caps.get_size() and caps.get_structure(0).get_name().startswith(
            ("video/", "image/jpeg"))
        if video and not sink.get_static_pad("sink").is_linked():
            pad.link(sink.get_static_pad("sink"))
        else:  # the sound and the rest are dropped as they come
            drop = Gst_.ElementFactory.make("fakesink")
            drop.set_property("async", False)
            drop.set_property("sync", False)
            pipe.add(drop)
            drop.sync_state_with_parent()
            pad.link(drop.get_static_pad("sink"))

    pipe.get_by_name("parse").connect("pad-added", pad_added)

    def frame_at(sample, end: bool) -> float | None:  # None: no time stamp
        buf = sample.get_buffer()
        if buf.pts == Gst_.CLOCK_TIME_NONE:
            return None
        dur = buf.duration if end and buf.duration != Gst_.CLOCK_TIME_NONE else 0
        t = sample.get_segment().to_stream_time(Gst_.Format.TIME, buf.pts + dur)
        return after_s if t == Gst_.CLOCK_TIME_NONE else t / Gst_.SECOND  # the film's time

    wait = int(timeout_s * Gst_.SECOND)
    try:  # PLAYING at once: a sink in PAUSED holds the demuxer's one thread (qtdemux)
        pipe.set_state(Gst_.State.PLAYING)
        sample = sink.emit("try-pull-sample", wait)
        if sample is None:
            raise ProbeError(f"{path}: no picture ({bus_error(pipe) or 'nothing in time'})")
        # Clip time starts at the first frame (as the player's does): an MPEG-TS's at 0.7 s.
        zero = frame_at(sample, end=False) or 0.0
        ends = [] if after_s > 0 else [frame_at(sample, end=True)]
        sample = None  # a sample held while the appsink pulls the next is a GStreamer-CRITICAL
        if after_s > 0 and not pipe.seek_simple(
                Gst_.Format.TIME, Gst_.SeekFlags.FLUSH | Gst_.SeekFlags.KEY_UNIT,
                int((zero + after_s) * Gst_.SECOND)):
            return None  # not seekable: not read through to its end here
        while (sample := sink.emit("try-pull-sample", wait)) is not None:
            ends.append(frame_at(sample, end=True))
            sample = None
    finally:
        pipe.set_state(Gst_.State.NULL)
    return None if None in ends else max([after_s, *(round(e - zero, 9) for e in ends)])  # ns
