"""Everything the show will touch, checked before opening night (`empathy story check`).

The story's structure is checked by `story.load`; this module checks its files with the
player's own code: every LUT parsed by `player.cube` (what the grade reads), every clip
probed with GStreamer's discoverer (`player.probe`) and its first frame decoded by the
player's `Decoder` at the segment's in point, its last second demuxed (`probe.picture_end`)
to see its picture last the segment. It reports, each as `file:line: reason`:

errors    a media root that is not a folder; a missing, unreadable or fake clip; a clip
          cut short (its container promises more bytes than the file holds: a copy that
          stopped part-way); a clip with no picture or no decoder installed; a declared duration or range longer
          than the clip, or than its picture (the container's length is its longest
          stream's: sound may run on); a LUT missing or malformed (with the LUT's own line);
warnings  segments whose resolution, frame rate or codec differ from the rest (the player
          converts, but the look changes at the cut); segments without sound among ones
          with sound; a clip much longer than its declared duration (the whole clip plays);
          codecs the platform cannot decode in hardware (PLATFORMS); HDR clips (HLG, PQ)
          among SDR ones (the player converts them to SDR: player/hdr.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from empathy.host.player.captions import fallback_note
from empathy.host.player.captions import problem as captions_problem
from empathy.host.story import Story
from empathy.host.story_cutshort import cut_short

# Hardware video decoders per platform (codec short names from player.probe.CODECS).
# Raspberry Pi 5: the VideoCore VII block decodes HEVC only (4Kp60); H.264 is decoded in
# software on the Cortex-A76 cores (Raspberry Pi 5 product brief, "4Kp60 HEVC decoder").
# Jetson Orin: NVDEC through nvv4l2decoder takes H.264, H.265 and AV1 (NVIDIA DeepStream,
# Gst-nvvideo4linux2: "It supports H.264, H.265, AV1, JPEG and MJPEG formats").
PLATFORMS = {
    "pi5": ("Raspberry Pi 5", {"h265"}),
    "jetson-orin": ("Jetson Orin", {"h264", "h265", "av1", "mjpeg"}),
    "desktop": ("a desktop", None),  # None: no claim; decoders vary with the GPU
}
_DURATION_SLACK_S = 0.5  # a clip this much longer than declared is worth a warning (a sound
                         # tail past the picture is normal: the sample carries 50 ms)


@dataclass
class Problem:
    level: str           # "error" | "warning"
    file: str
    line: Optional[int]
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {'warning: ' if self.level == 'warning' else ''}{self.reason}"


@dataclass
class Report:
    story: Story
    problems: list[Problem] = field(default_factory=list)
    clips: dict = field(default_factory=dict)  # segment -> ClipInfo as a dict

    def _in_order(self, level: str) -> list[Problem]:
        return sorted((p for p in self.problems if p.level == level), key=lambda p: p.line or 0)

    @property
    def errors(self) -> list[Problem]:
        return self._in_order("error")

    @property
    def warnings(self) -> list[Problem]:
        return self._in_order("warning")

    def add(self, level: str, reason: str, *keys: str) -> None:
        self.problems.append(Problem(level, str(self.story.path), self.story.line(*keys), reason))

    def to_dict(self) -> dict:
        return {"errors": [asdict(p) for p in self.errors],
                "warnings": [asdict(p) for p in self.warnings], "clips": self.clips}


def platform_of(output: str | list[str] = "auto") -> str:
    """The platform a show would run on here, by the player's own output detection; for
    an output chain (a host config's list), its first output's."""
    from empathy.host.player.output_names import detect

    first = output[0] if isinstance(output, list) else output
    kind = detect() if first == "auto" else first.split(":", 1)[0]
    return {"nv3d": "jetson-orin", "kms": "pi5"}.get(kind, "desktop")


def check_files(story: Story, platform: str = "desktop", decode: bool = True,
                show_fps: Optional[float] = None, progress=None) -> Report:
    """Every clip and LUT of `story`; the report lists errors and warnings in file order.
    show_fps: the show's frame rate (host config), which clips at another rate are
    converted to; progress(segment) is called as each segment is done."""
    rep = Report(story)
    root = story.media_root
    if root is not None and not root.is_dir():
        rep.add("error", f"media root {root} is not a folder (unreachable: nothing can play)",
                "media_root")
        return rep
    luts: dict[Path, Optional[str]] = {}
    probed: dict[Path, object] = {}  # one probe per file: ranges often share a master
    captions: dict[Path, Optional[tuple[str, str]]] = {}
    for sid, seg in story.segments.items():
        _check_clip(rep, sid, seg, decode, probed)
        if seg.lut is not None:
            if seg.lut not in luts:
                luts[seg.lut] = _lut_error(seg.lut)
            if luts[seg.lut]:
                rep.add("error", f"segment {sid!r}: LUT {luts[seg.lut]}", sid, "lut")
        for lang, path in seg.captions:  # each file read as the player reads it, once
            if path not in captions:  # (ranges of one master file share its captions)
                captions[path] = captions_problem(path, root or story.path.parent,
                                                  lang or None)
            said = captions[path]
            if said:
                rep.add(said[0], f"segment {sid!r}: captions {said[1]}", sid, "captions")
        if progress:
            progress(sid)
    _check_stand_ins(rep, story)
    _check_consistency(rep)
    _check_dynamic_range(rep)
    if show_fps:
        _check_rate(rep, show_fps)
    _check_platform(rep, platform)
    return rep


def _lut_error(path: Path) -> Optional[str]:
    from empathy.host.player.lutfile import CubeError, read_lut

    if not path.is_file():
        return f"{path} {_not_a_file(path)}"
    try:
        read_lut(path, keep=True)  # kept: `host run` grades with it next (read once)
    except CubeError as e:
        return str(e)  # names the LUT file and its line
    except OSError as e:
        return f"{path}: cannot read: {e}"
    return None


def _not_a_file(path: Path) -> str:
    return "is not a regular file (a folder, a pipe or a device)" if path.exists() \
        else "not found"


def _file_error(rep: Report, sid: str, seg) -> bool:
    """Whether the segment's media file is missing, unreadable or cut short (said)."""
    if not seg.media.is_file():  # a FIFO is never opened: it would wait for a writer
        rep.add("error", f"segment {sid!r}: media file {seg.media} {_not_a_file(seg.media)}",
                sid, "media")
        return True
    try:
        cut = cut_short(seg.media)  # first: the probe of a cut Matroska file times out (10 s)
    except OSError as e:  # a copy only its owner may read: one problem, the rest still listed
        rep.add("error", f"segment {sid!r}: media file {seg.media}: cannot read it "
                f"({e.strerror})", sid, "media")
        return True
    if cut:
        part, end, size = cut
        rep.add("error", f"segment {sid!r}: {seg.media.name} is cut short (a copy that stopped "
                f"part-way?): its {part} runs to byte {end:,} but the file ends at {size:,} "
                f"({size / end:.0%}): copy it again", sid, "media")
    return bool(cut)


def _describe(rep: Report, sid: str, seg):
    from empathy.host.player.probe import describe

    if seg.rate is None:
        return describe(seg.media)
    from empathy.host.player.imgseq import clip_info  # an image sequence: its frames' names

    info, gaps = clip_info(seg.media, seg.rate, seg.colour, seg.frame_step)
    if gaps:
        rep.add("warning", f"segment {sid!r}: {gaps}", sid, "media")
    return info


def _check_clip(rep: Report, sid: str, seg, decode: bool, probed: dict) -> None:
    from empathy.host.player.probe import ProbeError

    if seg.rate is None and _file_error(rep, sid, seg):
        return
    if seg.media not in probed:
        try:
            probed[seg.media] = _describe(rep, sid, seg)
        except ProbeError as e:
            probed[seg.media] = e
    info = probed[seg.media]
    if isinstance(info, ProbeError):
        rep.add("error", f"segment {sid!r}: {info}", sid, "media")
        return
    rep.clips[sid] = info.to_dict()
    frame = 1.0 / info.fps if info.fps > 0 else 0.04
    if seg.out_s is not None and seg.out_s > info.duration_s + frame:
        rep.add("error", f"segment {sid!r}: out_s = {seg.out_s:g} but {seg.media.name} lasts "
                f"{info.duration_s:.2f} s", sid, "out_s")
        return
    if seg.in_s >= info.duration_s:
        rep.add("error", f"segment {sid!r}: in_s = {seg.in_s:g} but {seg.media.name} lasts "
                f"{info.duration_s:.2f} s", sid, "in_s")
        return
    plays = (seg.out_s if seg.out_s is not None else info.duration_s) - seg.in_s
    short = seg.duration_s > plays + frame
    if short:
        rep.add("error", f"segment {sid!r}: duration_s = {seg.duration_s:g} but "
                f"{seg.media.name} {'from in_s ' if seg.in_s else ''}lasts {plays:.2f} s "
                f"(the segment would be cut short)", sid, "duration_s")
    elif seg.out_s is None and plays > seg.duration_s + _DURATION_SLACK_S:
        rep.add("warning", f"segment {sid!r}: {seg.media.name} lasts {plays:.2f} s but "
                f"duration_s = {seg.duration_s:g}: the whole clip plays (set out_s to cut it)",
                sid, "duration_s")
    if decode:
        why = _first_frame_error(seg)
        if why:
            rep.add("error", f"segment {sid!r}: {seg.media.name}: the player cannot decode "
                    f"it: {why}", sid, "media")
            return
        ends = None if short or seg.rate else _picture_end(seg, frame)
        if ends is not None:
            rep.add("error", f"segment {sid!r}: duration_s = {seg.duration_s:g} but the "
                    f"picture of {seg.media.name} ends {ends} (its container says "
                    f"{info.duration_s:.2f} s: sound running on, or a header that lies); the "
                    f"show's clip ends with its picture", sid, "duration_s")


_CHECK_SIZE = (64, 36)  # the picture `story check` decodes to


def _first_frame_error(seg) -> Optional[str]:
    """Decode the segment's first frame with the player's Decoder (at its in point), small
    and on one thread: only whether it decodes matters, and an 8K clip's first frame at full
    size, a decoder thread per core, took 1 GB of a Pi's 4-8."""
    from empathy.host.player.decode import Decoder, End

    dec = Decoder(seg.media, *_CHECK_SIZE, queue_size=1, in_s=seg.in_s, out_s=seg.out_s,
                  threads=1, rate=seg.rate, colour=seg.colour)
    try:
        item = dec.get(timeout=30.0)
        if item is None:
            return "no frame within 30 s"
        return item.error or "no video frames decoded" if isinstance(item, End) else None
    finally:
        dec.stop()
        dec.join(10.0)  # its pipeline shut down before we go on (or the process exits)


def _picture_end(seg, frame: float) -> Optional[str]:
    """Where the picture ends ("at 4.04 s", "before 7.00 s") when it ends a frame or more
    before the segment does, else None (a bare stream, with no times, or one the demuxer
    gives nothing of in time, is not judged here: the first frame's decode has been)."""
    from empathy.host.player.probe import ProbeError, picture_end

    end = seg.in_s + seg.duration_s
    start = max(seg.in_s, end - 1.0)
    try:
        shown = picture_end(seg.media, start)
    except ProbeError:
        return None
    if shown is None or shown >= end - frame:
        return None
    return f"before {start:.2f} s" if shown <= start else f"at {shown:.2f} s"


def _fmt(info: dict) -> str:
    return f"{info['width']}x{info['height']} {info['fps']:g} fps {info['video_codec']}"


def _check_stand_ins(rep: Report, story) -> None:
    """captions_language met by another tag of its language (en-GB for en, zh-HK for
    zh-TW): said once for each file tag standing in, with its segments."""
    stand_ins: dict[str, list[str]] = {}
    for sid, seg in story.segments.items():
        note = fallback_note(seg.captions, story.captions_language)
        if note:
            stand_ins.setdefault(note, []).append(sid)
    for note, sids in stand_ins.items():
        rep.add("warning", f"{note}: segment{'s' * (len(sids) > 1)} "
                f"{', '.join(map(repr, sids[:5]))}{' …' * (len(sids) > 5)}",
                "captions_language")


def _check_consistency(rep: Report) -> None:
    """Segments that differ from most of the others in size, rate, codec or sound."""
    clips = rep.clips
    if len(clips) < 2:
        return
    for key, what in ((lambda c: (c["width"], c["height"]), "resolution"),
                      (lambda c: c["fps"], "frame rate"), (lambda c: c["video_codec"], "codec")):
        common, n = Counter(key(c) for c in clips.values()).most_common(1)[0]
        rest = next(o for o in clips.values() if key(o) == common)  # once, not per clip
        for sid, c in clips.items():
            if key(c) != common:
                rep.add("warning", f"segment {sid!r}: {Path(c['path']).name} differs in {what} "
                        f"({_fmt(c)}) from the rest ({_fmt(rest)}, {n} of {len(clips)}): the "
                        f"player converts it to the show's size and rate", sid, "media")
    with_sound = [sid for sid, c in clips.items() if c["audio_codec"]]
    if with_sound and len(with_sound) < len(clips):
        for sid, c in clips.items():
            if not c["audio_codec"]:
                rep.add("warning", f"segment {sid!r}: {Path(c['path']).name} has no sound; "
                        f"{len(with_sound)} other segments do (silence while it plays)",
                        sid, "media")


def dynamic_range(info: dict) -> str:
    """One clip's line: what it is and what the player does with it."""
    from empathy.host.player.hdr import describe

    return f"{Path(info['path']).name}: {describe(info.get('hdr'))}"


def _check_dynamic_range(rep: Report) -> None:
    """HDR clips among SDR ones: each shown converted, so a cut between them does not jump in
    brightness, but the artist should know their look meets converted footage."""
    hdr = [sid for sid, c in rep.clips.items() if c["hdr"]]
    sdr = len(rep.clips) - len(hdr)
    for sid in hdr if sdr else []:
        rep.add("warning", f"segment {sid!r}: {dynamic_range(rep.clips[sid])}, among {sdr} "
                f"SDR clip{'s' if sdr > 1 else ''} (its reference white meets theirs: no jump "
                f"in brightness at a cut; check its look on it)", sid, "media")


def _check_rate(rep: Report, show_fps: float) -> None:
    for sid, c in rep.clips.items():
        if c["fps"] and abs(c["fps"] - show_fps) > 0.01:
            rep.add("warning", f"segment {sid!r}: {Path(c['path']).name} is {c['fps']:g} fps; "
                    f"the show runs at {show_fps:g} fps (frames are "
                    f"{'dropped' if c['fps'] > show_fps else 'repeated'} to match)", sid, "media")


def _check_platform(rep: Report, platform: str) -> None:
    name, hardware = PLATFORMS[platform]
    if hardware is None:
        return
    for sid, c in rep.clips.items():
        if c["video_codec"] not in hardware:
            rep.add("warning", f"segment {sid!r}: {Path(c['path']).name} is {c['video_desc']}, "
                    f"which {name} cannot decode in hardware (it decodes "
                    f"{', '.join(sorted(hardware))}); software decoding takes CPU the grade "
                    f"needs: re-encode as {'HEVC' if 'h265' in hardware else 'H.264'}",
                    sid, "media")
