"""`empathy keys` and key rotation while packets keep flowing (the host re-reads the file)."""

import json
import os
import stat

from empathy import wire
from empathy.clock import now_us
from empathy.cli import main
from empathy.host.receive import Intake
from empathy.keys import Keystore, fingerprint


def _keys(tmp_path, *argv, capsys):
    rc = main(["keys", *argv, "--keystore", str(tmp_path / "host.keys.toml")])
    return rc, capsys.readouterr()


def test_new_list_revoke_and_file_modes(tmp_path, capsys):
    rc, out = _keys(tmp_path, "new", "1-3", "7", "--edge-dir", str(tmp_path / "edge"), "--json",
                    capsys=capsys)
    assert rc == 0
    rows = json.loads(out.out)["units"]
    assert [r["unit"] for r in rows] == [1, 2, 3, 7]
    ks = Keystore.load(tmp_path / "host.keys.toml")
    for f in [tmp_path / "host.keys.toml", *(tmp_path / "edge").iterdir()]:
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f
    unit2 = Keystore.load(tmp_path / "edge" / "unit2.keys.toml")
    assert unit2.units == {2: ks.units[2]} and unit2.show == ks.show  # only its own key
    # keys are never printed, only fingerprints
    rc, out = _keys(tmp_path, "list", capsys=capsys)
    assert rc == 0 and ks.units[1].hex() not in out.out and fingerprint(ks.units[1]) in out.out
    rc, out = _keys(tmp_path, "revoke", "3", capsys=capsys)
    assert rc == 0 and 3 not in Keystore.load(tmp_path / "host.keys.toml").units
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
    old = Keystore.load(path).units[1]
    intake = Intake(Keystore.load(path).units)
    intake.watch_keystore(path)
    seq = iter(range(10**6))

    def send(key, unit=1):
        return intake.feed([wire.encode(wire.SeatSample(unit, unit, next(seq), now_us()), key)])

    assert len(send(old)) == 1
    assert _keys(tmp_path, "new", "1", capsys=capsys)[0] == 0  # rotate: old key still valid
    new = Keystore.load(path).units[1]
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
