"""`empathy calibrate <verb>`: rig validation and per-viewer calibration.

Every verb writes VERB.html (plots) and VERB.json (figures) into --out, prints a summary (or
the JSON with --json) and exits 0 on pass, 1 on fail with the reasons on stderr.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from empathy.cli import number_in
from empathy.config import ConfigError
from empathy.paths import data_dir

from . import report

DEFAULT_STORE = data_dir("calibration")
# 4K is 8.3 MP; the circle-grid detector took 2.4 GB and 8 s on a 48-MP picture
MAX_EYE_IMAGE_PX = 16_000_000


def _finish(args, result: report.Result) -> int:
    html_path, json_path = report.write(result, args.out)
    doc = result.summary()
    if args.json:
        print(json.dumps({**doc, "report": str(html_path), "json": str(json_path)}))
    else:
        print(f"{result.title}: {'PASS' if result.passed else 'FAIL'}")
        for k, v in doc["figures"].items():
            print(f"  {k:>24}: {v}")
        print(f"  {'report':>24}: {html_path}")
        for note in doc["notes"]:  # (what was stored, or why not: a tester reads it here)
            print(f"  note: {note}")
    for why in result.reasons:
        print(f"empathy calibrate {result.kind}: {why}", file=sys.stderr)
    return 0 if result.passed else 1


def _stopped(took_s: float, duration_s: float) -> str:
    return (f"recording stopped by Ctrl-C after {took_s:.0f} s of {duration_s:g}: judged on "
            "what was recorded")


def _fail(verb: str, why) -> int:
    print(f"empathy calibrate {verb}: {why}", file=sys.stderr)
    return 1


def _overlap(a, b) -> bool:
    return max(a.span_s[0], b.span_s[0]) < min(a.span_s[1], b.span_s[1])


def _two_bodies(specs: list[str], is_url) -> None:
    """A device validated against itself passes every check (bias 0, r 1.0: one strap
    given as both, or two `ble://?name=` URLs that take one strap, tests/redteam/
    test_ops21.py): refused, as is one file given twice."""
    from empathy.edge.seat_sensors import shared_sensor

    clash = shared_sensor(specs) if all(map(is_url, specs)) else ""
    if not clash and not any(map(is_url, specs)) and os.path.realpath(specs[0]) == \
            os.path.realpath(specs[1]):
        clash = f"{specs[0]!r} is both the device and the reference"
    if clash:
        raise ValueError(f"{clash}: a device can't be validated against itself")


def _hr(args) -> int:
    from empathy.edge.profile import device_mark

    from . import store
    from .hr import hr_validate, load_profile
    from .hr_correction import correction, measured_device
    from .recording import RecordingError, is_url, load_heart, record

    try:
        if args.sensor_id:
            store.check_id("sensor", args.sensor_id)
        profile = load_profile(args.profile)
        specs = [args.reference, args.device]
        _two_bodies(specs, is_url)
        live = [i for i, s in enumerate(specs) if is_url(s)]  # recorded side by side
        got = record([specs[i] for i in live], args.duration, quiet=args.json,
                     faces=False) if live else []
        recorded = dict(zip(live, got))
        ref, dev = (load_heart(s, recorded.get(i)) for i, s in enumerate(specs))
        if len(live) == 1 and not _overlap(ref, dev):
            raise ValueError(f"{specs[1 - live[0]]} was recorded before this run and "
                             f"{specs[live[0]]} now: a file and a live source never share a "
                             "moment; record both at once (two URLs, --duration) or give two "
                             "files recorded together")
        ident = measured_device(recorded.get(1, []))  # (the device under test, if live)
        res = hr_validate(ref, dev, profile)
        res.notes.append(f"device under test: {ident}" if ident else
                         f"device under test: {specs[1]}, which names no device (a file, a "
                         "simulated viewer): a correction stored applies to any device")
        if live and got.stopped_s is not None:
            res.notes.append(_stopped(got.stopped_s, args.duration))
        if args.sensor_id:
            fix, why = correction(res)
            if fix:
                mark = {"device": device_mark(ident)} if ident else {}
                path = store.save_sensor(Path(args.store), args.sensor_id, "hr",
                                         {**fix, **mark, "reference": ref.name,
                                          "rig": profile.name})
                res.notes.append(f"correction stored in {path} (bias {fix['bias_pct']:+.2f} %, "
                                 f"lag {fix['lag_ms']:+.0f} ms): edge seats with "
                                 f"heart_sensor = \"{args.sensor_id}\" undo them"
                                 + (f" while they read {ident}" if ident else ""))
                res.notes += why  # (what it leaves out: a lag the record can't tell)
            else:
                res.notes.append(f"no correction stored: {'; '.join(why)}")
        return _finish(args, res)
    except (ConfigError, RecordingError, ValueError, OSError) as e:
        return _fail("hr", e)


def _grab_eye_frame(url: str, timeout_s: float = 5.0):
    from empathy.sensors.base import Frame, open_source

    src = open_source(url)
    try:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            for r in src.read(timeout_s=0.1):
                if isinstance(r, Frame) and r.role == "eye":
                    return r.image
    finally:
        src.close()
    raise ValueError(f"{url}: no eye camera frame within {timeout_s:g} s")


def _pupil_scale(args) -> int:
    import cv2
    import numpy as np

    from empathy.cli import image_too_large

    from . import store
    from .pupil_scale import SIM_FOCAL_PX, Target, pupil_scale, render_view

    try:
        cols, rows = (int(v) for v in args.grid.lower().split("x"))
        target = Target(cols, rows, args.spacing_mm, args.spacing_mm / 2)
        store.check_id("camera", args.camera_id)
        if args.simulate:
            image = render_view(target, args.simulate)
        elif args.image:
            try:  # read here: cv2.imread prints its own warning for a missing file
                data = np.frombuffer(Path(args.image).read_bytes(), np.uint8)
            except OSError as e:
                raise ValueError(f"{args.image}: cannot read: {e.strerror or e}") from None
            try:
                image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
            except cv2.error as e:
                raise ValueError(image_too_large(args.image, e)) from None
            if image is None:
                raise ValueError(f"{args.image}: not a readable image")
            if image.size > MAX_EYE_IMAGE_PX:  # a phone's photo: GBs in the blob detector
                raise ValueError(f"{args.image}: {image.shape[1]}x{image.shape[0]} is more than "
                                 f"an eye camera's frame ({MAX_EYE_IMAGE_PX / 1e6:g} MP at "
                                 "most): give a frame the eye camera took, at its own size")
        else:
            image = _grab_eye_frame(args.source)
    except (ValueError, OSError, RuntimeError) as e:
        return _fail("pupil-scale", e)
    res = pupil_scale(image, target, camera_id=args.camera_id)
    if args.simulate:
        truth = SIM_FOCAL_PX / args.simulate
        res.figures["true_px_per_mm"] = round(truth, 4)
        found = res.figures.get("px_per_mm", 0)
        res.figures["scale_error_pct"] = round(100 * (found / truth - 1), 3)
        res.notes.append(f"simulated camera: target rendered at {args.simulate:g} mm")
    if res.passed:
        keep = ("px_per_mm", "mm_per_px", "image_w", "image_h")
        path = store.save_camera(Path(args.store), args.camera_id,
                                 {k: res.figures[k] for k in keep})
        res.notes.append(f"stored in {path}")
    return _finish(args, res)


def _light(args) -> int:
    from . import store
    from .light import LEVELS, STEP_S, eye_source, grey_clips, light_calibrate
    from .screen import play_and_record

    try:
        viewer = store.check_id("viewer", args.viewer or store.new_viewer_id())
        out = Path(args.out)
        step_s = args.step_s or STEP_S
        clips = grey_clips(out / "light_clips", LEVELS, step_s)
        output = args.output or f"file:{out / 'light_screen.mp4'}"
        frames, got = play_and_record(clips, output, eye_source(args.eye), out,
                                      convert=_perceive(args))
        res = light_calibrate(frames, [r for _, r in got], viewer, len(LEVELS) * step_s)
    except (ValueError, OSError, RuntimeError) as e:
        return _fail("light", e)
    res.figures["viewer"] = viewer
    if res.passed:
        keep = ("gain_mm", "scale", "tau_s", "latency_s", "constrict_s", "dilate_s", "base_mm",
                "r2")
        path = store.update_viewer(Path(args.store), viewer, "light",
                                   {k: res.figures[k] for k in keep})
        res.notes.append(f"stored in {path}")
    return _finish(args, res)


def _baseline(args) -> int:
    from empathy.sensors.base import FaceCrop

    from . import store
    from .baseline import baseline, stored_figures
    from .recording import record

    try:
        viewer = store.check_id("viewer", args.viewer or store.new_viewer_id())
        got = record(args.source, args.duration, quiet=args.json, perceive=_perceive(args),
                     faces=not args.no_faces)
        readings = [r for rs in got for r in rs]
        model = None
        if any(isinstance(r, FaceCrop) for r in readings):
            from empathy.edge.expression import ExpressionModel
            model = ExpressionModel()
        took_s = args.duration if got.stopped_s is None else got.stopped_s
        res = baseline(readings, took_s, viewer, args.seat, model)
        if got.stopped_s is not None:
            res.notes.append(_stopped(took_s, args.duration))
    except (ValueError, OSError, RuntimeError) as e:
        return _fail("baseline", e)
    if res.passed:
        store.update_viewer(Path(args.store), viewer, "baseline", stored_figures(res))
        path = store.mark_seat(Path(args.store), args.seat, viewer)
        res.notes.append(f"seat {args.seat} marked calibrated in {path}")
    return _finish(args, res)


def _seats(args) -> int:
    from . import store
    from .seats import listen, load_plan, seats_check

    try:
        plan = load_plan(args.plan)
        calibrated = store.calibrated_seats(Path(args.store)) if args.store else None
        heard = listen(plan, args.duration or plan.duration_s, quiet=args.json)
    except (ConfigError, ValueError, OSError, RuntimeError) as e:  # keystore, transport too
        return _fail("seats", e)
    return _finish(args, seats_check(plan, heard, calibrated))


def _latency(args) -> int:
    from empathy.sensors.base import open_source

    from .latency import flash_clip, latency_check
    from .screen import play_and_record

    try:
        out = Path(args.out)
        clip = flash_clip(out / "latency_clips", args.flashes)
        output = args.output or f"file:{out / 'latency_screen.mp4'}"
        frames, got = play_and_record([clip], output,
                                      lambda screen: open_source(args.camera, screen=screen), out)
        res = latency_check(frames, got, args.seat, args.flashes)
    except (ValueError, OSError, RuntimeError) as e:
        return _fail("latency", e)
    return _finish(args, res)


def _perceive(args):
    """Camera frames become pupils with the eye camera's stored scale (--camera-id)."""
    from . import store
    from .recording import Perceive

    if not args.camera_id:
        return Perceive()
    scale = store.load_camera(Path(args.store), args.camera_id).get("px_per_mm")
    if not scale:
        raise ValueError(f"no pupil scale stored for camera {args.camera_id!r} in "
                         f"{args.store}: run `empathy calibrate pupil-scale` first")
    return Perceive(float(scale))


