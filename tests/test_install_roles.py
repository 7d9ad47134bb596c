"""Install by role: each role's apt list and pip extra hold what that role's code imports,
and a seat unit gets no browser, encoder, broker or test tooling. (The measured footprint
of each role is `empathy bench footprint`, docs/install.md.)"""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL = ROOT / "scripts" / "install.sh"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# What each role runs: the modules behind its commands.
ROLE_MODULES = {
    "camera": ["empathy.sensors.camera"],  # and GStreamer started, as a camera seat does
    "edge": ["empathy.cli", "empathy.edge.cli", "empathy.edge.runtime", "empathy.edge.perception",
             "empathy.edge.expression", "empathy.sensors.cli", "empathy.sensors.serial.board",
             "empathy.sensors.ble.strap", "empathy.sensors.camera", "empathy.sensors.replay",
             "empathy.transports.mqtt", "empathy.transports.udp", "empathy.transports.serial",
             "empathy.discovery", "empathy.host.doctor", "empathy.host.doctor_config",
             "empathy.host.config_cli", "empathy.host.keys_cli", "empathy.edge.infer"],
    "research": ["empathy.sensors.lsl", "empathy.sensors.brainflow"],  # added to edge
    "host": ["empathy.cli", "empathy.host.cli", "empathy.host.show", "empathy.host.player.player",
             "empathy.host.player.cli", "empathy.host.dashboard.api", "empathy.host.session.cli",
             "empathy.host.session.store", "empathy.host.osc", "empathy.host.lsl",
             "empathy.host.story_cli", "empathy.host.report", "empathy.host.doctor",
             "empathy.host.doctor_config", "empathy.host.config_cli", "empathy.host.keys_cli",
             "empathy.transports.mqtt", "empathy.transports.udp", "empathy.transports.serial"],
}


# Found in sys.modules but not needed: optional imports our dependencies try
# (paho-mqtt: PySocks for proxies; numpy.f2py: charset-normalizer) and the shared
# `backports` namespace, which maps to whichever backports.* distribution is installed.
OPTIONAL = {"pysocks", "charset-normalizer", "backports.strenum"}


def apt(role: str) -> list[str]:
    r = subprocess.run(["bash", str(INSTALL), "--role", role, "--print-apt"],
                       capture_output=True, text=True, check=True)
    return r.stdout.split()


def test_a_seat_unit_gets_no_browser_encoder_broker_or_test_tools():
    edge, camera, host, dev = apt("edge"), apt("edge,camera"), apt("host"), apt("dev")
    for p in ("chromium", "chromium-driver", "ffmpeg", "mosquitto", "mosquitto-clients",
              "socat", "gstreamer1.0-libav", "gstreamer1.0-plugins-ugly"):
        assert p not in camera, p
    # a seat with serial boards and straps builds nothing and runs no GStreamer
    assert not {p for p in edge if p.startswith("gstreamer") or p in ("gcc", "python3-dev")}
    assert "gstreamer1.0-plugins-good" in camera and "libgirepository1.0-dev" in camera
    assert "mosquitto" in host and "gstreamer1.0-plugins-bad" in host  # kmssink
    assert "chromium" not in host and "ffmpeg" not in host
    assert set(camera) | set(host) <= set(dev) and {"chromium", "ffmpeg", "socat"} <= set(dev)
    assert set(apt("edge,host")) == set(edge) | set(host)  # a kiosk: both sides


def test_roles_and_arguments_are_checked():
    r = subprocess.run(["bash", str(INSTALL), "--role", "seat"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown role 'seat'" in r.stderr
    r = subprocess.run(["bash", str(INSTALL), "--colour"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown argument --colour" in r.stderr


def test_dev_is_the_default_and_ci_installs_everything():
    assert re.search(r"^ROLE=dev\b", INSTALL.read_text(), re.M)
    extras = PYPROJECT["optional-dependencies"]
    assert extras["dev"] == ["empathy-engine[edge,camera,host,research,test,bench]"]
    assert "bash scripts/install.sh\n" in (ROOT / ".ci" / "run").read_text()
    test_only = {"pytest", "hypothesis", "selenium", "python-dbusmock", "dbus-python"}
    names = lambda reqs: {re.split(r"[<>=;\[ ]", r)[0].lower() for r in reqs}  # noqa: E731
    assert not test_only & (names(extras["edge"]) | names(PYPROJECT["dependencies"]))


def _closure(reqs: list[str]) -> set[str]:
    """Distributions these requirements bring in (as installed here), recursively."""
    from importlib import metadata

    out, todo = set(), list(reqs)
    while todo:
        req = todo.pop()
        if ";" in req and "extra ==" in req:
            continue
        name = re.split(r"[<>=!~;\[ ]", req)[0].lower().replace("_", "-")
        if name in out:
            continue
        try:
            todo += metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # a marker excludes it on this machine
        out.add(name)
    return out


@pytest.mark.parametrize("role", sorted(ROLE_MODULES))
def test_each_role_extra_holds_what_its_code_imports(role):
    # What the interpreter loaded before our code (site's .pth hooks such as setuptools'
    # _distutils_hack in a fresh venv) is nobody's import.
    code = ("import importlib, json, sys\n"
            "before = set(sys.modules)\n"
            f"for m in {ROLE_MODULES[role]!r}: importlib.import_module(m)\n"
            + ("from empathy.sensors.camera import _gst\n_gst()\n" if role == "camera" else "")
            # both sides of a screen cue's signature (its library loads on first use)
            + ("from empathy import wire\nwire.CueVerifier(wire.CueSigner(bytes(32)).public)\n"
               if role in ("edge", "host") else "") +
            "from importlib import metadata\n"
            "dists = metadata.packages_distributions()\n"
            "top = {n.split('.')[0] for n in set(sys.modules) - before}"
            " - set(sys.stdlib_module_names)\n"
            "print(json.dumps(sorted({d.lower().replace('_', '-') for t in top "
            "for d in dists.get(t, [])})))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    used = set(json.loads(r.stdout.splitlines()[-1])) - {"empathy-engine"} - OPTIONAL
    extras = PYPROJECT["optional-dependencies"]
    # camera and research add to edge
    reqs = extras[role] + (extras["edge"] if role in ("camera", "research") else [])
    allowed = _closure(PYPROJECT["dependencies"] + reqs)
    if "opencv-python-headless" in allowed:  # both ship the same cv2 (a bench peer pulls the
        allowed.add("opencv-python")         # GUI build in beside it on a dev machine)
    assert not used - allowed, f"{role} code imports {sorted(used - allowed)}, not in its extra"
