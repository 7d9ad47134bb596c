"""Sensor-board protocol v1: the ONE encoder/decoder the boards and the host share.

This file runs unchanged under MicroPython (copied to the board as `protocol.py`) and
CPython (imported as `empathy.sensors.firmware.protocol`), so it uses only `struct` and
plain classes. The full spec, with examples, is in docs/sensors.md.

A frame on the line is 0x00, COBS(payload + CRC-16), 0x00. COBS leaves
no zero inside a frame, so after garbage or a cut cable the decoder resynchronises at the
next 0x00. Payload (little-endian)::

    off size field
    0   1    type      HELLO, PPG, PUPIL, STATUS, EDA, ACC, ECG
    1   2    seq       +1 per frame, wraps at 65536: gaps count lost frames
    3   4    ts_us     board clock when the (first) sample was taken, wraps at 2**32
    7   ...  body      per type, below
    -2  2    crc       CRC-16/CCITT-FALSE over type..body

Bodies::

    HELLO   protocol version u8, board_id u32, fw major u8, minor u8, patch u8, name (ASCII)
    PPG     fs_hz u16, channel u8 (0 IR, 1 red, 2 green), samples u32 x n (n = rest / 4):
            raw ADC counts of reflected light (they fall as blood arrives)
    PUPIL   diameter_um u16, confidence u8 (0..255)
    STATUS  flags u8 (bit0 contact), battery u8 (%, 255 = unknown), error u8, text (rest)
    EDA     fs_hz u16, samples u16 x n (n = rest / 2): skin conductance in nanosiemens
            (0..65.534 µS; 65535 = the front end saturated) from a GSR front end
    ACC     fs_hz u16, samples (x i16, y i16, z i16) x n (n = rest / 6): acceleration in mG
            from an accelerometer on the PPG's board or hand (an LIS3DH, +-16 g at most)
    ECG     fs_hz u16 (ECG_FS_MIN..ECG_FS_MAX), pv_per_count u32 (the front end's scale: one
            count is this many picovolts at the electrodes, 1..ECG_PV_MAX), leads u8 (bit0
            LEAD_P, bit1 LEAD_N: that electrode was off at any sample of this frame; bits
            2-7 reserved, sent 0, ignored), samples i16 x n (n = (rest - 7) / 2): the front
            end's output less its reference (an AD8232's REFOUT), in counts

A type this host does not know (a newer board's) is counted and skipped: its seq still
counts, so it is no lost frame.

Host to board: HELLO_REQUEST, written when the host opens the port, asks for a HELLO now (the
boot HELLO was sent before the port was open and is gone). A board from before it leaves the
bytes unread: they hold no Ctrl-C (0x03), which would stop a MicroPython board's main.py.
"""

import struct

VERSION = 1
HELLO = 1
PPG = 2
PUPIL = 3
STATUS = 4
EDA = 5
ACC = 6
ECG = 7
TYPES = (HELLO, PPG, PUPIL, STATUS, EDA, ACC, ECG)
EDA_SATURATED = 0xFFFF
MAX_PAYLOAD = 1024  # a longer run between zeros is garbage, not a frame
MAX_SAMPLES = 200  # per PPG frame; boards send 10-50
HEADER = "<BHI"
HEADER_SIZE = 7
CONTACT = 0x01
BATTERY_UNKNOWN = 255
LEAD_P = 0x01  # +IN's electrode off (an AD8232's LO+; in its two-electrode ac mode: either)
LEAD_N = 0x02  # -IN's electrode off (an AD8232's LO-)
LEADS = LEAD_P | LEAD_N
ECG_FS_MIN, ECG_FS_MAX = 50, 1000  # below 50 Hz a QRS is a sample or two
ECG_PV_MAX = 10**9  # 1 mV a count: coarser is no ECG
HELLO_REQUEST = b"?HELLO\n"  # host -> board: plain text, not a frame (a frame's COBS codes
# may hold 0x03, a MicroPython board's interrupt character)

# Error codes in STATUS (shown to the operator).
ERRORS = {0: "", 1: "sensor not found", 2: "sensor fifo overflow", 3: "sensor saturated",
          4: "low battery", 5: "i2c error"}


try:
    from binascii import crc_hqx  # CPython: the same CRC in C, ~600x faster
