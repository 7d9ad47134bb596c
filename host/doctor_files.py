"""`empathy doctor --config`'s checks of the files and folders a config names: the keystore,
a secret (token) file, a folder to write in, each also readable or writable by the service
user the deploy/systemd units run as."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
from pathlib import Path

from empathy.config import ConfigError
from empathy.paths import STATE_ENV
from empathy.host.doctor import LOW_FREE_GB, Finding, check_keys

SERVICE_USER = "empathy"  # deploy/systemd units run as this user
SERVICE_STATE = Path("/var/lib/empathy")  # and their state home (StateDirectory=)
# where systemd finds an installed unit, first found first; drop-ins beside each
UNIT_DIRS = (Path("/etc/systemd/system"), Path("/usr/lib/systemd/system"),
             Path("/lib/systemd/system"))
EDGE_UNIT = "empathy-edge@.service"


def service_state(unit: str = EDGE_UNIT) -> Path:
    """The state home the installed unit gives its service: its state home variable
    (paths.STATE_ENV, what the service reads), else /var/lib/ and its StateDirectory=; the shipped unit's where none
    is installed (or the installed one names neither)."""
    files = [f for d in UNIT_DIRS if (f := d / unit).is_file()][:1]
    files += sorted((f for d in UNIT_DIRS for f in (d / f"{unit}.d").glob("*.conf")),
                    key=lambda f: f.name)  # drop-ins: a later name overrides
    home = state = None
    for f in files:
        try:
            lines = f.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            key, _, value = line.strip().partition("=")
            if key == "StateDirectory":
                state = value.split()[0] if value.split() else None
            elif key == "Environment":
                for word in _words(value):
                    if word.startswith(f"{STATE_ENV}="):
                        home = word.split("=", 1)[1] or None
    if home and home.startswith("/"):
        return Path(home)
    return Path("/var/lib", state) if state and not state.startswith("/") else SERVICE_STATE


def _words(value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError:  # an unclosed quote: systemd ignores the line too
        return []


def check_keystore(path: Path, unit_id: int | None) -> list[Finding]:
    out = check_keys(path, "host" if unit_id is None else "unit")
    if unit_id is not None and all(f.status == "ok" for f in out):
        from empathy.keys import Keystore
        if unit_id not in Keystore.load(path, "unit").units:
            out.append(Finding("keys", "fail", f"{path} has no key for unit {unit_id}",
                               f"`empathy keys new {unit_id} --edge-dir ...` on the host"))
    return out + service_user_can_read(path, "keys")


def check_secret_file(item: str, path: Path) -> list[Finding]:
    if not path.is_file():
        return [Finding(item, "fail", f"{path} does not exist", "write the token there")]
    from empathy.host.dashboard.api import MIN_TOKEN
    from empathy.keys import UNSAFE_MODE

    mode = path.stat().st_mode & 0o777
    unsafe = mode & UNSAFE_MODE  # 0640 root:empathy is how the cinema guide installs it
    out = [Finding(item, "fail" if unsafe else "ok",
                   f"{path} mode {mode:o}", f"chmod 600 {path}" if unsafe else "")]
    from empathy.host.cli import read_token

    try:
        n = len(read_token(str(path), item) or "")  # as the host reads it
    except ConfigError as e:
        if not unsafe:  # (an unsafe mode is said above)
            out.append(Finding(item, "fail", str(e), f"head -c 32 /dev/urandom | base64 -w0 "
                               f"> {path}"))
        n = MIN_TOKEN
    if n < MIN_TOKEN:  # `host run` refuses it at start
        out.append(Finding(item, "fail", f"{path} holds {n} characters; the host refuses "
                           f"fewer than {MIN_TOKEN}", f"head -c 32 /dev/urandom | base64 > {path}"))
    return out + service_user_can_read(path, item)


def service_user_can_read(path: Path, item: str) -> list[Finding]:
    """Run as root (before a show), a 0600 file owned by root is one the service cannot
    read: the systemd units run as `empathy`."""
    try:
        user = pwd.getpwnam(SERVICE_USER)
        st = path.stat()
    except (KeyError, OSError):
        return []
    mode = st.st_mode
    readable = (st.st_uid == user.pw_uid and mode & 0o400) or \
        (st.st_gid == user.pw_gid and mode & 0o040) or mode & 0o004
    if readable:
        return []
    return [Finding(f"{item}:owner", "fail", f"the service user {SERVICE_USER} cannot read "
                    f"{path}", f"chown {SERVICE_USER}: {path}")]


def check_folder(item: str, folder: Path, min_free_gb: float) -> list[Finding]:
    """The folder exists (or can be made), a file can be written there, and it has room."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return [Finding(item, "fail", f"{probe} is not a folder", f"fix the {item} folder")]
    if probe != folder and not os.access(probe, os.W_OK):
        return [Finding(item, "fail", f"{folder} does not exist and {probe} is not writable",
                        f"mkdir -p {folder} && chown {SERVICE_USER}: {folder}")]
    if probe == folder:
        try:
            with open(folder / f".empathy-doctor-{os.getpid()}", "wb") as f:
                f.write(b"x")
            os.unlink(f.name)
        except OSError as e:
            return [Finding(item, "fail", f"cannot write in {folder}: {e.strerror}",
                            f"chown {SERVICE_USER}: {folder}")]
    free = shutil.disk_usage(probe).free / 1e9
    status = "fail" if free < min_free_gb else "warn" if free < LOW_FREE_GB and min_free_gb \
        else "ok"
    made = "" if probe == folder else f" (made at start, in {probe})"
    return [Finding(item, status, f"{folder} writable{made}, {free:.1f} GB free",
                    "" if status == "ok" else "`empathy session purge --older-than 30` or "
                    "free space")]


def check_session_room(folder: Path, shows: int = 3) -> list[Finding]:
    """Room for the next shows, as this machine's last sessions took it: a fixed floor
    (LOW_FREE_GB) read ok with 1.5 GB free where a 2-h show of 1,000 seats at 10 Hz
    writes 5.7 GB (79 bytes a sample). Nothing where no session was recorded yet."""
    from empathy.host.session.store import sessions

    try:
        last = [p.stat().st_size for p in sessions(folder)[-5:]]
        free = shutil.disk_usage(folder).free
    except OSError:
        return []
    if not last or not max(last):
        return []
    need = max(last)
    room = int(free // need)
    status = "fail" if room < 1 else "warn" if room < shows else "ok"
    return [Finding("session room", status, f"{_size(free)} free at {folder}: room for "
                    f"{room} show(s) the size of the largest of the last {len(last)} "
                    f"({_size(need)})", "" if status == "ok" else "`empathy session "
                    "purge --older-than DAYS`, or bound them: [session] max_mb or "
                    "retention_days in the host config")]


def _size(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"
