"""XDF export: one stream per seat, a marker stream and the picture's frame times.

XDF (the Extensible Data Format of Lab Streaming Layer and LabRecorder) keeps every sample
with its own time stamp, so nothing is resampled here: a researcher can align each
heartbeat-derived sample with the frame that was on screen. Written to the XDF 1.0 spec
(github.com/sccn/xdf/wiki/Specifications): the magic `XDF:`, then chunks of
[length-of-length byte][length][tag uint16][content], all little-endian.

Streams, all on the host clock in seconds (the clock and each unit's sync quality are in
the stream headers' <desc>):
- `empathy seat <pseudonym>` (type Physio): the wire's measures, one sample per packet;
- `empathy markers` (type Markers, string): segments, decisions with their reasons, grade
  changes, one JSON object per marker;
- `empathy picture` (type VideoFrames): frame number, seconds into the segment, luminance;
- `empathy sensor faults` (type Markers, string): each seat's sensor fault, a JSON object
  at its start and one at its end (`event`: start | end; `ended`: how): that stretch of
  the seat's stream is no body's.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from empathy import __version__
from empathy.host.session.exports.recording import MEASURES, Recording

FILE_HEADER, STREAM_HEADER, SAMPLES, CLOCK_OFFSET, BOUNDARY, STREAM_FOOTER = 1, 2, 3, 4, 5, 6
CHUNK_SAMPLES = 2048  # samples per [Samples] chunk, as LabRecorder writes them in pieces


def _varlen(n: int) -> bytes:
    if n < 256:
        return struct.pack("<BB", 1, n)
    if n < 1 << 32:
        return struct.pack("<BI", 4, n)
    return struct.pack("<BQ", 8, n)


class XdfWriter:
    def __init__(self, path: Path):
        self.f = open(path, "wb")
        self.f.write(b"XDF:")
        self._chunk(FILE_HEADER, b'<?xml version="1.0"?><info><version>1.0</version></info>')
        self.next_id = 1

    def _chunk(self, tag: int, content: bytes, stream: int | None = None) -> None:
        body = struct.pack("<H", tag) + (b"" if stream is None else struct.pack("<I", stream))
        body += content
        self.f.write(_varlen(len(body)) + body)

    def stream(self, name: str, kind: str, channels: list[tuple[str, str]], srate: float,
               fmt: str, desc: str = "") -> int:
        sid, self.next_id = self.next_id, self.next_id + 1
        chans = "".join(f"<channel><label>{escape(c)}</label><unit>{escape(u)}</unit></channel>"
                        for c, u in channels)
        xml = (f'<?xml version="1.0"?><info><name>{escape(name)}</name><type>{escape(kind)}'
               f"</type><channel_count>{len(channels)}</channel_count><nominal_srate>{srate}"
               f"</nominal_srate><channel_format>{fmt}</channel_format>"
               f"<source_id>empathy-{sid}</source_id><version>1.1</version>"
               f"<desc><channels>{chans}</channels>{desc}</desc></info>")
        self._chunk(STREAM_HEADER, xml.encode(), sid)
        return sid

    def numeric(self, sid: int, stamps_s: np.ndarray, values: np.ndarray) -> None:
        """Samples of a double64 stream: stamps (n,), values (n, channels)."""
        values = np.ascontiguousarray(values, "<f8")
        for a in range(0, len(stamps_s), CHUNK_SAMPLES):
            ts, vs = stamps_s[a:a + CHUNK_SAMPLES], values[a:a + CHUNK_SAMPLES]
            rows = b"".join(b"\x08" + struct.pack("<d", t) + v.tobytes() for t, v in zip(ts, vs))
            self._chunk(SAMPLES, _varlen(len(ts)) + rows, sid)

    def strings(self, sid: int, stamps_s: list[float], texts: list[str]) -> None:
        for a in range(0, len(texts), CHUNK_SAMPLES):
            rows = b""
            for t, text in zip(stamps_s[a:a + CHUNK_SAMPLES], texts[a:a + CHUNK_SAMPLES]):
                raw = text.encode()
                rows += b"\x08" + struct.pack("<d", t) + _varlen(len(raw)) + raw
            self._chunk(SAMPLES, _varlen(len(texts[a:a + CHUNK_SAMPLES])) + rows, sid)

    def close_stream(self, sid: int, span: tuple, t_first: float, t_last: float) -> None:
        """span: the stream's (first stamp, last stamp, sample count), `_span`."""
        # Our stamps are already on the host clock: offsets of 0 at both ends say so to
        # readers that synchronise clocks (pyxdf does by default).
        for t in (t_first, t_last):
            self._chunk(CLOCK_OFFSET, struct.pack("<dd", t, 0.0), sid)
        first, last, count = span
        xml = (f'<?xml version="1.0"?><info><first_timestamp>{first}</first_timestamp>'
               f"<last_timestamp>{last}</last_timestamp><sample_count>{count}"
               f"</sample_count></info>")
        self._chunk(STREAM_FOOTER, xml.encode(), sid)

    def close(self) -> None:
        self.f.close()