def _common(p) -> None:
    p.add_argument("--out", default="out/calibration", help="folder for VERB.html and VERB.json")
    p.add_argument("--json", action="store_true", help="print the figures as JSON, no progress")


def register(parser) -> None:
    sub = parser.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("hr", help="validate a heart-rate sensor against a reference "
                                  "(Bland-Altman, lag, beat agreement, dropouts)")
    p.add_argument("--device", required=True,
                   help="sensor under test: CSV file (ts_us + rr_ms|hr_bpm|ppg|ecg) or source URL")
    p.add_argument("--reference", required=True, help="reference: CSV file or source URL")
    p.add_argument("--profile", default="seat_ppg",
                   help="rig profile: a name in calibration/profiles or a TOML path")
    p.add_argument("--duration", type=number_in(float, 1, 3600), default=120.0,
                   help="seconds to record when --device/--reference are source URLs")
    p.add_argument("--sensor-id", help="store the bias and lag found as this heart sensor's "
                                       "correction (edge seats name it as heart_sensor)")
    p.add_argument("--store", default=str(DEFAULT_STORE), help="calibration store folder")
    _common(p)
    p.set_defaults(func=_hr)

    p = sub.add_parser("pupil-scale", help="pixels -> millimetres of an eye camera from a printed "
                                           "circle grid; checks focus and IR exposure")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--image", help="a picture of the card taken by the eye camera")
    src.add_argument("--source", help="camera source URL to take one eye frame from")
    src.add_argument("--simulate", type=number_in(float, 5, 1000), metavar="MM",
                     help="render the card at this distance with a simulated camera")
    p.add_argument("--camera-id", default="eye", help="which camera this scale belongs to")
    p.add_argument("--grid", default="7x5", help="circles across x down (default 7x5)")
    p.add_argument("--spacing-mm", type=number_in(float, 0.5, 50), default=4.0,
                   help="centre-to-centre spacing of the printed circles")
    p.add_argument("--store", default=str(DEFAULT_STORE), help="calibration store folder")
    _common(p)
    p.set_defaults(func=_pupil_scale)

    p = sub.add_parser("light", help="play grey levels through the show player, record the "
                                     "pupil and fit the viewer's light response")
    p.add_argument("--eye", required=True, help="eye source URL giving pupil readings "
                                                "(sim://seat?seed=N for a simulated viewer)")
    p.add_argument("--viewer", help="pseudonymous viewer id (default: a new random one)")
    p.add_argument("--output", help="player output (file:PATH, window, kms, nv3d, auto; "
                                    "default: file:OUT/light_screen.mp4)")
    p.add_argument("--step-s", type=number_in(float, 1, 10),
                   help="seconds each grey level shows (default 2.5)")
    p.add_argument("--camera-id", help="eye camera whose stored scale turns its frames into mm")
    p.add_argument("--store", default=str(DEFAULT_STORE), help="calibration store folder")
    _common(p)
    p.set_defaults(func=_light)

    p = sub.add_parser("baseline", help="record a viewer at rest (HR, HRV, pupil, face) and "
                                        "mark the seat calibrated")
    p.add_argument("--source", action="append", required=True,
                   help="source URL of the seat's sensors (repeat for several)")
    p.add_argument("--seat", type=number_in(int, 0, 0xFFFF), required=True, help="seat id")
    p.add_argument("--viewer", help="pseudonymous viewer id (default: a new random one)")
    p.add_argument("--duration", type=number_in(float, 5, 600), default=60.0,
                   help="seconds at rest (default 60)")
    p.add_argument("--no-faces", action="store_true", help="no face camera at this seat")
    p.add_argument("--camera-id", help="eye camera whose stored scale turns its frames into mm")
    p.add_argument("--store", default=str(DEFAULT_STORE), help="calibration store folder")
    _common(p)
    p.set_defaults(func=_baseline)

    p = sub.add_parser("seats", help="install check: listen to every seat of a plan and list "
                                     "the seats that fail and why")
    p.add_argument("--plan", required=True, help="install plan (TOML): seats, units, limits")
    p.add_argument("--duration", type=number_in(float, 1, 86400),
                   help="seconds to listen (default: the plan's)")
    p.add_argument("--store", help="calibration store: also list each seat's calibrated viewer")
    _common(p)
    p.set_defaults(func=_seats)

    p = sub.add_parser("latency", help="flashes on screen seen by a seat's camera: timestamp "
                                       "delay, jitter, drift and delivery latency")
    p.add_argument("--camera", required=True, help="the seat's camera source URL")
    p.add_argument("--seat", type=number_in(int, 0, 0xFFFF), required=True,
                   help="seat id (for the report)")
    p.add_argument("--flashes", type=number_in(int, 3, 100), default=10,
                   help="how many flashes (default 10)")
    p.add_argument("--output", help="player output (default: file:OUT/latency_screen.mp4)")
    _common(p)
    p.set_defaults(func=_latency)
