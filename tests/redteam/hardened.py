"""The shipped broker config (deploy/cinema/mosquitto.conf), run for real by a test.

Only what cannot be the same on a test machine is changed: the listener's port (a free
one on 127.0.0.1), the folder of the password, ACL and certificate files, the log going
to the broker's own file instead of syslog, and, where the tests run as root, the broker
staying root (it would switch to user mosquitto, who cannot enter pytest's 0700 folders).
Every security line runs as shipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from empathy import broker_auth
from empathy.transports.mqtt_broker import LocalBroker, free_port

from pki import make_pki

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "cinema" / "mosquitto.conf"
REQUIRED = ("allow_anonymous false", "password_file ", "acl_file ", "message_size_limit ",
            "max_packet_size ", "cafile ", "certfile ", "keyfile ")


def shipped_config(folder: Path, port: int, max_connections: int | None = None,
                   address: str = "127.0.0.1") -> str:
    text = SHIPPED.read_text()
    for line in REQUIRED:
        assert re.search(rf"^{line}", text, re.M), f"shipped config lacks {line!r}"
    text = text.replace("/etc/mosquitto/empathy/", f"{folder}/")
    text, n = re.subn(r"^listener 8883$", f"listener {port} {address}".strip(), text, flags=re.M)
    assert n == 1, "the shipped config's TLS listener moved"
    text = text.replace("log_dest syslog", "log_dest stdout")
    if max_connections is not None:  # a test's small cap, to fill it
        text, n = re.subn(r"^max_connections \d+$", f"max_connections {max_connections}", text,
                          flags=re.M)
        assert n == 1, "the shipped config has no max_connections line"
    return text + ("user root\n" if os.geteuid() == 0 else "")


class HardenedBroker(LocalBroker):
    """mosquitto with the shipped config; users: the host and `units`, via broker_auth.
    `creds[user]` holds each one's password file (as `keys new --broker-dir` writes).
    `address` "": every address, as shipped (for a test in a private network namespace)."""

    def __init__(self, folder: Path, screen: str, units: list[int],
                 max_connections: int | None = None, address: str = "127.0.0.1"):
        folder.mkdir(parents=True, exist_ok=True)
        self.pki = make_pki(folder)
        self.screen = screen
        self.creds = {}
        for user, pw in broker_auth.add_users(folder, screen, units).items():
            self.creds[user] = folder / f"{user}.mqtt"
            broker_auth.write_credentials(self.creds[user], pw)
        port = free_port()
        super().__init__(folder, port, shipped_config(folder, port, max_connections, address),
                         scheme="mqtts")

    def user_url(self, user: str, **query) -> str:
        """mqtts:// URL for `user` with its password file and the test CA."""
        q = {"ca": self.pki["ca.crt"], "password_file": self.creds[user], **query}
        return (f"mqtts://{user}@127.0.0.1:{self.port}/{self.screen}?"
                + "&".join(f"{k}={v}" for k, v in q.items()))