def _span(stamps_s) -> tuple:
    return (stamps_s[0], stamps_s[-1], len(stamps_s)) if len(stamps_s) else (0.0, 0.0, 0)


def _clock_desc(rec: Recording, unit: str | None = None) -> str:
    note = rec.clock_note()
    sync = note["units"].get(unit) if unit is not None else None
    return (f"<clock><source>{escape(note['clock'])}</source>"
            f"<time_zero_host_s>{rec.t0_us / 1e6}</time_zero_host_s>"
            + (f"<sync_uncertainty_us>{sync['sync_uncertainty_us']}</sync_uncertainty_us>"
               f"<median_rtt_us>{sync['median_rtt_us']}</median_rtt_us>"
               f"<drift_ppm>{sync['drift_ppm']}</drift_ppm>" if sync else
               "<sync_uncertainty_us>unknown</sync_uncertainty_us>" if unit is not None else "")
            + "</clock>"
            + f"<session>{escape(rec.session)}</session><film>{escape(rec.title)}</film>"
            + f"<acquisition><manufacturer>Empathy Engine</manufacturer>"
              f"<version>{__version__}</version></acquisition>")


def write(rec: Recording, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    dest = out / f"{rec.session}.xdf"
    lo, hi = (x / 1e6 for x in rec.span_us())
    w = XdfWriter(dest)
    try:
        for s in rec.series():  # a seat at a time: a long show's samples stay on disk
            seat = s.seat
            sid = w.stream(f"empathy seat {seat.label}", "Physio",
                           [(m.name, m.unit) for m in MEASURES], 10.0, "double64",
                           _clock_desc(rec, str(seat.unit_id)))
            stamps = s.ts_us / 1e6
            w.numeric(sid, stamps, np.column_stack([s.values[m.field] for m in MEASURES]))
            w.close_stream(sid, _span(stamps), lo, hi)
        sid = w.stream("empathy markers", "Markers", [("marker", "")], 0.0, "string",
                       _clock_desc(rec))
        stamps = [m.ts_us / 1e6 for m in rec.markers]
        w.strings(sid, stamps, [m.json() for m in rec.markers])
        w.close_stream(sid, _span(stamps), lo, hi)
        _faults(w, rec, lo, hi)
        _picture(w, rec, lo, hi)
    finally:
        w.close()
    return [dest]


def _faults(w: XdfWriter, rec: Recording, lo: float, hi: float) -> None:
    marks, end = [], rec.span_us()[1]
    for f in rec.faults:
        said = {"seat": f.seat_id, "fault": f.fault, "text": f.text}
        marks += [(f.start_us, {**said, "event": "start"}),
                  (f.end_or(end), {**said, "event": "end", "ended": f.ended})]
    marks.sort(key=lambda m: m[0])
    sid = w.stream("empathy sensor faults", "Markers", [("fault", "")], 0.0, "string",
                   _clock_desc(rec))
    stamps = [t / 1e6 for t, _ in marks]
    w.strings(sid, stamps, [json.dumps(m) for _, m in marks])
    w.close_stream(sid, _span(stamps), lo, hi)


def _picture(w: XdfWriter, rec: Recording, lo: float, hi: float) -> None:
    """The frame log, read in whole chunks of CHUNK_SAMPLES (the chunks a single write
    would make) as it is written: a 3-h show's is 259,200 rows."""
    frames, fps = rec.frames, 0.0
    first, last = np.float64(frames.first_us), np.float64(frames.last_us)
    if frames.count > 1:
        fps = round((frames.count - 1) / ((last - first) / 1e6), 3)
    sid = w.stream("empathy picture", "VideoFrames",
                   [("frame", "count"), ("clip_t", "s"), ("luminance", "a.u.")], fps,
                   "double64", _clock_desc(rec))
    for batch in frames.batches(2 * CHUNK_SAMPLES):
        w.numeric(sid, batch[:, 0] / 1e6, batch[:, 1:])
    w.close_stream(sid, (first / 1e6, last / 1e6, frames.count) if frames.count else _span([]),
                   lo, hi)
