"""An edge unit with two simulated seats (no faces), sending to a UDP port nobody reads:
for tests that look at the unit's own counts."""

from empathy.edge.runtime import EdgeConfig, EdgeUnit, SeatConfig
from empathy.keys import Keystore


def two_seat_unit(tmp_path) -> EdgeUnit:
    Keystore.new([1]).for_unit(1).save(tmp_path / "k.toml")
    return EdgeUnit(EdgeConfig(unit_id=1, uplink="udp://127.0.0.1:9",
                               keystore=str(tmp_path / "k.toml"),
                               seq_file=str(tmp_path / "seq"), sync_hz=0,
                               seats=[SeatConfig(1, "sim://seat?seed=1&faces=0"),
                                      SeatConfig(2, "sim://seat?seed=2&faces=0")]))
