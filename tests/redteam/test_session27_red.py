"""Red team, session 27: a stranger lifting the shipped broker's connection cap.

mosquitto 2.0.11 (Debian 12) takes a TLS connection that ends mid-handshake off its count
twice: every handshake a stranger starts and drops (no password needed) lifts
`max_connections` by one. The defence is deploy/cinema/empathy-broker.nft, the kernel
counting the connections still open. Each scenario runs the shipped mosquitto config and
the shipped nftables file for real in a private network namespace (`unshare -rn`; this
file run as a script is the part inside), so the rules touch no one else's network."""

from __future__ import annotations

import json
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

NFT = Path(__file__).resolve().parents[2] / "deploy" / "cinema" / "empathy-broker.nft"
CAP = 3  # the tests' max_connections, in mosquitto.conf and the nft file alike
DROPPED = 5  # handshakes started and dropped by the stranger
UNITS = list(range(1, CAP + DROPPED + 2))  # logins tried: one more than the lifted cap


def shipped_rules(port: int, cap: int | None = None) -> str:
    """The shipped nft file on the test broker's port (and a test's cap); the rest as shipped."""
    text = NFT.read_text()
    text, n = re.subn(r"\b8883\b", str(port), text)
    assert n == 3, "the nft file's broker port lines changed"
    caps = re.findall(r"ct count over (\d+) \} jump all_addresses", text)
    conf = (NFT.parent / "mosquitto.conf").read_text()
    assert caps == re.findall(r"^max_connections (\d+)$", conf, re.M), \
        "the nft file's cap and mosquitto.conf's max_connections differ"
    if cap is not None:
        text = re.sub(r"\bover \d+ \} jump all_addresses", f"over {cap} }} jump all_addresses",
                      text)
    return text


# ---- inside the namespace --------------------------------------------------------------

def _login(broker, user: str, source: str, clients: list) -> bool:
    """Whether `user` from `source` gets a CONNACK that accepts it; it stays connected."""
    import paho.mqtt.client as mqtt
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.username_pw_set(user, broker.creds[user].read_text().strip())
    c.tls_set(ca_certs=str(broker.pki["ca.crt"]))
    got, done = [], threading.Event()
    c.on_connect = lambda _c, _u, _f, rc, _p: (got.append(rc), done.set())
    try:
        c.connect("127.0.0.1", broker.port, 30, bind_address=source)
    except OSError:  # reset by the firewall, or closed by mosquitto before the handshake
        return False
    c.loop_start()
    clients.append(c)
    return done.wait(10) and not got[0].is_failure