except ImportError:  # MicroPython's binascii has no crc_hqx
    crc_hqx = None


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF): check value 0x29B1 for b"123456789"."""
    if crc_hqx is not None:
        return crc_hqx(data, crc)
    return crc16_bitwise(data, crc)


def crc16_bitwise(data, crc=0xFFFF):
    """What the boards run: no table, no RAM to spare."""
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def cobs_encode(data):
    out = bytearray()
    block = bytearray()
    for b in data:
        if b == 0:
            out.append(len(block) + 1)
            out.extend(block)
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(255)
                out.extend(block)
                block = bytearray()
    out.append(len(block) + 1)
    out.extend(block)
    return bytes(out)


def cobs_decode(data):
    """Raises ValueError on a malformed block (a zero inside, or a code past the end)."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0 or i + code > n:
            raise ValueError("bad cobs block")
        out.extend(data[i + 1:i + code])
        i += code
        if code < 255 and i < n:
            out.append(0)
    return bytes(out)


def frame(kind, seq, ts_us, body):
    payload = struct.pack(HEADER, kind, seq & 0xFFFF, ts_us & 0xFFFFFFFF) + body
    # A zero on both sides: a frame cut short by a glitch cannot swallow the next one.
    return b"\x00" + cobs_encode(payload + struct.pack("<H", crc16(payload))) + b"\x00"


def hello(seq, ts_us, board_id, fw, name):
    return frame(HELLO, seq, ts_us, struct.pack("<BIBBB", VERSION, board_id, fw[0], fw[1], fw[2])
                 + name.encode()[:32])


def ppg(seq, ts_us, fs_hz, samples, channel=0):
    return frame(PPG, seq, ts_us, struct.pack("<HB", fs_hz, channel)
                 + struct.pack("<%dI" % len(samples), *samples))


def eda(seq, ts_us, fs_hz, conductance_ns):
    return frame(EDA, seq, ts_us, struct.pack("<H", fs_hz)
                 + struct.pack("<%dH" % len(conductance_ns), *conductance_ns))


def acc(seq, ts_us, fs_hz, xyz_mg):
    """xyz_mg: (x, y, z) tuples in mG."""
    flat = [v for s in xyz_mg for v in s]
    return frame(ACC, seq, ts_us, struct.pack("<H", fs_hz) + struct.pack("<%dh" % len(flat), *flat))


def ecg(seq, ts_us, fs_hz, pv_per_count, leads, samples):
    """samples: counts less the front end's reference (i16); leads: LEAD_P | LEAD_N bits."""
    return frame(ECG, seq, ts_us, struct.pack("<HIB", fs_hz, pv_per_count, leads)
                 + struct.pack("<%dh" % len(samples), *samples))


def pupil(seq, ts_us, diameter_um, confidence):
    return frame(PUPIL, seq, ts_us, struct.pack("<HB", diameter_um, confidence))


def status(seq, ts_us, flags, battery=BATTERY_UNKNOWN, error=0, text=""):
    return frame(STATUS, seq, ts_us, struct.pack("<BBB", flags, battery, error)
                 + text.encode()[:64])


class UnknownType(ValueError):
    """A frame type this side does not know: a newer board's, skipped."""


