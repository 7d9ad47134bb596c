"""A private mosquitto on 127.0.0.1 (demo, tests, benches).

In a cinema the broker is a system service configured by `deploy/cinema/mosquitto.conf`;
this starts one that lives in `folder`: by default open (anonymous, loopback only), or
with any configuration text given, e.g. the shipped hardened one pointed at a test's
password, ACL and certificate files (`listener` lines are the caller's). Given the demo's
lifeline (edge/lifeline.py), it stops once the demo has gone, even killed (edge/watcher.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from empathy.edge.watcher import guard, release
from empathy.transports import TransportError

OPEN = ("allow_anonymous true\npersistence false\n"
        "max_queued_messages 100000\nmax_inflight_messages 100\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port, seen in the kernel's socket table (no
    connection made): a probe connection that a TLS listener saw end mid-handshake left
    mosquitto 2.0.11 counting one connection fewer, so a cap of 3 took a 4th (1 start in 12
    here, `test_broker_connections`). Elsewhere than Linux: a probe connection."""
    try:
        table = Path("/proc/net/tcp").read_text()
    except OSError:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            return False
    here = {f"0100007F:{port:04X}", f"00000000:{port:04X}"}  # 127.0.0.1, any (as written)
    return any(f[1] in here and f[3] == "0A" for f in (line.split() for line in
                                                       table.splitlines()[1:]) if len(f) > 3)


class LocalBroker:
    def __init__(self, folder: str | Path, port: int = 0, config: str | None = None,
                 scheme: str = "mqtt", lifeline=None):
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(exe):
            raise TransportError("mosquitto is not installed (apt-get install mosquitto)")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.scheme = scheme
        conf = self.folder / "mosquitto.conf"
        conf.write_text(config if config is not None
                        else f"listener {self.port} 127.0.0.1\n{OPEN}")
        self.log = open(self.folder / "mosquitto.log", "w")
        self.proc = subprocess.Popen([exe, "-c", str(conf)], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self._watcher = None
        if lifeline is not None:
            self._watcher = guard(lifeline, [self.proc.pid], "mosquitto", self.log)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                self.stop()
                raise TransportError(f"mosquitto exited: see {self.folder / 'mosquitto.log'}")
            if _listening(self.port):
                break
            time.sleep(0.05)
        else:
            self.stop()
            raise TransportError("mosquitto did not start listening within 10 s")

    def url(self, screen: str = "main", **query) -> str:
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{self.scheme}://127.0.0.1:{self.port}/{screen}" + (f"?{q}" if q else "")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if self._watcher is not None:
            release(self._watcher)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()
