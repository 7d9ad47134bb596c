"""Serial link: an edge unit cabled to the host (USB-serial, UART). Both directions.

Packets are framed with SLIP (RFC 1055): END (0xC0) closes a frame and the two special
bytes are escaped, so a frame boundary is never ambiguous and line noise costs only the
frame it hits (which then fails its tag and is counted, like any bad packet).

URL: ``serial:///dev/ttyUSB0?baud=921600``; the path may also be any pyserial URL
(``serial://rfc2217://host:port``, ``serial://socket://host:port``).
"""

from __future__ import annotations

from urllib.parse import parse_qs

import serial as pyserial

from empathy.transports import TransportError

END, ESC, ESC_END, ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD
MAX_FRAME = 256  # our packets are < 64 bytes; anything longer is noise


def slip_encode(packet: bytes) -> bytes:
    return (bytes([END]) + packet.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc")
            + bytes([END]))


class SlipDecoder:
    """Bytes in as they arrive, whole frames out."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        *frames, self.buf = self.buf.split(b"\xc0")
        if len(self.buf) > MAX_FRAME:
            self.buf.clear()
        return [bytes(f).replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb")
                for f in frames if f and len(f) <= MAX_FRAME]


def _open(url: str):
    path, _, query = url[len("serial://"):].partition("?")
    q = {k: v[-1] for k, v in parse_qs(query).items()}
    try:
        return pyserial.serial_for_url(path, baudrate=int(q.get("baud", 921600)), timeout=0,
                                       write_timeout=0.05)
    except (pyserial.SerialException, ValueError) as e:
        raise TransportError(f"{url}: cannot open serial port: {e}") from None


class _Link:
    """Same shape on both ends of the cable."""

    def __init__(self, url: str):
        self.url = url
        self.port = _open(url)
        self.slip = SlipDecoder()
        self.problem = ""

    def send(self, packet: bytes) -> bool:
        try:
            self.port.write(slip_encode(packet))
            return True
        except (pyserial.SerialException, OSError) as e:
            # cable pulled or buffer full: samples are perishable, the next one follows
            self.problem = f"{self.url}: {e}"
            return False

    def recv_batch(self, timeout_s: float = 0.05) -> list[bytes]:
        try:
            self.port.timeout = timeout_s
            data = self.port.read(max(1, self.port.in_waiting))
            if data:
                data += self.port.read(self.port.in_waiting)
        except (pyserial.SerialException, OSError):
            return []
        return self.slip.feed(data) if data else []

    def close(self) -> None:
        self.port.close()


class Sender(_Link):
    """`status_key`, `epochs` (open_sender's): a cable has no sessions, so no status to tag."""

    def __init__(self, url: str, unit_id: int = 0, status_key=None, epochs=None):
        super().__init__(url)


class Receiver(_Link):
    """One cable, one unit: replies go back down the same line."""

    def reply(self, unit_id: int, packet: bytes, origin: int | None = None) -> None:
        self.send(packet)  # the cable has one unit at its far end

    def take_gone(self) -> list[bytes]:
        return []  # a cable has no goodbye: silence (health) says the unit stopped
