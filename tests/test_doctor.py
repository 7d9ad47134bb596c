"""`empathy doctor` on this machine, checked against what is really here (gst-inspect,
/dev, /sys), and with things taken away (no GStreamer plugins, a bad keystore)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from empathy.edge.model_check import REINSTALL
from empathy.host.doctor import GST_DISPLAY, GST_REQUIRED
from empathy.keys import Keystore

MODELS = Path(__file__).resolve().parents[1] / "models"


def doctor(*args, env=None):
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "doctor", "--json", *args],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, **(env or {})})
    return r.returncode, {f["check"]: f for f in json.loads(r.stdout)}


def gst_has(element: str) -> bool:
    return subprocess.run(["gst-inspect-1.0", "--exists", element]).returncode == 0


def test_doctor_reports_what_this_machine_has_and_lacks():
    rc, f = doctor()
    assert rc == (1 if any(x["status"] == "fail" for x in f.values()) else 0)
    missing = sorted(e for e in GST_REQUIRED if not gst_has(e))
    assert (f["gstreamer"]["status"] == "ok") == (not missing)
    for e in missing:
        assert e in f["gstreamer"]["detail"]
    for element, _ in GST_DISPLAY.values():
        finding = f[f"gstreamer:{element}"]
        assert ("present" in finding["detail"]) == gst_has(element), finding
        assert finding["status"] in (("ok",) if gst_has(element) else ("warn", "fail"))
        assert bool(finding["fix"]) != gst_has(element)
    cams = sorted(str(p) for p in Path("/dev").glob("video*"))
    assert (f["cameras"]["status"] == "ok") == bool(cams)
    assert all(c in f["cameras"]["detail"] for c in cams)
    bt = Path("/sys/class/bluetooth")
    adapters = sorted(p.name for p in bt.iterdir()) if bt.is_dir() else []
    assert (f["ble"]["status"] == "ok") == bool(adapters)
    assert all(a in f["ble"]["detail"] for a in adapters)
    if f["serial"]["status"] == "ok":
        for port in f["serial"]["detail"].removeprefix("serial ports: ").split(", "):
            assert Path(port).is_char_device()
    for m in MODELS.glob("*.tflite"):
        assert f[f"model:{m.name}"]["status"] == "ok"
    assert f["opencolorio"]["status"] == "ok"
    assert f["clock:monotonic"]["status"] == "ok"


def test_doctor_names_missing_plugins_and_the_package_to_install(tmp_path):
    empty = tmp_path / "no-plugins"
    empty.mkdir()
    rc, f = doctor(env={"GST_PLUGIN_SYSTEM_PATH_1_0": str(empty), "GST_PLUGIN_PATH_1_0": "",
                        "GST_REGISTRY_1_0": str(tmp_path / "registry.bin")})
    assert rc == 1 and f["gstreamer"]["status"] == "fail"
    assert "x264enc" in f["gstreamer"]["detail"] and "decodebin" in f["gstreamer"]["detail"]
    assert "gstreamer1.0-plugins-ugly" in f["gstreamer"]["fix"]


def test_doctor_checks_the_configured_keystore(tmp_path):
    cfg = tmp_path / "host.toml"
    cfg.write_text(f'story = "s.toml"\nkeystore = "{tmp_path / "host.keys.toml"}"\n')
    rc, f = doctor("--config", str(cfg))
    assert rc == 1 and "does not exist" in f["keys"]["detail"]
    Keystore.new([1, 2]).save(tmp_path / "host.keys.toml")
    rc, f = doctor("--config", str(cfg))
    assert f["keys"]["status"] == "ok" and "2 unit key(s)" in f["keys"]["detail"]
    assert "keys:mode" not in f
    os.chmod(tmp_path / "host.keys.toml", 0o644)
    rc, f = doctor("--config", str(cfg))
    assert rc == 1 and f["keys:mode"]["fix"] == f"chmod 600 {tmp_path / 'host.keys.toml'}"


# An install elsewhere: `empathy doctor` in a process that takes a copy of models/ as its own.
RUN = ("import sys; from pathlib import Path; import empathy.models as m; "
       "m.MODELS_DIR = Path(sys.argv.pop(1)); from empathy.cli import main; "
       "sys.exit(main(sys.argv[1:]))")


def test_a_shipped_model_missing_cut_short_or_flipped_is_named_with_the_fix(tmp_path):
    """A bad install or a Pi's SD card: one model gone, one cut short, one with a byte
    flipped (it still loads: only its SHA-256 tells). Before, the missing one went unsaid,
    the flipped one was "ok" and the cut one's fix was `pip install ai-edge-litert`."""
    models = tmp_path / "models"
    shutil.copytree(MODELS, models, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (models / "face_landmark.tflite").unlink()
    iris = models / "iris_landmark.tflite"
    iris.write_bytes(iris.read_bytes()[:300000])
    detector = models / "face_detection_short_range.tflite"
    flipped = bytearray(detector.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    detector.write_bytes(bytes(flipped))
    r = subprocess.run([sys.executable, "-c", RUN, str(models), "doctor", "--json"],
                       capture_output=True, text=True, timeout=120)
    f = {x["check"]: x for x in json.loads(r.stdout)}
    bad = {"face_landmark.tflite": "no such file",
           "iris_landmark.tflite": "not the shipped file",
           "face_detection_short_range.tflite": "not the shipped file"}
    for name, why in bad.items():
        said = f[f"model:{name}"]
        assert said["status"] == "fail" and why in said["detail"], said
        assert str(models / name) in said["detail"] and said["fix"] == REINSTALL, said
    for m in models.glob("expression_*.tflite"):
        assert f[f"model:{m.name}"]["status"] == "ok", f[f"model:{m.name}"]
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        "empathy doctor: 3 problem(s): model:face_detection_short_range.tflite, "
        "model:face_landmark.tflite, model:iris_landmark.tflite"), r.stderr
