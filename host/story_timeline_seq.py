"""A timeline clip whose file is one frame of a numbered run (a VFX shot: an EDL's
`shot010.1001.dpx`, an FCP XML's pathurl to one frame, an .otio ImageSequenceReference),
drafted as the image sequence it is: `shot010.####.dpx` at the timeline's rate, its colour
the format's default as a folder scan gives it, its in point found by frame number.

Where the timeline says where the clip starts in its file (.otio's available_range and
start_frame, FCP 7 XML's and .fcpxml's in points, counted from the frame the clip names),
that frame number is used. An EDL says only source timecode: a sequence whose first frame's
header says its timecode (DPX's TV header, EXR's timeCode: imgseq_header.timecode_of) is
mapped by it; one whose header says none has its frame numbers taken as its timecode
(frame N at N / rate s, so 00:00:41:17 at 24 fps is frame 1001, a VFX shot's first), the
sequence counterpart of a video file with no timecode counted from 00:00:00:00.
`--sequence-start TC` overrides both: the timecode of the frame the EDL names (plates
stamped 01:00:00:00 and numbered from 0001 or 1001). An event outside the frames on disk
is refused in one line.

An .otio ImageSequenceReference of every Nth frame (frame_step N: a shot rendered on twos,
a preview) names its files by the timeline's frame, `shot.1001`, `shot.1003`... as OTIO's
target_url_for_image_number does: the numbers between are the run's gaps, each held (the
player's rule for a gap), so every file shows for N frames of the timeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from empathy.host.player.imgseq import (STEP_MAX, SequenceError, default_colour, describe,
                                        find, format_colour, numbered)
from empathy.host.story_timeline import TIMECODE, ScaffoldError


def first_frame_url(ref) -> str:
    """The file of an ImageSequenceReference's start_frame, as its target_url_for_image_number
    would name it (that refuses a reference with no available_range)."""
    pad = max(1, min(int(ref.frame_zero_padding), 12))
    n = ref.start_frame
    return f"{ref.target_url_base}{ref.name_prefix}{'-' * (n < 0)}{abs(n):0{pad}d}{ref.name_suffix}"


class Sequences:
    """Each timeline clip that names one frame of a run, as its sequence: each run listed
    once (an EDL cuts one plate many times)."""

    def __init__(self, timeline: Path, start_tc: Optional[str]):
        self.timeline, self.start_tc = timeline, start_tc
        if start_tc is not None and not TIMECODE.match(start_tc):
            raise ScaffoldError(f"--sequence-start {start_tc!r}: a timecode hh:mm:ss:ff, e.g. "
                                "01:00:00:00")
        self.runs: dict[Path, tuple] = {}  # pattern -> (Sequence or None, colour, Header)
        self.absent: list[str] = []
        self.by_header: dict[str, str] = {}  # name -> what came of its header's timecode

    @staticmethod
    def pattern(media: Path) -> Optional[tuple[Path, int]]:
        """(shot010.####.dpx, 1001) where `media` is a numbered frame of an image format."""
        frame = numbered(media.name)
        if frame is None:
            return None
        head, pad, tail, number = frame
        return media.parent / f"{head}{'#' * pad}{tail}", number

    def draft(self, clip, media: Path, in_s: float, dur: float, known: bool) -> tuple:
        """(pattern, in_s, out_s, fps, colour, frame_step) of a sequence clip, in_s from its
        run's first frame on disk. `known`: in_s counts from the frame the clip names (not
        timecode)."""
        import opentimelineio as otio

        pattern, named = self.pattern(media)
        src = clip.trimmed_range()
        fps = src.duration.rate
        ref = clip.media_reference
        step = ref.frame_step if isinstance(ref, otio.schema.ImageSequenceReference) else 1
        if not (isinstance(step, int) and 1 <= step <= STEP_MAX):
            raise ScaffoldError(f"{self.timeline}: clip {clip.name!r}: an image sequence's "
                                f"frame_step of {step!r} (1 to {STEP_MAX} are played)")
        seq, colour, hd = self._run(pattern)
        tc = hd.timecode if hd is not None else None
        if known:
            frame = named + round(in_s * fps)
        elif self.start_tc is not None:
            frame = named + round(in_s * fps) - self._frames(self.start_tc, fps, "--sequence-start")
        elif tc is not None:  # (a header read: its run is here)
            frame = seq.first + round(in_s * fps) - self._frames(tc, fps, f"{pattern.name}'s "
                                                                       "first frame's header")
            self.by_header[pattern.name] = ("source timecode mapped by its header's timecode "
                                            f"({tc} at frame {seq.first}); --sequence-start "
                                            "overrides")
        else:
            frame = round(in_s * fps)
            if hd is not None and hd.timecode_bad:
                self.by_header[pattern.name] = (f"its header's timecode field {hd.timecode_bad}"
                                                " is none, ignored: its frame numbers are "
                                                "read as timecode")
        n = round(dur * fps)
        end = frame + n - 1
        end -= (end - named) % step  # the last file shown: every step-th number is one
        first = seq.first if seq else named
        if seq and (frame < seq.first or end > seq.last):
            how = ("relink the clip in the editor and export again" if known else
                   "check --sequence-start: the timecode of the frame the clip names"
                   if self.start_tc is not None else
                   f"its first frame's header says timecode {tc}: if that is not the plates', "
                   "give --sequence-start the timecode of the frame it names" if tc else
                   "its frame numbers read as timecode (frame N at N / rate s): give "
                   "--sequence-start the timecode of the frame it names")
            raise ScaffoldError(f"{self.timeline}: clip {clip.name!r} takes frames {frame}-"
                                f"{end} of {pattern.name}, whose frames here are "
                                f"{seq.first}-{seq.last} ({how})")
        if seq is None:
            self.absent.append(pattern.name)
        start = (frame - first) / fps
        return pattern, start, start + dur, fps, colour, step

    def _frames(self, tc: str, fps: float, what: str) -> int:
        import opentimelineio as otio

        try:
            return otio.opentime.from_timecode(tc, fps).to_frames()
        except ValueError as e:
            raise ScaffoldError(f"{self.timeline}: {what} {tc} at {fps:g} fps: {e} (give "
                                "--sequence-start)") from None

    def _run(self, pattern: Path) -> tuple:
        if pattern not in self.runs:
            seq, colour, hd = None, format_colour(pattern.suffix.lower()[1:]), None
            try:
                seq = find(pattern)
                hd = describe(seq).header
                colour = default_colour(seq, hd)
            except SequenceError:  # not here (yet), or its first frame unreadable: check says
                pass
            self.runs[pattern] = (seq, colour, hd)
        return self.runs[pattern]

    def say(self, warn) -> None:
        for name, said in sorted(self.by_header.items()):
            warn(f"{self.timeline}: {name}: {said}")
        if self.absent:
            names = sorted(set(self.absent))
            warn(f"{self.timeline}: {len(names)} image sequences with no frames here "
                 f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}): in points "
                 "count from the frame each clip names; give --media-root their folder")