def parse(payload):
    """(type, seq, ts_us, fields) from a CRC-checked payload. Raises ValueError."""
    if len(payload) < HEADER_SIZE:
        raise ValueError("too short")
    kind, seq, ts_us = struct.unpack_from(HEADER, payload, 0)
    body = payload[HEADER_SIZE:]
    if kind == HELLO and len(body) >= 8:
        version, board_id, a, b, c = struct.unpack_from("<BIBBB", body, 0)
        fields = {"protocol": version, "board_id": board_id, "fw": (a, b, c),
                  "name": bytes(body[8:]).decode()}
    elif kind == PPG and len(body) >= 3 and (len(body) - 3) % 4 == 0 \
            and 0 < (len(body) - 3) // 4 <= MAX_SAMPLES:
        fs_hz, channel = struct.unpack_from("<HB", body, 0)
        n = (len(body) - 3) // 4
        if fs_hz == 0:
            raise ValueError("fs_hz 0")
        fields = {"fs_hz": fs_hz, "channel": channel,
                  "samples": struct.unpack_from("<%dI" % n, body, 3)}
    elif kind == EDA and len(body) >= 4 and len(body) % 2 == 0 \
            and (len(body) - 2) // 2 <= MAX_SAMPLES:
        fs_hz = struct.unpack_from("<H", body, 0)[0]
        if fs_hz == 0:
            raise ValueError("fs_hz 0")
        n = (len(body) - 2) // 2
        fields = {"fs_hz": fs_hz, "samples": struct.unpack_from("<%dH" % n, body, 2)}
    elif kind == ACC and len(body) >= 8 and (len(body) - 2) % 6 == 0 \
            and (len(body) - 2) // 6 <= MAX_SAMPLES:
        fs_hz = struct.unpack_from("<H", body, 0)[0]
        if fs_hz == 0:
            raise ValueError("fs_hz 0")
        n = (len(body) - 2) // 6
        flat = struct.unpack_from("<%dh" % (3 * n), body, 2)
        fields = {"fs_hz": fs_hz, "samples": [flat[i:i + 3] for i in range(0, 3 * n, 3)]}
    elif kind == ECG and len(body) >= 9 and (len(body) - 7) % 2 == 0 \
            and (len(body) - 7) // 2 <= MAX_SAMPLES:
        fs_hz, pv, leads = struct.unpack_from("<HIB", body, 0)
        if not ECG_FS_MIN <= fs_hz <= ECG_FS_MAX or not 0 < pv <= ECG_PV_MAX:
            raise ValueError("ecg fs_hz %d or scale %d pV out of range" % (fs_hz, pv))
        n = (len(body) - 7) // 2
        fields = {"fs_hz": fs_hz, "pv_per_count": pv, "leads": leads & LEADS,
                  "samples": struct.unpack_from("<%dh" % n, body, 7)}
    elif kind == PUPIL and len(body) == 3:
        d, conf = struct.unpack_from("<HB", body, 0)
        fields = {"diameter_um": d, "confidence": conf}
    elif kind == STATUS and len(body) >= 3:
        flags, battery, error = struct.unpack_from("<BBB", body, 0)
        fields = {"flags": flags, "battery": battery, "error": error,
                  "text": bytes(body[3:]).decode()}
    elif kind in TYPES:
        raise ValueError("bad length for type %d" % kind)
    else:
        raise UnknownType(kind)
    return kind, seq, ts_us, fields


class Decoder:
    """Bytes in, messages out; never raises. Every rejected frame is counted by reason."""

    def __init__(self):
        self.buf = bytearray()
        self.ok = 0
        self.errors = {"bad_cobs": 0, "bad_crc": 0, "bad_frame": 0, "oversize": 0}
        self.lost = 0  # frames missing between good ones (sequence gaps)
        self.unknown = 0  # whole frames of a type this side does not know (skipped)
        self._last_seq = None

    def feed(self, data):
        out = []
        self.buf.extend(data)
        while True:
            end = self.buf.find(b"\x00")
            if end < 0:
                if len(self.buf) > MAX_PAYLOAD + 8:  # no delimiter in sight: drop the junk
                    self.errors["oversize"] += 1
                    self.buf = bytearray()
                return out
            raw = bytes(self.buf[:end])
            self.buf = self.buf[end + 1:]
            if raw:
                msg = self._one(raw)
                if msg is not None:
                    out.append(msg)

    def _one(self, raw):
        if len(raw) > MAX_PAYLOAD + 8:
            self.errors["oversize"] += 1
            return None
        try:
            data = cobs_decode(raw)
        except ValueError:
            self.errors["bad_cobs"] += 1
            return None
        if len(data) < HEADER_SIZE + 2:
            self.errors["bad_frame"] += 1
            return None
        if crc16(data[:-2]) != struct.unpack("<H", data[-2:])[0]:
            self.errors["bad_crc"] += 1
            return None
        try:
            msg = parse(data[:-2])
        except UnknownType:
            self.unknown += 1
            self._seq(data[0], struct.unpack_from("<H", data, 1)[0])  # it came: not lost
            return None
        except (ValueError, UnicodeError):
            self.errors["bad_frame"] += 1
            return None
        self.ok += 1
        self._seq(msg[0], msg[1])
        return msg

    def _seq(self, kind, seq):
        if kind == HELLO and seq == 0:
            self._last_seq = None  # the board booted: its counter restarts too
        elif self._last_seq is not None:
            gap = (seq - self._last_seq - 1) & 0xFFFF
            self.lost += gap if gap < 0x8000 else 0  # a number again or behind: none lost
        self._last_seq = seq

    def reset(self):
        """The line was re-opened: half a frame from before is garbage now."""
        self.buf = bytearray()
        self._last_seq = None
