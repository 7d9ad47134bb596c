"""Who is logged in to a broker as whom, held for as long as a host or unit is: one
machine's processes must not take each other's login (empathy/transports/mqtt_host.py,
mqtt.py), and `empathy doctor` asks before it logs in."""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import socket
from contextlib import ExitStack

from empathy.transports.mqtt_url import MqttUrl


def _broker_keys(host: str, port: int) -> set[str]:
    """The broker's name as written (lower-cased) and its address(es) as the lock names
    them: `localhost`, 127.0.0.1 and ::1 are one machine's broker. The name too: a unit
    started before the name resolved (a Pi up before the DNS) holds it, and a doctor that
    resolves it now must still find that unit's login held."""
    try:
        found = {a[4][0] for a in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError):
        return {host.lower()}
    addrs = {ipaddress.ip_address(a.split("%")[0]) for a in found}
    return {host.lower()} | {"loopback" if a.is_loopback else a.compressed for a in addrs}


def hold_login(cfg: MqttUrl) -> ExitStack | None:
    """The login (user at broker) held for as long as a host or unit logs in with it: an
    abstract unix socket for each address the broker's name resolves to, which every
    process of the machine sees (systemd's private /tmp too) and the kernel lets go at any
    death. None without a user name (a broker names no connection by it) or where it
    cannot be made; BlockingIOError where another process holds it. A listener that names
    connections by user (the shipped one) gives a second login the first one's place:
    `empathy doctor` asks here before it logs in as a host or unit, and a second process
    on the user is told at its start. (Held on the login, not its password file, nor the
    unit's sequence file, whose folder the service's environment names: a password in the
    URL has no file to hold. Keyed on addresses, not the name as written: a unit on
    `localhost` and a doctor on 127.0.0.1 are one login.)"""
    if not cfg.username:
        return None
    held = ExitStack()
    for addr in sorted(_broker_keys(cfg.host, cfg.port)):
        name = f"empathy-mqtt-login {cfg.username}@{addr}:{cfg.port}".encode()
        if len(name) > 100:  # the kernel's limit is 107 bytes
            name = b"empathy-mqtt-login " + hashlib.sha256(name).hexdigest().encode()
        sock = held.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
        try:
            sock.bind(b"\0" + name)
        except OSError as e:
            held.close()
            if e.errno == errno.EADDRINUSE:
                raise BlockingIOError(errno.EADDRINUSE, "held") from None
            return None
    return held


def login_of(cfg: MqttUrl) -> str:
    return f"user {cfg.username!r} at {cfg.host}:{cfg.port}"


def login_in_use(url: str) -> str:
    """The URL's login where a process holds it now (logged in with it), else "":
    `empathy doctor` must not log in as a running host or unit (see `hold_login`)."""
    cfg = MqttUrl(url)
    try:
        held = hold_login(cfg)
    except BlockingIOError:
        return login_of(cfg)
    if held is not None:
        held.close()
    return ""
