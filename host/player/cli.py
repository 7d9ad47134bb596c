"""`empathy lut check|apply|preview`: inspect LUT files (.cube, .3dl, .spi3d, .spi1d, .csp,
.clf: lutfile.py) and try them on pictures.

numpy (with the LUT readers) is imported by the verbs: `--help` and argparse's errors cost
the interpreter (`lut check --help` 0.20 -> 0.06 CPU-s)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from empathy.errors import UserError

if TYPE_CHECKING:
    import numpy as np

    from .cube import Cube

VIDEO_EXT = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}


def _err(msg: str) -> int:
    """A user's mistake: the CLI's error boundary prints it as `empathy lut VERB: msg`."""
    raise UserError(msg)


def describe(c: Cube) -> dict:
    d = {"title": c.title, "kind": c.kind,
         "size_1d": None if c.lut1d is None else len(c.lut1d),
         "size_3d": None if c.lut3d is None else c.lut3d.shape[0],
         "domain_min": list(c.domain_min), "domain_max": list(c.domain_max),
         "format": c.origin}
    if c.kind == "shaper+3D":
        d["lut3d_domain"] = [list(v) for v in c.lut3d_domain]
    return d


def _check(args) -> int:
    from .lutfile import CubeError, read_lut

    try:
        c = read_lut(args.file)
    except CubeError as e:
        if args.json:
            print(json.dumps({"ok": False, "path": e.path, "line": e.line, "error": e.message}))
        return _err(str(e))
    d = describe(c)
    if args.json:
        print(json.dumps({"ok": True, "path": str(args.file), **d}))
        return 0
    sizes = " + ".join(f"{k[-2:].upper()} {v}" for k, v in d.items()
                       if k.startswith("size") and v)
    print(f"{args.file}: ok\n  format  {c.origin}\n  title   {c.title or '-'}\n"
          f"  kind    {c.kind} ({sizes})\n"
          f"  domain  {tuple(c.domain_min)} .. {tuple(c.domain_max)}")
    if "lut3d_domain" in d:
        print(f"  3D domain {d['lut3d_domain'][0]} .. {d['lut3d_domain'][1]}")
    return 0


def _read_image(path: Path) -> np.ndarray | None:
    """The image as RGB; None where it is none; RuntimeError where OpenCV refuses its size."""
    import cv2
    import numpy as np

    from empathy.cli import image_too_large

    try:
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    except cv2.error as e:
        raise RuntimeError(image_too_large(path, e)) from None
    if img is None or img.ndim != 3 or img.shape[2] not in (3, 4):
        return None
    return np.ascontiguousarray(img[..., 2::-1])  # BGR(A) -> RGB, uint8 or uint16 kept


def _image_writable(path: Path) -> bool:
    """OpenCV has an encoder for this extension (it raises on imwrite otherwise)."""
    import cv2

    return bool(path.suffix) and cv2.haveImageWriter(str(path))


def _write_image(path: Path, rgb: np.ndarray) -> bool:
    import cv2
    import numpy as np

    if not _image_writable(path):
        return False
    return bool(cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1])))


def _apply_video(grade, src: Path, dst: Path) -> int:
    from rich.progress import Progress

    from . import audio, hdr
    from .decode import Decoder, End
    from .probe import probe
    from .gst import to_8bit
    from .outputs import MIN_FILE_SIDE, VideoWriter

    try:
        w, h, fps, dur = probe(src)
    except RuntimeError as e:
        return _err(str(e))
    fps = fps or 25.0
    w2, h2 = w - w % 2, h - h % 2  # x264 wants even sizes
    if min(w2, h2) < MIN_FILE_SIDE:
        return _err(f"{src} is {w}x{h} pixels: too small to grade into a video file "
                    f"({MIN_FILE_SIDE}x{MIN_FILE_SIDE} at least)")
    dec = Decoder(src, w2, h2, fps)
    writer = None  # opened at the first frame, when we know whether the clip has sound
    n = 0
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task(f"grading {src.name}", total=max(1, int(dur * fps)))
            while True:
                item = dec.get(timeout=30)
                if item is None or isinstance(item, End):
                    if item is None or item.error:
                        return _err(f"{src}: {item.error if item else 'decoder stalled'}")
                    if writer is not None and writer.asrc is not None and len(item.tail):
                        writer.push_audio(item.tail, audio.chunk_bounds(n - 1, fps)[1] /
                                          audio.RATE)  # the sound runs on past the picture
                    break
                if writer is None:
                    writer = VideoWriter(f"file:{dst}", w2, h2, fps, item.audio is not None)
                # an HDR clip converted to SDR first, as the player shows it
                writer.push(to_8bit(hdr.for_source(grade, item.source).apply(item.rgb,
                                                                             inplace=True)),
                            n / fps, 1 / fps)
                if writer.asrc is not None:  # the sound passes through untouched
                    a, b = audio.chunk_bounds(n, fps)
                    writer.push_audio(audio.fit(item.audio, a, b), a / audio.RATE)
                n += 1
                bar.update(task, advance=1)
    finally:
        dec.stop()
        ok = writer.close() if writer is not None else False
    if not ok:
        return _err(f"{dst}: encoding did not finish")
    print(f"{dst}: {n} frames graded")
    return 0


def _apply(args) -> int:
    from .lutfile import CubeError, read_lut
    from .grade import Grade

    try:
        grade = Grade(read_lut(args.lut), args.strength)
    except CubeError as e:
        return _err(str(e))
    src, dst = Path(args.input), Path(args.output)
    if not src.is_file():
        return _err(f"{src}: no such file")
    if src.suffix.lower() in VIDEO_EXT:
        if dst.suffix.lower() != ".mp4":
            return _err(f"{dst}: video output must be .mp4")
        return _apply_video(grade, src, dst)
    if not _image_writable(dst):
        return _err(f"{dst}: cannot write an image with extension {dst.suffix or '(none)'!r} "
                    "(use .png, .jpg, .tif or .exr; .mp4 for a video)")
    try:
        img = _read_image(src)
    except RuntimeError as e:
        return _err(str(e))
    if img is None:
        return _err(f"{src}: not a readable RGB image or video")
    if not _write_image(dst, grade.apply(img)):
        return _err(f"{dst}: cannot write the image")
    print(f"{dst}: graded {img.shape[1]}x{img.shape[0]} {img.dtype}")
    return 0


def _frame_of(path: Path | None) -> tuple[np.ndarray, str]:
    """A picture to preview on: an image, a video's middle frame, or the sample media."""
    import numpy as np

    from .decode import read_frames

    if path is None:
        from empathy.host.sample.render import ensure

        path = ensure() / "media" / "arrival.mp4"
    if path.suffix.lower() in VIDEO_EXT:
        frames = list(read_frames(path))
        if not frames:
            raise RuntimeError(f"{path}: no frames")
        from . import hdr
        from .grade import Grade
        from .gst import to_8bit

        f = frames[len(frames) // 2]  # an HDR clip as the player shows it: SDR
        return to_8bit(hdr.for_source(Grade(None), f.source).apply(f.rgb)), path.name
    img = _read_image(path)
    if img is None:
        raise RuntimeError(f"{path}: not a readable image or video")
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    return img, path.name


def contact_sheet(before: np.ndarray, after: np.ndarray, title: str) -> np.ndarray:
    """Side-by-side before/after with labels, RGB uint8."""
    import cv2
    import numpy as np

    h, w = before.shape[:2]
    bar = max(24, h // 14)
    sheet = np.full((h + bar, 2 * w + 8, 3), 24, np.uint8)
    sheet[bar:, :w], sheet[bar:, w + 8:] = before, after
    scale = bar / 40
    for x, text in ((6, "before"), (w + 14, f"after: {title}")):
        cv2.putText(sheet, text, (x, int(bar * 0.72)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (235, 235, 235), max(1, int(scale * 2)), cv2.LINE_AA)
    return sheet


def _preview(args) -> int:
    from .lutfile import CubeError, read_lut
    from .grade import Grade

    try:
        cube = read_lut(args.lut)
        before, src = _frame_of(Path(args.input) if args.input else None)
    except (CubeError, RuntimeError) as e:
        return _err(str(e))
    after = Grade(cube, args.strength).apply(before)
    sheet = contact_sheet(before, after, f"{Path(args.lut).stem} ({args.strength:g})")
    if not _write_image(Path(args.out), sheet):
        return _err(f"{args.out}: cannot write PNG")
    print(f"{args.out}: before/after of {src}")
    return 0


def _strength(s: str) -> float:
    import argparse

    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError("strength must be within 0..1")
    return v


def register(parser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    p = sub.add_parser("check", help="parse a LUT (.cube, .3dl, .spi3d, .spi1d, .csp, .clf) "
                       "and print what it holds (exit 1 if bad)")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=_check)
    p = sub.add_parser("apply", help="grade an image or video with a LUT")
    p.add_argument("lut", type=Path)
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--strength", type=_strength, default=1.0, help="0..1 (default 1)")
    p.set_defaults(func=_apply)
    p = sub.add_parser("preview", help="before/after contact sheet PNG")
    p.add_argument("lut", type=Path)
    p.add_argument("input", nargs="?", help="image or video (default: sample media)")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--strength", type=_strength, default=1.0)
    p.set_defaults(func=_preview)