def _drop_handshake(port: int) -> None:
    """A stranger's ClientHello; once the broker answers (it is mid-handshake), hang up."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:  # the ClientHello is written, the answer awaited
        pass
    with socket.create_connection(("127.0.0.1", port), 10, ("127.0.0.9", 0)) as s:
        s.sendall(outgoing.read())
        assert s.recv(1), "the broker did not answer a ClientHello"


def _settled(port: int) -> None:
    """Wait until the broker has closed its side of every dropped handshake: a connection
    it has not yet closed still counts for the kernel (and not yet twice for mosquitto)."""
    end = time.monotonic() + 20
    while time.monotonic() < end:
        states = [f[3] for f in (ln.split() for ln in
                                 Path("/proc/net/tcp").read_text().splitlines()[1:])
                  if f[1].endswith(f":{port:04X}")]
        if all(s in ("0A", "06", "07") for s in states):  # listen, time-wait, close
            return
        time.sleep(0.05)
    raise AssertionError("the broker kept dropped handshakes open for 20 s")


def _nft(*args: str, stdin: str | None = None) -> str:
    return subprocess.run(["nft", *args], input=stdin, text=True, capture_output=True,
                          check=True, timeout=30).stdout


def _refused(chain: str) -> int:
    rules = json.loads(_nft("-j", "list", "chain", "inet", "empathy_broker", chain))
    return sum(e["counter"]["packets"] for r in rules["nftables"] if "rule" in r
               for e in r["rule"]["expr"] if "counter" in e)


def _scenario(folder: Path, rules: bool) -> dict:
    from empathy.broker_auth import unit_user
    from hardened import HardenedBroker
    broker = HardenedBroker(folder, "red27", UNITS, max_connections=CAP)
    if rules:
        _nft("-f", "-", stdin=shipped_rules(broker.port, CAP))
    clients: list = []
    try:
        for _ in range(DROPPED):
            _drop_handshake(broker.port)
        _settled(broker.port)
        took = sum(_login(broker, unit_user(u), "127.0.0.1", clients) for u in UNITS)
        return {"logins": took, "refused": _refused("all_addresses") if rules else 0}
    finally:
        for c in clients:
            c.disconnect()
            c.loop_stop()
        broker.stop()


class _Stranger:
    """A machine on the sensor VLAN: a second namespace joined by a veth pair (10.27.0.2
    there, the broker's side 10.27.0.1); its sockets are made inside it (setns)."""

    def __init__(self):
        self.proc = subprocess.Popen(["unshare", "-n", "sleep", "120"])
        ns = f"/proc/{self.proc.pid}/ns/net"
        end = time.monotonic() + 20
        while Path(ns).resolve() == Path("/proc/self/ns/net").resolve():
            assert time.monotonic() < end, "the stranger's namespace did not appear"
            time.sleep(0.02)
        for cmd in (f"ip link add v0 type veth peer name v1 netns {self.proc.pid}",
                    "ip addr add 10.27.0.1/24 dev v0", "ip link set v0 up"):
            subprocess.run(cmd.split(), check=True, timeout=30)
        for cmd in ("ip addr add 10.27.0.2/24 dev v1", "ip link set v1 up"):
            subprocess.run(["nsenter", "-t", str(self.proc.pid), "-n", *cmd.split()],
                           check=True, timeout=30)
        self.ns = ns

    def connect(self, port: int) -> socket.socket:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        with open(self.ns) as there, open("/proc/self/ns/net") as here:
            assert libc.setns(there.fileno(), 0x40000000) == 0, "setns"  # CLONE_NEWNET
            try:
                s = socket.socket()
            finally:
                assert libc.setns(here.fileno(), 0x40000000) == 0, "setns back"
        s.settimeout(10)
        s.connect(("10.27.0.1", port))
        return s

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _one_address(folder: Path) -> dict:
    """The shipped cap (400): a stranger's address holding connections, this machine's own
    (the host's workers) holding as many, then a unit's login."""
    from empathy.broker_auth import unit_user
    from hardened import HardenedBroker
    broker = HardenedBroker(folder, "red27", [1], address="")
    _nft("-f", "-", stdin=shipped_rules(broker.port))
    stranger = _Stranger()
    held, local, clients = [], [], []
    try:
        for _ in range(6):
            try:
                held.append(stranger.connect(broker.port))
            except ConnectionRefusedError:  # the firewall's reset
                pass
            local.append(socket.create_connection(("127.0.0.1", broker.port), 10))
        unit = _login(broker, unit_user(1), "127.0.0.1", clients)
        return {"held": len(held), "local": len(local), "unit": unit,
                "refused": _refused("one_address")}
    finally:
        for s in held + local:
            s.close()
        for c in clients:
            c.disconnect()
            c.loop_stop()
        stranger.close()
        broker.stop()


def _inside(case: str) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=30)
    sys.path.insert(0, str(Path(__file__).parent))
    with tempfile.TemporaryDirectory() as tmp:
        run = {"plain": lambda: _scenario(Path(tmp), False),
               "rules": lambda: _scenario(Path(tmp), True),
               "one_address": lambda: _one_address(Path(tmp))}[case]
        print(json.dumps(run()))


# ---- the tests --------------------------------------------------------------------------

def _in_namespace(case: str) -> dict:
    for tool in ("unshare", "nsenter", "nft", "ip", "mosquitto"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            pytest.skip(f"{tool} is not installed (nftables, iproute2, util-linux, mosquitto)")
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode:
        pytest.skip("this machine refuses a private network namespace (unshare -rn)")
    p = subprocess.run(["unshare", "-rn", sys.executable, __file__, case], text=True,
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_dropped_handshakes_lift_mosquittos_own_cap():
    """Why the nft file exists (if this fails, mosquitto counts right now: say so in the nft
    file). 5 dropped handshakes: a cap of 3 took 6 to 8 logins (5 runs); 20: 23."""
    got = _in_namespace("plain")
    assert got["logins"] > CAP, got


def test_the_shipped_rules_hold_the_cap_after_dropped_handshakes():
    """Before (no rules): 8 logins of 9 with a cap of 3. The kernel counts open connections."""
    got = _in_namespace("rules")
    assert got["logins"] == CAP, got
    assert got["refused"] >= len(UNITS) - CAP, got


def test_one_address_holds_four_connections_and_the_host_more():
    """A stranger's address opening 6 connections holds 4 (a unit needs one); this
    machine's own 6 (the host's workers) are all held, and a unit logs in."""
    got = _in_namespace("one_address")
    assert got == {"held": 4, "local": 6, "unit": True, "refused": 2}, got


if __name__ == "__main__":
    _inside(sys.argv[1])
