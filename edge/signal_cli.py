"""`empathy signal hr|hrv|pupil FILE`: heart rate/HRV or pupil figures from a recorded
signal (the files it reads: edge/signal_file.py)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from empathy.cli import deferred, number_in
from empathy.edge.signal_args import FORMATS, FS, REPORT, SPAN, heart_args, light_phases
from empathy.edge.signal_columns import SignalFileError

NO_HEARTBEAT = 3  # exit status: the file was read, but holds no heartbeat
RAILED_SAID_PCT = 1.0  # a PPG this much of the time on its top or bottom rail is told so


def _beats(args, step=lambda text: None):
    """(summary, fs, samples, beats' shape quality, moving or None, an ECG's shape_match or
    None, a PPG's beat times (s) at the middle of their rise, which its HRV reads, or None:
    ppg_timing) of a PPG/ECG file."""
    from empathy.edge.ectopic_beats import shape_match
    from empathy.edge.heart import waveform_peaks
    from empathy.edge.heart_evidence import waveform_evidence
    from empathy.edge.hrv import heart_summary
    from empathy.edge.paced import paced
    from empathy.edge.ppg_evidence import still_samples
    from empathy.edge.ppg_timing import rise_times
    from empathy.edge.signal_acc import cancelled_by, read_acc, tracked
    from empathy.edge.signal_file import read_heart

    step(f"reading {Path(args.file).name}")
    x, fs = read_heart(args.file, args.column, args.kind, args.fs)
    step("finding beats")
    acc_fs, mag, axes = (read_acc(args.acc, args.acc_fs) if getattr(args, "acc", None)
                         else (None, None, None))
    said = {}
    if args.kind == "ppg":  # (a board's raw counts fall with each pulse: ppg_polarity)
        from empathy.edge.ppg_polarity import oriented

        from empathy.edge.ppg_floor import railed_pct

        x, said = oriented(x, fs, getattr(args, "polarity", "auto"))
        said["railed_pct"] = [round(v, 1) for v in railed_pct(x, fs)]  # (top, bottom)
    elif getattr(args, "polarity", "auto") != "auto":
        raise ValueError("--polarity is for --kind ppg (ECG complexes of either sign count)")
    cancelled, raw = None, x
    if axes is not None and args.kind == "ppg":
        x, cancelled = cancelled_by(x, fs, acc_fs, axes)
    beats = waveform_peaks(x, fs, args.kind)
    sqi, motion = beats.sqi, None
    if mag is not None:
        from empathy.edge.motion import motion_gate

        _, sqi, moving, motion = motion_gate(beats.idx / fs * 1e6, sqi, mag, acc_fs)
        if args.kind == "ppg":  # (the gate has checked the accelerometer's samples)
            # beside the headline, never in it: the tracker did not generalise to the
            # held-out wrist records (docs/signal-validation.md)
            motion["tracked"] = tracked(raw, fs, acc_fs, mag if axes is None else axes)
        if cancelled is not None:
            motion["cancelled_s"] = cancelled
    shape = shape_match(x, fs, beats.idx) if args.kind == "ecg" else None
    timing = rise_times(x, fs, beats.idx) / fs if args.kind == "ppg" else None
    still = None if mag is None else still_samples(len(x), beats.idx, moving)
    s = heart_summary(beats.idx / fs, sqi, len(x) / fs, shape=shape, cycles=args.kind == "ecg",
                      evidence=waveform_evidence(x, fs, beats.idx, args.kind, still),
                      paced=paced(x, fs, beats.idx) if args.kind == "ecg" else None,
                      timing=timing)
    s["fs_hz"] = fs
    s.update(said)
    if motion is not None:
        s["motion"] = motion
    return s, fs, x, sqi, (moving if mag is not None else None), shape, timing


def _no_heartbeat(verb: str, path: str, s: dict) -> int:
    from empathy.edge.hrv import MIN_QUALITY

    railed = sum(s.get("railed_pct", ()))
    # events that never keep a heart's rhythm long enough are noise or a pulse lost to
    # motion or contact (a cycling wrist reads 0.13); that the file says which, we can't
    what = (f"their rhythm held too little of it (quality {s['quality']:.2f}, a heart "
            f"{MIN_QUALITY:g}): noise, or a pulse lost to motion or poor contact"
            if 0 < s["quality"] < MIN_QUALITY else "a flat line, noise or not a PPG/ECG recording")
    m = s.get("motion") or {}
    moved = (f" ({m['beats_rejected_motion']} of {m['beats_judged']} beats under motion, "
             "left out)" if m.get("beats_rejected_motion") else "")
    print(f"empathy signal {verb}: {path}: no heartbeat found ({len(s['beats_s'])} pulse-like "
          f"events, {s['lost_contact_s']:.0f} s without any): {what}{moved}"
          + (f" ({railed:.0f} % of it flat on its top or bottom rail: clipped?)"
             if railed >= RAILED_SAID_PCT else ""), file=sys.stderr)
    return NO_HEARTBEAT


def report_path(args):
    from empathy.edge.signal_report import check_path

    return check_path(args.report) if args.report else None


def save_report(path, step, make) -> None:
    """Write the report (if asked): `make` builds its Result from what was computed."""
    from empathy.edge.signal_report import save

    if path:
        step("drawing the report")
        save(make(), path)


def _hr(args) -> int:
    from empathy.edge.signal_apps import app_file
    from empathy.edge.signal_report import hr_result, stages

    if args.kind == "rr" or app_file(args.file):
        return _hr_beats(args)
    with stages(bool(args.report), 3) as step:
        try:
            path = report_path(args)
            s, fs, x, sqi, moving, *_ = _beats(args, step)
            save_report(path, step, lambda: hr_result(args.file, args.kind, s, x, sqi, moving))
        except (SignalFileError, ValueError) as e:
            print(f"empathy signal hr: {e}", file=sys.stderr)
            return 1
    if not s["heartbeat"]:  # the report (if asked) shows the flat line all the same
        return _no_heartbeat("hr", args.file, s)
    return _print_hr(args, s, f"{args.file}: {len(x)} samples at {fs:.4g} Hz "
                              f"({len(x) / fs:.1f} s), {args.kind}")


def _hr_beats(args) -> int:
    """`signal hr` on beats (RR intervals, a FIT file's hrv messages) or on a device's
    heart-rate readings (which hold no beats, so no HRV)."""
    import numpy as np

    from empathy.edge.hrv import heart_summary
    from empathy.edge.signal_apps import beats_or_rate, rate_summary

    try:
        if args.report or args.acc or args.polarity != "auto":
            raise ValueError("--report, --acc and --polarity are for a waveform (PPG/ECG "
                             f"samples): {args.file} holds beats or heart-rate readings")
        beats, rate = beats_or_rate(args.file, args.column, (args.start, args.end, args.source))
    except (SignalFileError, ValueError) as e:
        print(f"empathy signal hr: {e}", file=sys.stderr)
        return 1
    if beats is None:
        s = rate_summary(rate)
        if args.json:
            print(json.dumps(s))
            return 0
        print(f"{args.file}: {s['readings']} heart-rate readings over {s['duration_s']:.0f} s "
              f"({s['source']})")
        print(f"heart rate  {s['bpm']:.1f} bpm  (mean; {s['min_bpm']:.0f} to "
              f"{s['max_bpm']:.0f})")
        print("HRV         none: a device's heart-rate readings hold no beats (give the beat "
              "intervals: an RR file, or a FIT file with hrv messages)")
        return 0
    # (a device's beats, a strap's: their rate as found, as a seat counts them)
    s = heart_summary(beats, np.ones(len(beats)), float(beats[-1]), found=True)
    if not s["heartbeat"]:
        return _no_heartbeat("hr", args.file, s)
    return _print_hr(args, s, f"{args.file}: {len(beats) - 1} beat intervals "
                              f"({beats[-1]:.1f} s)")


def _print_hr(args, s: dict, head: str) -> int:
    if args.json:
        print(json.dumps(s))
        return 0
    print(head)
    mended = (f"  (after RR artefact correction; {s['bpm_raw']:.1f} from the intervals as "
              "found)" if f"{s['bpm']:.1f}" != f"{s['bpm_raw']:.1f}" else "")
    print(f"heart rate  {s['bpm']:.1f} bpm  ({len(s['beats_s'])} beats){mended}")
    if "polarity" in s:
        print(_polarity_line(s))
        if sum(s["railed_pct"]) >= RAILED_SAID_PCT:
            print(f"rails       {s['railed_pct'][0]:.1f} % of the time flat at the top, "
                  f"{s['railed_pct'][1]:.1f} % at the bottom: clipped (lower the LED current "
                  "or gain) or no finger there; no pulse is read on a rail")
    if s["paced"]:
        print(_paced_line(s["paced_beats"], len(s["beats_s"])))
    else:
        print(f"RMSSD {s['rmssd_ms']:.1f} ms   SDNN {s['sdnn_ms']:.1f} ms   pNN50 "
              f"{s['pnn50']:.1f} %   (after RR artefact correction)")
    print(f"ectopic beats {s['ectopic']}   artefacts corrected {s['artefacts_corrected']}   "
          f"low shape quality beats {s['low_quality_beats']}   lost contact "
          f"{s['lost_contact_s']:.1f} s")
    if "motion" in s:
        m = s["motion"]
        print(f"moving      {m['moving_s']:.1f} s by the accelerometer: "
              f"{m['beats_rejected_motion']} of {m['beats_judged']} beats left out")
        tr = m.get("tracked")
        if tr and tr["moving_hr_bpm"] is not None:
            print(f"tracked while moving (experimental, not validated on blind records): "
                  f"{tr['moving_hr_bpm']:.1f} bpm ({tr['guided']} beats placed by its rate)")
    print(f"quality     {s['quality']:.2f}  (0..1; per {len(s['windows'])} windows below)")
    for w in s["windows"]:
        mark = f"   <- {w['issue']}" if w["issue"] else ""
        print(f"  {w['t0_s']:7.1f} s  {w['bpm']:6.1f} bpm  quality {w['quality']:.2f}{mark}")
    print("beats (s): " + " ".join(f"{b:.3f}" for b in s["beats_s"]))
    said_report(args)
    return 0


def _paced_line(spiked: int, beats: int) -> str:
    return (f"rhythm      paced ({spiked} of {beats} beats follow a pacing spike): HRV withheld, "
            "a pacemaker sets these intervals (no NN intervals)")


def _polarity_line(s: dict) -> str:
    how = {"auto": "decided from the waveform", "upright": "as given (--polarity upright)",
           "inverted": "turned over (--polarity inverted)"}[s["polarity_how"]]
    if not s["polarity_sure"]:
        how = ("as given: the waveform does not say which way its pulses point (if the "
               "beats fall off the pulses' peaks, try --polarity inverted)")
    return f"pulses      {s['polarity']}, {how}"


def said_report(args) -> None:
    if args.report:
        print(f"report      {args.report} (figures also in {Path(args.report).stem}.json)")


def _hrv(args) -> int:
    """RR series (from a waveform's beats or a file of RR intervals) -> corrected series,
    the artefacts found and time-domain HRV."""
    import numpy as np

    from empathy.edge.ectopic_beats import doubtful_beats
    from empathy.edge.hrv import (CORRECTED, WITHHELD, corrected_intervals, hrv_time,
                                  labelled_artefacts, nn)
    from empathy.edge.signal_report import hrv_result, stages

    with stages(bool(args.report), 3) as step:
        try:
            path = report_path(args)
            beat_s, s, shape = _hrv_beats(args, step)
            iv, artefacts = corrected_intervals(beat_s)  # every beat weighs alike here
            # a waveform's labels are the summary's (its beats' shapes); RR: timing alone
            artefacts = s["artefacts"] if s is not None else labelled_artefacts(beat_s, artefacts)
            kinds = [k for _, k in artefacts]
            # (as `signal hr`'s HRV: an ECG's or an RR file's beats in doubt are no NN)
            normal = nn(iv, beat_s, artefacts, doubtful_beats(beat_s, shape)
                        if s is None or args.kind == "ecg" else None)
            if s is not None and s["paced"]:  # a pacemaker's intervals: none is NN
                normal[:] = False
            out = {"rr_ms": [round(float(r), 1) for r in iv.rr_ms],
                   "normal": [bool(v) for v in normal],
                   "artefacts": [{"index": int(i), "type": k} for i, k in artefacts],
                   "ectopic": kinds.count("ectopic"),
                   "artefacts_corrected": sum(kinds.count(k) for k in CORRECTED),
                   **(WITHHELD if s is not None and s["paced"] else hrv_time(iv.rr_ms, normal)),
                   # (the corrected series', as HRV's: `signal hr`'s rate is an ECG's
                   # intervals as found, a PPG's corrected less lost contact: hrv.rated)
                   "mean_rr_ms": float(np.mean(iv.rr_ms)) if len(iv.rr_ms) else 0.0,
                   **{k: v for k, v in (s or {"paced": None}).items()
                      if k.startswith(("polarity", "railed", "paced"))}}
            kind = args.kind if s is not None else "rr"  # (a FIT file's beats: no PPG)
            save_report(path, step, lambda: hrv_result(args.file, kind, out, beat_s, iv,
                                                 s is None or s["heartbeat"]))
        except (SignalFileError, ValueError) as e:
            print(f"empathy signal hrv: {e}", file=sys.stderr)
            return 1
    if s is not None and not s["heartbeat"]:
        return _no_heartbeat("hrv", args.file, s)
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{args.file}: {len(iv.rr_ms)} intervals after correction ({kind})")
    if out["paced"]:
        print(_paced_line(out["paced_beats"], len(beat_s)))
        print(f"mean RR {out['mean_rr_ms']:.0f} ms")
    else:
        print(f"RMSSD {out['rmssd_ms']:.1f} ms   SDNN {out['sdnn_ms']:.1f} ms   pNN50 "
              f"{out['pnn50']:.1f} %   mean RR {out['mean_rr_ms']:.0f} ms")
    print(f"ectopic beats {out['ectopic']}   artefacts corrected {out['artefacts_corrected']}")
    if "polarity" in out:
        print(_polarity_line(out))
    for a in out["artefacts"]:
        print(f"  interval {a['index']}: {a['type']}")
    said_report(args)
    return 0


def _hrv_beats(args, step):
    """(beat times in s, the summary when they came from a waveform, else None, an ECG's
    shape_match: `signal hr`'s, for its doubtful beats). A PPG's beats are timed at the
    middle of their rise, as `signal hr`'s HRV reads them (ppg_timing)."""
    import numpy as np

    from empathy.edge.signal_apps import app_file, read_beats

    if args.kind != "rr" and not app_file(args.file):
        s, *_, shape, timing = _beats(args, step)
        return np.array(s["beats_s"]) if timing is None else timing, s, shape
    if args.polarity != "auto":
        raise ValueError("--polarity is for --kind ppg (RR intervals have no waveform)")
    step(f"reading {Path(args.file).name}")
    return read_beats(args.file, args.column, (args.start, args.end, args.source)), None, None


def _noted(verb):
    """The verb, with what the readers noted of the file (SignalNote) said on stderr, one
    line each, where it succeeds (a refusal stays one line)."""
    def run(args) -> int:
        from empathy.edge.signal_apps import SignalNote, app_file
        from empathy.edge.signal_file import regular
        from empathy.edge.signal_packed import shown_as, unpacked

        try:
            regular(args.file)  # (not there: said before an option that can't apply to it)
            with unpacked(args.file, args.member) as (args.file, shown), \
                    shown_as(args.file, shown):
                if (args.start or args.end or args.source) and \
                        app_file(args.file) != "apple-health":
                    raise SignalFileError(f"{shown}: {SPAN}")
                with warnings.catch_warnings(record=True) as said:
                    warnings.simplefilter("always", SignalNote)
                    rc = verb(args)
                for w in said:
                    if not issubclass(w.category, SignalNote):
                        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
                    elif rc == 0:
                        print(f"empathy signal: {w.message}", file=sys.stderr)
        except SignalFileError as e:  # (the archive's: the verbs say their own)
            print(f"empathy signal {args.verb}: {e}", file=sys.stderr)
            return 1
        return rc
    return run


def register(p) -> None:
    sub = p.add_subparsers(dest="verb", required=True)
    files = dict(epilog=FORMATS, formatter_class=argparse.RawDescriptionHelpFormatter)
    h = sub.add_parser("hr", help="beats, heart rate, HRV and quality from a PPG/ECG file",
                       **files)
    h.add_argument("file", help="one column of samples, a table with a time column, or an "
                   "EDF/WFDB record (files read: below)")
    heart_args(h, "rr: a file of beat intervals (a FIT file is read as beats anyway)",
                "which CSV column holds the signal")
    h.add_argument("--acc", metavar="FILE", help="an accelerometer recorded with it (mG: a "
                   "magnitude column or x,y,z; same start): beats while moving are left out; with "
                   "x,y,z a PPG first has what the axes predict of it taken off")
    h.add_argument("--acc-fs", type=FS, help="the accelerometer's rate in Hz (needed "
                   "without a time column)")
    h.set_defaults(func=_noted(_hr))
    v = sub.add_parser("hrv", help="corrected RR series, artefacts found and time-domain HRV",
                       **files)
    v.add_argument("file", help="PPG/ECG samples (as for hr) or, with --kind rr, RR intervals")
    heart_args(v, None, "which CSV column holds the signal or the intervals")
    v.set_defaults(func=_noted(_hrv))
    u = sub.add_parser("pupil", help="blinks, cleaned pupil and light-compensated residual",
                       **files)
    u.add_argument("file", help="CSV: time, pupil (mm), optional confidence and luminance")
    u.add_argument("--fs", type=FS, help="sampling rate in Hz (needed without a time column)")
    u.add_argument("--column", help="which CSV column holds the pupil diameter")
    u.add_argument("--light-gain", type=number_in(float, 0, 20),
                   help="calibrated light response, mm per unit luminance (default: fitted "
                        "from the file)")
    u.add_argument("--light-tau", type=number_in(float, 0.01, 10), default=0.4,
                   help="its lag in seconds")
    u.add_argument("--light-phases", type=light_phases, metavar="LAT,UP,DOWN",
                   help="with --light-gain: the two-phase reflex instead of one lag (latency, "
                        "constriction and redilation s, as `calibrate light` stores them)")
    u.add_argument("--light-scale", choices=("log10", "code"),
                   help="with --light-gain: what it multiplies, as the viewer file's scale "
                        "(log10 of the light; code: the frame's code value, older files)")
    u.add_argument("--out", help="write time_s,pupil_mm[,residual_mm] CSV here")
    u.add_argument("--json", action="store_true", help="one JSON object")
    u.add_argument("--report", **REPORT)
    u.set_defaults(func=deferred("empathy.edge.signal_pupil", "pupil"))
