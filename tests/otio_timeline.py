"""Write the tests' 3-clip editor timeline with the OpenTimelineIO API, in its own process.

    python tests/otio_timeline.py OPENING.mp4 MASTER.mp4 OUT.otio [OUT.edl OUT.xml ...]

A separate process because OpenTimelineIO's plugin manifest is loaded through its C++
bindings, which crashed once inside the long-lived test process after hundreds of other
extension modules had loaded (it never did in a process of its own, as `story new` runs).
"""

import sys

import opentimelineio as otio

FPS = 25


def timeline(opening: str, master: str) -> otio.schema.Timeline:
    rt = lambda frames: otio.opentime.RationalTime(frames, FPS)  # noqa: E731
    tl = otio.schema.Timeline(name="My Cut")
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    tl.tracks.append(track)
    for name, path, first, n, length in (("Opening", opening, 0, 50, 50),
                                         ("The Chase", master, 25, 30, 150),
                                         ("Ending", master, 100, 20, 150)):
        ref = otio.schema.ExternalReference(
            target_url=path, available_range=otio.opentime.TimeRange(rt(0), rt(length)))
        track.append(otio.schema.Clip(name=name, media_reference=ref,
                                      source_range=otio.opentime.TimeRange(rt(first), rt(n))))
    track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(0))))
    return tl


if __name__ == "__main__":
    tl = timeline(sys.argv[1], sys.argv[2])
    for out in sys.argv[3:]:  # the adapter comes from the suffix: otio_json, cmx_3600, fcp_xml
        otio.adapters.write_to_file(tl, out)
