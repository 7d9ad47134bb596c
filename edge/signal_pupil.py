"""`empathy signal pupil FILE`: blinks, the cleaned pupil and its light-compensated residual
from a recorded pupil file (the verb's options: edge/signal_cli.py)."""

from __future__ import annotations

import json
import sys

import numpy as np

from empathy.edge.pupil import LightResponse, pupil_clean, pupil_residual
from empathy.edge.signal_cli import report_path, said_report, save_report
from empathy.edge.signal_file import SignalFileError, pick_column, read_signal
from empathy.edge.signal_report import pupil_result


def pupil(args) -> int:
    try:
        path = report_path(args)
        t, cols = read_signal(args.file)
        if t is None:
            if not args.fs:
                raise SignalFileError(f"{args.file}: no time column, so --fs HZ is needed")
            t = np.arange(len(next(iter(cols.values())))) / args.fs
        mm = pick_column(cols, args.column, args.file, ("pupil_mm", "diameter_mm", "pupil", "diameter"))
        conf = cols.get("confidence")
        clean = pupil_clean(t, mm, conf)
        out = {"pupil_mm": float(np.nanmean(clean.mm)), "blinks": clean.blinks,
               "bridged_pct": float(100 * clean.bridged.mean()),
               "lost_pct": float(100 * np.isnan(clean.mm).mean())}
        lum = cols.get("luminance")
        if lum is not None:
            model = (LightResponse(args.light_gain, args.light_tau) if args.light_gain is not None
                     else LightResponse.fit(t, lum, clean.mm))
            resid = pupil_residual(t, clean.mm, lum, model)
            out.update(light_gain_mm=model.gain_mm, light_tau_s=model.tau_s,
                       light_fitted=args.light_gain is None,
                       residual_sd_mm=float(np.nanstd(resid)))
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
        print(f"light response ({how}): {out['light_gain_mm']:.2f} mm per unit luminance, "
              f"lag {out['light_tau_s']:.2f} s; residual sd {out['residual_sd_mm']:.3f} mm")
    said_report(args)
    return 0
