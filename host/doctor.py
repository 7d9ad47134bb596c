"""`empathy doctor`: is this machine ready to run Empathy Engine? Prints what is wrong and
how to fix it; exit 1 when something required is missing or broken.

Each check returns findings: ok, warn (optional, or only needed for some rigs) or fail
(the show cannot run). The machine may be a host, an edge unit or both (a kiosk), so both
roles' needs are checked: GStreamer plugins, OpenColorIO, the TFLite runtime and models,
the BLE adapter, cameras, serial ports, the clock, keys and disk space.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

APT = "sudo apt-get install -y"
# Elements the player and decoder build their pipelines from (host/player/).
GST_REQUIRED = {
    "filesrc": "gstreamer1.0-plugins-base", "decodebin": "gstreamer1.0-plugins-base",
    "qtdemux": "gstreamer1.0-plugins-good", "avdec_h264": "gstreamer1.0-libav",
    "videoconvert": "gstreamer1.0-plugins-base", "videoscale": "gstreamer1.0-plugins-base",
    "videorate": "gstreamer1.0-plugins-base", "appsrc": "gstreamer1.0-plugins-base",
    "appsink": "gstreamer1.0-plugins-base", "audioconvert": "gstreamer1.0-plugins-base",
    "audioresample": "gstreamer1.0-plugins-base", "audiorate": "gstreamer1.0-plugins-base",
    "x264enc": "gstreamer1.0-plugins-ugly", "mp4mux": "gstreamer1.0-plugins-good",
    "avenc_alac": "gstreamer1.0-libav", "filesink": "gstreamer1.0-plugins-base",
    "deinterlace": "gstreamer1.0-plugins-good", "parsebin": "gstreamer1.0-plugins-base",
}
# Display sinks: needed only on their platform (see host/player/outputs.py).
GST_DISPLAY = {"kms": ("kmssink", "gstreamer1.0-plugins-bad"),
               "nv3d": ("nv3dsink", "NVIDIA L4T GStreamer plugins (JetPack)"),
               "window": ("autovideosink", "gstreamer1.0-plugins-good")}
MIN_FREE_GB, LOW_FREE_GB = 0.1, 1.0
KEYS_FIX = "`empathy keys new UNITS --keystore PATH [--edge-dir DIR]` makes one"


@dataclass
class Finding:
    check: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""


def crashed(check, e: Exception) -> Finding:
    """A check that raised is itself a finding: a user error its one line and hint (as
    the CLI shows it), anything else a bug to report."""
    from empathy.errors import classify

    name, said = getattr(check, "__name__", "check"), classify(e)
    if said:
        return Finding(name, "fail", said[0], said[1])
    return Finding(name, "fail", f"{type(e).__name__}: {e}", "report this")


def check_gstreamer() -> list[Finding]:
    try:
        import gi

        gi.require_version("Gst", "1.0")
        from gi.repository import Gst
        Gst.init(None)
    except (ImportError, ValueError) as e:
        return [Finding("gstreamer", "fail", f"GStreamer introspection unavailable: {e}",
                        f"{APT} gir1.2-gstreamer-1.0 gstreamer1.0-tools; pip install pygobject")]
    from empathy.host.player.output_names import detect

    missing = {e: pkg for e, pkg in GST_REQUIRED.items() if not Gst.ElementFactory.find(e)}
    out = [Finding("gstreamer", "fail" if missing else "ok",
                   f"GStreamer {Gst.version_string().split()[-1]}: "
                   + (f"missing {', '.join(sorted(missing))}" if missing
                      else f"all {len(GST_REQUIRED)} player elements present"),
                   f"{APT} {' '.join(sorted(set(missing.values())))}" if missing else "")]
    platform = detect()
    for kind, (element, pkg) in GST_DISPLAY.items():
        here = Gst.ElementFactory.find(element) is not None
        needed = kind == platform
        status = "ok" if here else ("fail" if needed else "warn")
        role = "this machine's display" if needed else f"for {kind} output"
        out.append(Finding(f"gstreamer:{element}", status,
                           f"{element} {'present' if here else 'absent'} ({role})",
                           "" if here else f"install {pkg}"))
    return out


def check_ocio() -> list[Finding]:
    try:
        import PyOpenColorIO as ocio

        ocio.Config.CreateRaw()
        return [Finding("opencolorio", "ok", f"OpenColorIO {ocio.__version__}")]
    except Exception as e:
        return [Finding("opencolorio", "fail", f"OpenColorIO unusable: {e}",
                        "pip install opencolorio")]


def check_caption_fonts() -> list[Finding]:
    """Captions in each script the host install adds a font for (docs/playback.md)."""
    from empathy.host.player.captions_fonts import SCRIPTS, unformed, unscripted

    try:
        lacking, forms = unscripted(), unformed()
    except OSError as e:
        return [Finding("caption fonts", "warn", f"captions cannot be drawn: {e}",
                        f"{APT} fonts-dejavu-core fontconfig")]
    if not lacking and not forms:
        return [Finding("caption fonts", "ok", "captions drawn in Latin, Greek, Cyrillic, "
                        f"Hebrew, Arabic, {', '.join(SCRIPTS)}; Japanese, Simplified and "
                        "Traditional Chinese ideographs each in their own letterforms")]
    said = [f"captions in {', '.join(lacking)} would show as boxes: no font here has them"
            ] if lacking else []
    said += [f"{name} captions' ideographs would be drawn in another language's "
             "letterforms: no font here is made for it" for name in forms]
    return [Finding("caption fonts", "warn", "; ".join(said) + " (only for films captioned "
                    "in them)", f"{APT} {' '.join(sorted({*lacking.values(), *forms.values()}))}")]


def check_ble() -> list[Finding]:
    root = Path("/sys/class/bluetooth")
    adapters = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    if adapters:
        return [Finding("ble", "ok", f"Bluetooth adapter(s): {', '.join(adapters)}")]
    return [Finding("ble", "warn", "no Bluetooth adapter (needed only for ble:// heart straps)",
                    "plug in or enable an adapter; `sudo systemctl start bluetooth`; "
                    "check `rfkill list`")]


def check_cameras() -> list[Finding]:
    cams = sorted(str(p) for p in Path("/dev").glob("video*"))
    if cams:
        return [Finding("cameras", "ok", f"video devices: {', '.join(cams)}")]
    return [Finding("cameras", "warn", "no /dev/video* (needed only for camera:// face/eye "
                    "cameras)", "connect the camera; on a Pi 5 check `rpicam-hello --list`; "
                    "add this user to the video group")]


def check_serial() -> list[Finding]:
    from serial.tools import list_ports

    ports = sorted(p.device for p in list_ports.comports())
    if ports:
        return [Finding("serial", "ok", f"serial ports: {', '.join(ports)}")]
    return [Finding("serial", "warn", "no serial ports (needed only for serial:// sensor "
                    "boards)", "connect the board; add this user to the dialout group")]


def check_clock() -> list[Finding]:
    res = time.get_clock_info("monotonic").resolution
    out = [Finding("clock:monotonic", "ok" if res <= 1e-6 else "fail",
                   f"monotonic clock resolution {res * 1e9:.0f} ns",
                   "" if res <= 1e-6 else "a kernel with high-resolution timers is needed")]
    synced = None
    if shutil.which("timedatectl"):
        r = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                           capture_output=True, text=True, timeout=10)
        synced = {"yes": True, "no": False}.get(r.stdout.strip())
    if synced is None and shutil.which("chronyc"):
        r = subprocess.run(["chronyc", "-n", "tracking"], capture_output=True, text=True,
                           timeout=10)
        synced = r.returncode == 0 and "Normal" in r.stdout
    detail = {True: "wall clock synchronised (NTP)", False: "wall clock NOT synchronised",
              None: "cannot tell whether the wall clock is synchronised (no answer from "
              "timedatectl or chrony)"}
    out.append(Finding("clock:ntp", "ok" if synced else "warn", detail[synced] +
                       "; session times and logs use it, seat timing does not",
                       "" if synced else "`sudo timedatectl set-ntp true` or install chrony"))
    return out


def check_keys(path: Path | None, role: str = "host") -> list[Finding]:
    """`role`: "host" (every unit's key, the cue signing key) or "unit" (its own key, the
    public cue key)."""
    from empathy.keys import UNSAFE_MODE, Keystore, KeyError_, fingerprint

    if path is None:
        return [Finding("keys", "warn", "no keystore named (pass --config to check one)",
                        KEYS_FIX)]
    if not path.exists():
        return [Finding("keys", "fail", f"keystore {path} does not exist",
                        KEYS_FIX)]
    out = []
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & UNSAFE_MODE:  # as the keystore loader: group read is the service's way in
        out.append(Finding("keys:mode", "fail", f"{path} mode {mode:o} lets others read it "
                           "or its group change it: anyone could forge seat packets",
                           f"chmod 600 {path}"))
    try:
        ks = Keystore.load(path, role)  # refuses a keystore without its cue key
        out.append(Finding("keys", "ok" if ks.units else "fail",
                           f"{path}: {len(ks.units)} unit key(s), cue key "
                           f"{fingerprint(ks.public_cue_key())}", "" if ks.units else KEYS_FIX))
    except KeyError_ as e:
        out.append(Finding("keys", "fail", str(e), KEYS_FIX))
    return out


def check_disk(folder: Path) -> list[Finding]:
    folder = folder if folder.exists() else Path.cwd()
    free = shutil.disk_usage(folder).free / 1e9
    status = "fail" if free < MIN_FREE_GB else "warn" if free < LOW_FREE_GB else "ok"
    return [Finding("disk", status, f"{free:.1f} GB free at {folder} (sessions and recordings)",
                    "" if status == "ok" else "`empathy session purge --older-than 30` or "
                    "free space")]


def run_checks(config: Path | None = None) -> list[Finding]:
    """This machine's basics; with a config, each thing that config asks for
    (host/doctor_config.py) instead of the generic look around."""
    if config:
        from empathy.host.doctor_config import run_config_checks

        return check_clock() + run_config_checks(config)
    from empathy.host.doctor_models import check_models

    out = []
    for check in (check_gstreamer, check_ocio, check_models, check_caption_fonts, check_ble,
                  check_cameras, check_serial, check_clock, lambda: check_keys(None),
                  lambda: check_disk(Path("sessions"))):
        try:
            out += check()
        except Exception as e:
            out.append(crashed(check, e))
    return out


def _cmd(args) -> int:
    findings = run_checks(Path(args.config) if args.config else None)
    if args.json:
        print(json.dumps([asdict(f) for f in findings]))
    else:
        mark = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
        from rich.console import Console

        con = Console(highlight=False, soft_wrap=True)
        for f in findings:
            con.print(mark[f.status], end=" ", markup=True)
            con.print(f"{f.check:<32} {f.detail}", markup=False)
            if f.fix:
                con.print(f"     {'':<32} fix: {f.fix}", markup=False)
    failed = [f.check for f in findings if f.status == "fail"]
    if failed:
        print(f"empathy doctor: {len(failed)} problem(s): {', '.join(dict.fromkeys(failed))}",
              file=sys.stderr)
    return 1 if failed else 0


def register(p) -> None:
    p.add_argument("--config", help="a host or edge config: check each thing it names (sensors, "
                                    "uplink and clock, face models, outputs and sound, folders, "
                                    "keys)")
    p.add_argument("--json", action="store_true", help="findings as JSON")
    p.set_defaults(func=_cmd)
