"""The decoder's GStreamer pipeline (decode.py runs it): file -> upright, progressive frames
at the picture's size and rate -> RGB (RGBA64 for deep sources), and the sound."""

from __future__ import annotations

from pathlib import Path

from . import audio
from .gst import Gst, fps_fraction, set_file, set_thread_nice

# Decoding runs ahead of the screen (a second of frames, and the next decision's candidates),
# so it is less urgent than grading the frame due next: its threads run this much nicer
# (gst.set_thread_nice). That only matters when both cores are busy: idle CPU still goes to
# decoding at full speed.
DECODE_NICE = 4


# image-orientation tag -> videoflip's video-direction. Not video-direction=auto: that never
# lets videoflip pass frames through untouched (a copy of each: decoding 720p ~25 % slower).
_TURNS = {"rotate-90": "90r", "rotate-180": "180", "rotate-270": "90l",
          "flip-rotate-0": "horiz", "flip-rotate-90": "ul-lr", "flip-rotate-180": "vert",
          "flip-rotate-270": "ur-ll"}


def _turn_by_tag(pad, info, flip):
    """A phone's clip is stored as the sensor saw it and tagged with how to turn it."""
    Gst_ = Gst()
    event = info.get_event()
    if event is not None and event.type == Gst_.EventType.TAG:
        ok, turn = event.parse_tag().get_string("image-orientation")
        if ok and turn in _TURNS:
            Gst_.util_set_object_arg(flip, "video-direction", _TURNS[turn])
    return Gst_.PadProbeReturn.OK


def screen_caps(width: int | None, height: int | None, fps: float | None) -> str:
    """What the appsink takes: the picture's size and rate; videoconvert picks RGB for 8-bit
    sources and RGBA64_LE for deeper ones (no loss)."""
    caps = "video/x-raw,format=(string){RGB,RGBA64_LE}"
    if width and height:
        caps += f",width={int(width)},height={int(height)},pixel-aspect-ratio=1/1"
    if fps:
        f = fps_fraction(fps)
        caps += f",framerate={f.numerator}/{f.denominator}"
    return caps


def pipeline(path: Path, width: int | None, height: int | None, fps: float | None):
    Gst_ = Gst()
    caps = screen_caps(width, height, fps)
    # videoflip turns a phone's portrait clip upright (_turn_by_tag); it takes YUV up to 12
    # bits but no RGBA64, hence a conversion on each side (the first mostly passthrough).
    # A source bigger than the picture is scaled before the conversion to RGB (fit), one
    # smaller after it; the other videoscale passes frames through.
    # videorate makes the clip's frame rate match the show's, so one decoded frame = one tick.
    # The audio sink is async=false: a file without sound must not hold the pipeline in preroll.
    # deinterlace weaves a camcorder's fields (1080i) into frames; it passes progressive
    # video through untouched, but interlaced only in 8-bit (fit).
    desc = ("filesrc name=src ! decodebin name=dec "
            "dec. ! videoconvert ! capsfilter name=fields ! deinterlace ! videoflip name=flip ! "
            "videoscale ! capsfilter name=down ! videoconvert ! videoscale ! videorate ! "
            f"{caps} ! appsink name=sink sync=false drop=false "
            "dec. ! audioconvert ! audioresample ! audiorate ! "
            f"{audio.CAPS} ! appsink name=asink sync=false async=false")
    pipe = Gst_.parse_launch(desc)
    set_thread_nice(pipe, DECODE_NICE)
    set_file(pipe.get_by_name("src"), path)
    flip = pipe.get_by_name("flip")
    flip.get_static_pad("sink").add_probe(Gst_.PadProbeType.EVENT_DOWNSTREAM, _turn_by_tag,
                                          flip)
    return pipe, pipe.get_by_name("sink"), pipe.get_by_name("asink"), pipe.get_by_name("dec")


# What deinterlace takes when it weaves fields (its 8-bit formats): 4:4:4, 4:2:2, 4:2:0.
_FIELDS_8BIT = "video/x-raw,format=(string){Y444,Y42B,I420}"


def fit(pipe, caps, size: tuple[int | None, int | None]) -> None:
    """The pipeline set for the source's video. Interlaced video reaches deinterlace in a
    format it weaves (a 10-bit source is cut to 8 bits: passed through in 10, it stayed
    combed); progressive keeps its depth. A source with more pixels than the picture is
    scaled down in YUV first: converted first, a 4K clip for a 1080p screen became RGB
    (RGBA64 when deep) at 4K, 4x the pixels the picture needs (8K: 16x), before scaling.
    A smaller one keeps its size until it is RGB (scaled up first, 720p -> 1080p took 12.6
    ms CPU a frame, not 11.1; 10-bit 54, not 43), either way round: it may be turned."""
    s = caps.get_structure(0)
    if s.get_string("interlace-mode") not in (None, "progressive"):
        pipe.get_by_name("fields").set_property("caps", Gst().Caps.from_string(_FIELDS_8BIT))
    (ok_w, w), (ok_h, h), (width, height) = s.get_int("width"), s.get_int("height"), size
    if not (width and height and ok_w and ok_h) or w * h == width * height:
        return  # the same size (or turned to it): nothing to choose, nothing to negotiate
    down = (f"video/x-raw,width={width},height={height},pixel-aspect-ratio=1/1"
            if w * h > width * height else
            f"video/x-raw,width={w},height={h};video/x-raw,width={h},height={w}")
    pipe.get_by_name("down").set_property("caps", Gst().Caps.from_string(down))
