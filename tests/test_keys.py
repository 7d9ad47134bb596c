"""`empathy keys` and key rotation while packets keep flowing (the host re-reads the file)."""

import json
import os
import socket
import stat

import pytest

from empathy import wire
from empathy.clock import now_us
from empathy.cli import main
from empathy.host.receive import Intake
from empathy.keys import Keystore, KeyError_, fingerprint
from polling import wait_for


def _keys(tmp_path, *argv, capsys):
    rc = main(["keys", *argv, "--keystore", str(tmp_path / "host.keys.toml")])
    return rc, capsys.readouterr()


def test_new_list_revoke_and_file_modes(tmp_path, capsys):
    rc, out = _keys(tmp_path, "new", "1-3", "7", "--edge-dir", str(tmp_path / "edge"), "--json",
                    capsys=capsys)
    assert rc == 0
    rows = json.loads(out.out)["units"]
    assert [r["unit"] for r in rows] == [1, 2, 3, 7]
    ks = Keystore.load(tmp_path / "host.keys.toml", "host")
    for f in [tmp_path / "host.keys.toml", *(tmp_path / "edge").iterdir()]:
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f
    unit2 = Keystore.load(tmp_path / "edge" / "unit2.keys.toml", "unit")
    # only its own key, and the host's public cue key: nothing that signs a cue
    assert unit2.units == {2: ks.units[2]} and unit2.cue_signing == b""
    assert unit2.cue_public == wire.CueSigner(ks.cue_signing).public
    assert "cue_signing_key" not in (tmp_path / "edge" / "unit2.keys.toml").read_text()
    # keys are never printed, only fingerprints
    rc, out = _keys(tmp_path, "list", capsys=capsys)
    assert rc == 0 and ks.units[1].hex() not in out.out and fingerprint(ks.units[1]) in out.out
    assert ks.cue_signing.hex() not in out.out
    rc, out = _keys(tmp_path, "revoke", "3", capsys=capsys)
    assert rc == 0 and 3 not in Keystore.load(tmp_path / "host.keys.toml", "host").units
    rc, out = _keys(tmp_path, "revoke", "3", capsys=capsys)
    assert rc == 1 and "unit 3 has no key" in out.err
    rc, out = _keys(tmp_path, "new", "70000", capsys=capsys)
    assert rc == 1 and "65535" in out.err
    (tmp_path / "host.keys.toml").write_text('units = { "1" = "abcd" }\n')
    rc, out = _keys(tmp_path, "list", capsys=capsys)
    assert rc == 1 and "key of 2 bytes" in out.err


def test_rotation_while_packets_flow(tmp_path, capsys):
    path = tmp_path / "host.keys.toml"
    assert _keys(tmp_path, "new", "1", "2", capsys=capsys)[0] == 0
    old = Keystore.load(path, "host").units[1]
    intake = Intake(Keystore.load(path, "host").units)
    intake.watch_keystore(path)
    seq = iter(range(10**6))

    def send(key, unit=1):
        return intake.feed([wire.encode(wire.SeatSample(unit, unit, next(seq), now_us()), key)])

    assert len(send(old)) == 1
    assert _keys(tmp_path, "new", "1", capsys=capsys)[0] == 0  # rotate: old key still valid
    new = Keystore.load(path, "host").units[1]
    assert new != old
    events = intake.check_health()
    assert {"event": "keys_reloaded", "units": 2, "rotating": [1]} in events
    assert len(send(old)) == 1 and len(send(new)) == 1  # the unit switches over when it can
    assert _keys(tmp_path, "revoke", "1", "--previous", capsys=capsys)[0] == 0
    intake.check_health()
    assert send(old) == [] and intake.rejected["bad_tag"] == 1
    assert len(send(new)) == 1
    assert _keys(tmp_path, "revoke", "1", capsys=capsys)[0] == 0
    intake.check_health()
    assert send(new) == [] and intake.rejected["unknown_unit"] == 1
    assert intake.accepted == 4
    # a broken file mid-show changes nothing: the host keeps the keys it has
    path.write_text("not toml [")
    intake.check_health()
    assert len(send(intake.keys[2], unit=2)) == 1


def test_each_keystore_holds_only_its_side_of_the_cue_key(tmp_path, capsys):
    """A unit keystore with the signing key, or a host keystore without it, is refused."""
    assert _keys(tmp_path, "new", "1", "--edge-dir", str(tmp_path), capsys=capsys)[0] == 0
    host, unit = tmp_path / "host.keys.toml", tmp_path / "unit1.keys.toml"
    with pytest.raises(KeyError_, match="holds the host's cue signing key"):
        Keystore.load(host, "unit")
    with pytest.raises(KeyError_, match="no cue_signing_key: not a host's keystore"):
        Keystore.load(unit, "host")
    unit.write_text(unit.read_text().replace("cue_public_key", "cue_public_key_"))
    with pytest.raises(KeyError_, match="no cue_public_key"):
        Keystore.load(unit, "unit")
    unit.write_text(unit.read_text().replace("cue_public_key_", "cue_public_key")
                    .replace('cue_public_key = "', 'cue_public_key = "ab'))
    with pytest.raises(KeyError_, match="cue_public_key of 33 bytes"):
        Keystore.load(unit, "unit")


