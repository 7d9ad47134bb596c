"""What the host refuses to start with, and what the shipped service units promise:
findings about stories, tokens, keystores and file modes."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from empathy.keys import Keystore, KeyError_

from redteam_rig import Host, free_udp_port, sample_story

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _run_host(tmp_path, token="t" * 40, story=None, keystore_mode=0o600, cue_key=True):
    keys = Keystore.new([1])
    if not cue_key:
        keys.cue_signing = b""
    host = Host(tmp_path, f"udp://127.0.0.1:{free_udp_port()}", keys, token=token, story=story)
    if cue_key == "legacy":  # as `keys new` wrote it before signed cues: the shared show key
        path = tmp_path / "host.keys.toml"
        path.write_text(path.read_text().replace("cue_signing_key", "show"))
    os.chmod(tmp_path / "host.keys.toml", keystore_mode)
    host.start(wait=False)
    try:
        host.proc.wait(120)
    finally:
        host.stop()
    return host.proc.returncode, host.log()


def test_a_story_id_that_is_html_is_refused_with_its_line(tmp_path):
    """Finding (stored XSS): a segment id such as <img src=x onerror=...> was accepted and
    written into the dashboard's control log with innerHTML."""
    text = sample_story(tmp_path).read_text()
    evil = text.replace("[segments.chase]", '[segments."<img src=x onerror=alert(1)>"]') \
               .replace('"chase"', '"<img src=x onerror=alert(1)>"')
    assert evil != text
    story = tmp_path / "evil.toml"
    story.write_text(evil)
    line = next(i for i, s in enumerate(evil.splitlines(), 1) if "<img" in s)
    rc, log = _run_host(tmp_path, story=story)
    assert rc == 1 and re.search(rf"evil.toml:{line}: segment '<img src=x onerror=alert\(1\)>' "
                                 "may use only letters, digits, _ and -", log), log[-2000:]
    out = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "check", str(story),
                          "--no-files"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and f"evil.toml:{line}:" in out.stdout + out.stderr


def test_a_short_operator_token_is_refused_at_start(tmp_path):
    """Finding: any token length was accepted."""
    rc, log = _run_host(tmp_path, token="short-token")
    assert rc == 1 and "use at least 32" in log, log[-2000:]


@pytest.mark.parametrize("mode,cue_key,why", [
    (0o644, True, "lets others read"), (0o620, True, "lets others read"),
    (0o600, False, "no cue_signing_key"),
    (0o600, "legacy", "from before signed screen cues.*empathy keys cue-key")])
def test_an_unsafe_keystore_is_refused(tmp_path, mode, cue_key, why):
    """Findings: a keystore with a missing or empty show key loaded (screen cues became
    forgeable); a world-readable one was only warned about by `keys list`. Since cues are
    signed: a host keystore without the signing key, or from before signed cues (no
    fallback to the shared show key), is refused in one line."""
    rc, log = _run_host(tmp_path, keystore_mode=mode, cue_key=cue_key)
    assert rc == 1 and re.search(why, log), log[-2000:]
    assert "Traceback" not in log
    path = tmp_path / "host.keys.toml"
    with pytest.raises(KeyError_, match=why):
        Keystore.load(path, "host")
    path.chmod(0o640)  # root:empathy 0640, as the cinema guide sets it, is fine
    if cue_key is True:
        Keystore.load(path, "host")


def test_service_units_keep_their_files_private():
    """Finding: systemd units set no UMask (sessions and exports readable by all)."""
    for unit in (DEPLOY / "systemd").glob("*.service"):
        text = unit.read_text()
        assert re.search(r"^UMask=0077$", text, re.M), unit
        assert re.search(r"^Environment=XDG_STATE_HOME=/var/lib/empathy$", text, re.M), unit


def test_a_keystore_rewritten_by_keys_new_stays_readable_by_the_service(tmp_path):
    """Finding: the service user could not read the root-owned 0600 keystore the cinema
    guide created. Now the guide makes it root:empathy 0640, and `keys new` keeps that."""
    path = tmp_path / "host.keys.toml"
    Keystore.new([1]).save(path)
    others = [g for g in os.getgroups() if g != os.getegid()]
    if os.geteuid() == 0:
        others.append(65534)  # root may give the file any group (here nogroup)
    if not others:
        pytest.skip("this user belongs to one group only: cannot try a service group")
    gid = others[-1]
    os.chown(path, -1, gid)
    path.chmod(0o640)
    out = subprocess.run([sys.executable, "-m", "empathy.cli", "keys", "new", "2",
                          "--keystore", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    st = path.stat()
    assert st.st_mode & 0o777 == 0o640 and st.st_gid == gid
    assert set(Keystore.load(path, "host").units) == {1, 2}
