"""`empathy signal pupil FILE`: blinks, the cleaned pupil and its light-compensated residual
from a recorded pupil file (the verb's options: edge/signal_cli.py)."""

from __future__ import annotations

import json
import sys

import numpy as np

from empathy import wire
from empathy.edge.pupil import LightResponse, pupil_clean, pupil_residual
from empathy.edge.signal_cli import report_path, said_report, save_report
from empathy.edge.signal_file import SignalFileError, pick_column, read_signal
from empathy.edge.signal_report import pupil_result
from empathy.paths import state_file

PUPIL = wire.RANGES["pupil_mm"]  # what a diameter may be (a camera's lost: 0)
NAMES = ("pupil_mm", "diameter_mm", "pupil", "diameter")


def diameters(cols: dict, column: str | None, path: str) -> np.ndarray:
    """The pupil column in mm, a sample outside PUPIL lost (NaN); a column whose typical
    value is outside it is refused: no diameter in mm (RR intervals, a PPG, a tracker's
    pixels were read as millimetres)."""
    mm = pick_column(cols, column, path, NAMES)
    seen = mm[np.isfinite(mm) & (mm != 0)]
    typical = float(np.median(seen)) if len(seen) else 0.0
    if not PUPIL.lo <= typical <= PUPIL.hi:
        name = next(h for h, v in cols.items() if v is mm)
        raise SignalFileError(
            f"{path}: column {name!r} reads {round(typical, 2):g} mm at its median: no pupil "
            f"diameter ({PUPIL.lo:g}..{PUPIL.hi:g} mm; a tracker's pixels: `empathy calibrate "
            "pupil-scale`)" + (" (--column names the pupil's)" if len(cols) > 1 else ""))
    return np.where((mm >= PUPIL.lo) & (mm <= PUPIL.hi), mm, np.nan)


def pupil(args) -> int:
    try:
        path = report_path(args)
        for given, flag in ((args.light_phases, "phases"), (args.light_scale, "scale")):
            if given and args.light_gain is None:
                raise ValueError(f"--light-{flag} needs --light-gain (a calibrated response)")
        if args.out:  # (a FIFO: written to, it waits for a reader for ever)
            state_file(args.out, "--out")
        t, cols = read_signal(args.file)
        if t is None:
            if not args.fs:
                raise SignalFileError(f"{args.file}: no time column, so --fs HZ is needed")
            t = np.arange(len(next(iter(cols.values())))) / args.fs
        mm = diameters(cols, args.column, args.file)
        conf = cols.get("confidence")
        clean = pupil_clean(t, mm, conf)
        out = {"pupil_mm": float(np.nanmean(clean.mm)), "blinks": clean.blinks,
               "bridged_pct": float(100 * clean.bridged.mean()),
               "lost_pct": float(100 * np.isnan(clean.mm).mean())}
        lum = cols.get("luminance")
        if lum is not None:
            model = (LightResponse(args.light_gain, args.light_tau, *(args.light_phases or ()),
                                   log_light=args.light_scale == "log10")
                     if args.light_gain is not None else LightResponse.fit(t, lum, clean.mm))
            resid = pupil_residual(t, clean.mm, lum, model)
            out.update(light_gain_mm=model.gain_mm, light_tau_s=model.tau_s,
                       light_fitted=args.light_gain is None,
                       residual_sd_mm=float(np.nanstd(resid)))
            if model.two_phase:
                out["light_phases_s"] = [model.latency_s, model.constrict_s, model.dilate_s]
        save_report(path, lambda text: None, lambda: pupil_result(
            args.file, out, t, mm, clean, resid if lum is not None else None))
    except (SignalFileError, ValueError) as e:
        print(f"empathy signal pupil: {e}", file=sys.stderr)
        return 1
    if args.out:
        cols_out = [t, clean.mm] + ([resid] if lum is not None else [])
        np.savetxt(args.out, np.column_stack(cols_out), delimiter=",", fmt="%.5f", comments="",
                   header="time_s,pupil_mm" + (",residual_mm" if lum is not None else ""))
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{args.file}: {len(t)} samples over {t[-1]:.1f} s")
    print(f"pupil {out['pupil_mm']:.2f} mm, {out['blinks']} blinks, {out['bridged_pct']:.1f} % "
          f"bridged, {out['lost_pct']:.1f} % lost (gaps over 1 s)")
    if lum is not None:
        how = "fitted from this file" if out["light_fitted"] else "given"
        lag = ("latency {:.2f} s, constriction {:.2f} s, redilation {:.2f} s".format(
            *out["light_phases_s"]) if "light_phases_s" in out else f"lag {out['light_tau_s']:.2f} s")
        per = "log10 of the light" if args.light_scale == "log10" else "unit luminance"
        print(f"light response ({how}): {out['light_gain_mm']:.2f} mm per {per}, "
              f"{lag}; residual sd {out['residual_sd_mm']:.3f} mm")
    said_report(args)
    return 0
