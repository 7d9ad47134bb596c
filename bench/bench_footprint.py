"""Install footprint of each role (`scripts/install.sh --role edge|host|dev`), side by side.

Measured, not estimated:

* pip: the real script installs each role into a fresh venv (`--venv TMP --no-apt`):
  packages (`pip list`, less pip and empathy-engine itself), MB (the venv on disk, `du`)
  and seconds (the script's wall time, with this machine's pip cache and wheel folders).
* apt: what the role's apt list (`install.sh --print-apt`) adds to a Debian 12 base:
  `apt-get --simulate` onto an empty dpkg status resolves the role's packages and, apart,
  the base (every Priority required/important package installed here); the role's own
  are those not in the base, counted, with their Installed-Size (and download Size) from
  `apt-cache show` summed. No machine is re-imaged.

Each edge and host figure is given against the dev role's (ratio < 1: smaller).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("edge", "edge,camera", "host", "dev")
INSTALL = ROOT / "scripts" / "install.sh"


def apt_list(role: str) -> list[str]:
    r = subprocess.run(["bash", str(INSTALL), "--role", role, "--print-apt"], check=True,
                       capture_output=True, text=True)
    return r.stdout.split()


def _simulate(packages: list[str], status: Path) -> dict[str, str]:
    """package -> version apt would install on a machine whose dpkg status is `status`."""
    r = subprocess.run(["apt-get", "-s", "-o", f"Dir::State::Status={status}", "install",
                        "--no-install-recommends", *packages],
                       capture_output=True, text=True, timeout=300)
    if r.returncode:
        raise RuntimeError(f"apt-get --simulate failed: {r.stderr.strip()[-300:]}")
    return dict(re.findall(r"^Inst (\S+) (?:\[\S+\] )?\((\S+)", r.stdout, re.M))


def base_packages(folder: Path) -> tuple[Path, set[str]]:
    """The Debian 12 base: every package of Priority required/important installed here,
    with what they depend on, as apt resolves them onto an empty machine."""
    stanzas = Path("/var/lib/dpkg/status").read_text(errors="replace").split("\n\n")
    names = [re.search(r"^Package: (\S+)", s, re.M).group(1) for s in stanzas
             if re.search(r"^Priority: (required|important)$", s, re.M)
             and re.search(r"^Status: install ok installed$", s, re.M)]
    empty = folder / "status"
    empty.write_text("")
    return empty, set(_simulate(names, empty))


def apt_footprint(role: str, empty: Path, base: set[str]) -> dict:
    pkgs = {p: v for p, v in _simulate(apt_list(role), empty).items() if p not in base}
    show = subprocess.run(["apt-cache", "show", "--no-all-versions",
                           *[f"{p}={v}" for p, v in pkgs.items()]], capture_output=True,
                          text=True, timeout=300).stdout
    kb = dl = 0
    for field, value in re.findall(r"^(Installed-Size|Size): (\d+)$", show, re.M):
        if field == "Installed-Size":
            kb += int(value)
        else:
            dl += int(value)
    return {"apt_packages": len(pkgs), "apt_installed_mb": kb / 1024, "apt_download_mb": dl / 1e6}


def pip_footprint(role: str, folder: Path) -> dict:
    venv = folder / f"venv-{role.replace(',', '-')}"
    t = time.monotonic()
    r = subprocess.run(["bash", str(INSTALL), "--role", role, "--venv", str(venv), "--no-apt"],
                       capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - t
    if r.returncode:
        raise RuntimeError(f"install.sh --role {role} failed: {r.stderr.strip()[-500:]}")
    listed = json.loads(subprocess.run([str(venv / "bin" / "pip"), "list", "--format=json"],
                                       capture_output=True, text=True, check=True).stdout)
    names = {d["name"].lower() for d in listed} - {"pip", "empathy-engine"}
    du = subprocess.run(["du", "-sk", str(venv)], capture_output=True, text=True, check=True)
    return {"pip_packages": len(names), "venv_mb": int(du.stdout.split()[0]) / 1024,
            "install_s": seconds, "names": sorted(names)}


def measure(roles=ROLES) -> dict[str, dict]:
    out = {}
    with tempfile.TemporaryDirectory(prefix="empathy-footprint-") as tmp:
        folder = Path(tmp)
        apt = base_packages(folder) if shutil.which("apt-get") else None
        for role in roles:
            out[role] = pip_footprint(role, folder)
            if apt:
                out[role].update(apt_footprint(role, *apt))
    return out


UNITS = {"pip_packages": "packages", "venv_mb": "MB", "install_s": "s",
         "apt_packages": "packages", "apt_installed_mb": "MB", "apt_download_mb": "MB"}


def run() -> list[dict]:
    fp = measure()
    dev = fp["dev"]
    rows = []
    for role in ROLES:
        for key, unit in UNITS.items():
            if key not in fp[role]:
                continue
            peer = role != "dev"
            rows.append({"name": f"footprint {role}: {key}", "value": float(fp[role][key]),
                         "unit": unit, "peer": "dev role" if peer else None,
                         "peer_value": float(dev[key]) if peer else None,
                         "ratio": fp[role][key] / dev[key] if peer and dev[key] else None})
    return rows


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