def _legacy(path, units):
    """A keystore as `keys new` wrote it before signed cues: the shared show key."""
    path.write_text(f'show = "{"aa" * 32}"\n[units]\n'
                    + "".join(f'"{u}" = "{"%02x" % u * 32}"\n' for u in units))
    path.chmod(0o600)


def test_a_keystore_from_before_signed_cues_is_refused_until_migrated(tmp_path, capsys):
    """No silent fallback to the shared show key: one line naming the command, which then
    gives the host a signing key and every unit a keystore with its public half."""
    host, edge = tmp_path / "host.keys.toml", tmp_path / "edge"
    _legacy(host, (1, 2))
    _legacy(tmp_path / "old-unit1.keys.toml", (1,))
    for role, path in (("host", host), ("unit", tmp_path / "old-unit1.keys.toml")):
        with pytest.raises(KeyError_) as e:
            Keystore.load(path, role)
        assert "from before signed screen cues" in str(e.value)
        assert "`empathy keys cue-key --keystore HOST_KEYSTORE --edge-dir DIR`" in str(e.value)
    for verb in (["list"], ["new", "3"], ["revoke", "1"]):
        rc, out = _keys(tmp_path, *verb, capsys=capsys)
        assert rc == 1 and "keys cue-key" in out.err and len(out.err.splitlines()) == 1, out
    rc, out = _keys(tmp_path, "cue-key", "--edge-dir", str(edge), "--json", capsys=capsys)
    assert rc == 0, out.err
    done = json.loads(out.out)
    ks = Keystore.load(host, "host")
    assert ks.units == {1: bytes([1]) * 32, 2: bytes([2]) * 32}  # unit keys kept
    assert "show" not in host.read_text() and done["units"] == [1, 2]
    for u in (1, 2):
        own = Keystore.load(edge / f"unit{u}.keys.toml", "unit")
        assert own.units == {u: ks.units[u]} and own.cue_public == ks.public_cue_key()
    assert done["cue_key"] == fingerprint(ks.public_cue_key())
    # rotation: a new signing key, every unit's keystore rewritten with its public half
    rc, out = _keys(tmp_path, "cue-key", "--edge-dir", str(edge), capsys=capsys)
    assert rc == 0 and "install each on its unit" in out.out
    rotated = Keystore.load(edge / "unit1.keys.toml", "unit").cue_public
    assert rotated != ks.public_cue_key() == own.cue_public
    assert rotated == Keystore.load(host, "host").public_cue_key()
    # the command refuses a unit's keystore (it holds only the public key)
    rc, out = main(["keys", "cue-key", "--keystore", str(edge / "unit1.keys.toml"),
                    "--edge-dir", str(tmp_path / "x")]), capsys.readouterr()
    assert rc == 1 and "is a unit's" in out.err


def test_a_cue_key_rotation_reaches_the_running_host_and_units(tmp_path, capsys):
    """`keys cue-key` mid-show: the host's intake hands the new keystore on (the show signs
    with it); a unit re-reading its keystore checks with the new public key, and until it
    does it refuses the new cues."""
    from empathy.edge.screen import ScreenState
    from empathy.keys import KeystoreWatch

    edge, path = tmp_path / "edge", tmp_path / "host.keys.toml"
    assert _keys(tmp_path, "new", "1", "--edge-dir", str(edge), capsys=capsys)[0] == 0
    reloaded = []
    intake = Intake(Keystore.load(path, "host").units)
    intake.watch_keystore(path, on_reload=reloaded.append)
    unit_file = edge / "unit1.keys.toml"
    screen = ScreenState(0, Keystore.load(unit_file, "unit").cue_public, host_now=now_us)
    unit_watch = KeystoreWatch(unit_file, "unit")
    try:
        assert _keys(tmp_path, "cue-key", "--edge-dir", str(edge), capsys=capsys)[0] == 0
        intake.check_health()
        (ks,) = reloaded
        signer = wire.CueSigner(ks.cue_signing)

        def send(seq):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(wire.encode_cue(wire.ScreenCue(seq, now_us(), "dawn", 0, 0.5),
                                         signer), ("127.0.0.1", screen.port))
        send(1)
        wait_for(lambda: screen.rejected, 5, "the unit to refuse a cue under the new key")
        screen.use_key(unit_watch.changed().cue_public)  # what the unit's heartbeat does
        send(2)
        wait_for(lambda: screen.taken, 5, "the unit to take it once it has its new keystore")
    finally:
        screen.close()


def test_a_keystore_in_a_folder_that_does_not_exist_is_named_as_given(tmp_path, capsys):
    """The error named the temporary file (missing/x.tmp), not the path the user gave."""
    given = tmp_path / "missing" / "x.toml"
    rc = main(["keys", "new", "3", "--keystore", str(given)])
    err = capsys.readouterr().err
    assert rc == 1 and ".tmp" not in err, err
    assert err.strip() == (f"empathy keys new: {given}: no such file or directory (the folder "
                           f"{given.parent} does not exist: create it or choose another path)")


def test_an_atomic_write_names_the_file_asked_for():
    from empathy.atomic import write_text

    with pytest.raises(FileNotFoundError) as e:
        write_text("/nonexistent-folder/state.json", "{}")
    assert e.value.filename == "/nonexistent-folder/state.json"
