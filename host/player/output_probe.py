"""Does an output really open here? `python -m empathy.host.player.output_probe KIND [FOLDER]`.

Builds the output's video sink (and, for live outputs, its sound sink) exactly as the
player does (outputs.PIPELINES / AUDIO_SINKS), fed by a test source, sets it to PAUSED and
back to NULL, and prints one JSON line: {"video": {"ok", "why", "sinks"}, "audio": ...}.
It runs in a process of its own because a display sink can hang or abort the process on
a machine without a display; `empathy doctor` gives it a timeout.

An auto sink (autoaudiosink, autovideosink) that finds no device falls back to fakesink
without an error: that counts as not opening, since the audience would get nothing.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from empathy.plots import never_plots

from .gst import Gst
from .outputs import AUDIO_SINKS, PIPELINES

TIMEOUT_S = 5.0


def _actual_sinks(pipe) -> list[str]:
    """Factory names of the pipeline's sinks, looking inside auto bins for the one chosen."""
    Gst_ = Gst()
    out = []
    for e in pipe.children:
        f = e.get_factory()
        name = f.get_name() if f else ""
        if isinstance(e, Gst_.Bin) and name.startswith("auto"):
            out += _actual_sinks(e)
        elif f and "Sink" in (f.get_metadata("klass") or ""):
            out.append(name)
    return out


def open_paused(desc: str) -> dict:
    Gst_ = Gst()
    try:
        pipe = Gst_.parse_launch(desc)
    except Exception as e:  # GLib.GError: an element is missing
        return {"ok": False, "why": getattr(e, "message", str(e)), "sinks": []}
    try:
        ret = pipe.set_state(Gst_.State.PAUSED)
        if ret != Gst_.StateChangeReturn.FAILURE:
            ret = pipe.get_state(int(TIMEOUT_S * Gst_.SECOND))[0]
        msg = pipe.get_bus().timed_pop_filtered(0, Gst_.MessageType.ERROR)
        why = msg.parse_error()[0].message if msg else ""
        sinks = _actual_sinks(pipe)
        ok = ret in (Gst_.StateChangeReturn.SUCCESS, Gst_.StateChangeReturn.NO_PREROLL) \
            and not why
        if ok and "fakesink" in sinks and "fakesink" not in desc:
            ok, why = False, "no device: the auto sink fell back to fakesink"
        if not ok and not why:
            why = f"did not reach PAUSED ({ret.value_nick})"
        return {"ok": ok, "why": why, "sinks": sinks}
    finally:
        pipe.set_state(Gst_.State.NULL)


def probe(kind: str, folder: str | None = None) -> dict:
    video = PIPELINES[kind]
    tmp = None
    if kind == "file":  # a real file in the folder the show would write to
        try:
            tmp = tempfile.NamedTemporaryFile(dir=folder or ".", prefix=".empathy-probe-",
                                              suffix=".mp4", delete=False)
        except OSError as e:
            return {"video": {"ok": False, "why": f"cannot write in {folder}: {e.strerror}",
                              "sinks": []}}
        tmp.close()
        video = video.replace("filesink name=fsink", f"filesink location={tmp.name}")
        video = video.replace("mp4mux name=mux", "mp4mux")
    try:
        out = {"video": open_paused("videotestsrc num-buffers=1 ! videoconvert ! " + video)}
        if kind in ("window", "kms", "nv3d"):  # the show's sound goes to the sound device
            out["audio"] = open_paused("audiotestsrc num-buffers=1 ! audioconvert ! " +
                                       AUDIO_SINKS[kind])
        return out
    finally:
        if tmp:
            Path(tmp.name).unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    never_plots()
    kind, folder = argv[0], (argv[1] if len(argv) > 1 else None)
    print(json.dumps(probe(kind, folder)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
