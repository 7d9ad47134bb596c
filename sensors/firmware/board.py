"""The board's streaming loop, free of hardware: a PPG sensor and/or an ECG front end (and
a GSR front end, an accelerometer) in, protocol frames out.

main.py (USB serial) and the host's simulated board both run this, so what a test decodes
is what a real board sends.
"""

try:
    import protocol
except ImportError:  # CPython: the very same file, inside the package
    from empathy.sensors.firmware import protocol

FW = (1, 0, 0)
CONTACT_LEVEL = 50000  # IR DC level (18-bit) above which a finger/skin is on the sensor
STATUS_EVERY_US = 1000000
SLIP = 5
HELLO_EVERY_US = 5000000  # the host may open the port after boot: say who we are again
# STATUS says a sensor is on the body once it has read on for this long of its own samples,
# off at once: a loose electrode snap or a finger resting lightly makes and breaks contact a
# few times a second, and the bit flapped with it, back at a single sample on (the host
# gives an ECG lead back after as long: sensors/serial/leads.py)
SETTLE_S = 2


class Side:
    """One sensor on the board (the PPG, a GSR front end, an accelerometer): `fs_hz`,
    `read()` -> samples since the last read, sent `per_frame` at a time."""

    def __init__(self, sensor, encode, per_frame):
        self.sensor, self.encode, self.per_frame = sensor, encode, per_frame
        self.period_us = 1000000 // sensor.fs_hz
        self.pending = []
        self.first_us = None
        self.on_n = 0  # samples in a row that read on the body (`settle`)

    def step(self, now, frames):
        """Drain the sensor's FIFO into frames ((first sample's µs, side, samples), onto
        `frames`); returns what it read."""
        samples = self.sensor.read()
        if samples:
            # Stamps follow the sensor's sample clock; re-anchor on our clock only when they
            # slip by more than SLIP periods (FIFO overflow, sensor clock far off).
            anchored = now - (len(self.pending) + len(samples) - 1) * self.period_us
            if self.first_us is None or abs(anchored - self.first_us) > SLIP * self.period_us:
                self.first_us = anchored
        self.pending.extend(samples)
        n = self.per_frame
        while len(self.pending) >= n:
            part, self.pending = self.pending[:n], self.pending[n:]
            frames.append((self.first_us, self, part))
            self.first_us += n * self.period_us
        return samples

    def settle(self, samples, on):
        """Count the samples in a row for which on(sample) (a loop turn that read none
        changes nothing: the newest sample stands)."""
        for v in samples:
            self.on_n = self.on_n + 1 if on(v) else 0

    def settled(self):
        return self.on_n >= SETTLE_S * self.sensor.fs_hz


def ecg_encoder(ecg):
    """Side's `encode` for an ECG front end whose read() gives (count, lead bits): a frame's
    lead bits are any of its samples', its scale the front end's."""

    def encode(seq, ts_us, fs_hz, part):
        leads = 0
        for _, lo in part:
            leads |= lo
        return protocol.ecg(seq, ts_us, fs_hz, ecg.pv_per_count, leads, [v for v, _ in part])

    return encode


class Board:
    def __init__(self, sensor, write, ticks_us, board_id, name="ee-ppg", chunk=25, gsr=None,
                 acc=None, ecg=None):
        """sensor: the PPG (None on an ECG-only board); ecg: an AD8232 (ad8232.py)."""
        self.sensor, self.write, self.ticks_us = sensor, write, ticks_us
        self.ppg = Side(sensor, protocol.ppg, chunk) if sensor is not None else None
        self.ecg = None
        self.sides = []
        if ecg is not None:  # an ECG front end (ad8232.py): 10 frames a second, so a lead
            # off reaches the host within 0.1 s
            self.ecg = Side(ecg, ecg_encoder(ecg), max(1, ecg.fs_hz // 10))
            self.sides.append(self.ecg)
        if gsr is not None:  # a GSR front end (gsr.py): conductances in nS, a second a frame
            self.sides.append(Side(gsr, protocol.eda, gsr.fs_hz))
        if acc is not None:  # an accelerometer (lis3dh.py): (x, y, z) in mG, 4 frames a
            # second (the edge grades a pulse beat only once the motion around it is in)
            self.sides.append(Side(acc, protocol.acc, max(1, acc.fs_hz // 4)))
        self.board_id, self.name = board_id, name
        self.seq = 0
        self.next_status_us = 0
        self.next_hello_us = 0
        self.battery = protocol.BATTERY_UNKNOWN
        self.error = 0
        self.heard_tail = b""  # the host's bytes not yet part of a request

    def _send(self, data):
        self.write(data)
        self.seq = (self.seq + 1) & 0xFFFF

    def boot(self):
        """Power on: the sequence starts at 0 (the host restarts its loss count on seq 0)."""
        self.seq = 0
        self.hello()

    def hello(self):
        self.next_hello_us = self.ticks_us() + HELLO_EVERY_US
        self._send(protocol.hello(self.seq, self.ticks_us(), self.board_id, FW, self.name))

    def heard(self, data):
        """Bytes from the host: a HELLO_REQUEST (the host opened the port after our boot
        HELLO) is answered with a HELLO now; its seq goes on (no reboot)."""
        tail = self.heard_tail + data
        n = len(protocol.HELLO_REQUEST)
        if protocol.HELLO_REQUEST in tail:
            self.hello()
            tail = tail[tail.rfind(protocol.HELLO_REQUEST) + n:]
        self.heard_tail = tail[-(n - 1):]

    def pupil(self, ts_us, diameter_um, confidence):
        """A pupil sample from an eye-camera board (or the host's simulated board)."""
        self._send(protocol.pupil(self.seq, ts_us, diameter_um, confidence))

    def step(self):
        """Drain the sensor FIFO; send a PPG frame per full chunk and a STATUS each second."""
        now, frames = self.ticks_us(), []
        if self.ppg is not None:
            self.ppg.settle(self.ppg.step(now, frames), lambda v: v > CONTACT_LEVEL)
        for side in self.sides:
            got = side.step(now, frames)
            if side is self.ecg:
                side.settle(got, lambda s: not s[1])  # (count, lead bits): both pins low
        # in the clock's order across sensors: a turn late by seconds sent the PPG's, then
        # the ECG's from those seconds back, which the host reads as its clock set back
        frames.sort(key=lambda f: f[0])
        for ts, side, part in frames:
            self._send(side.encode(self.seq, ts, side.sensor.fs_hz, part))
        if now >= self.next_hello_us:
            self.hello()
        if now >= self.next_status_us:
            self.next_status_us = now + STATUS_EVERY_US
            # contact: a heart sensor fitted is on the body, settled (no lead off on the
            # ECG, a finger on the PPG): the host reads whichever gives beats. Every one of
            # them put a board with both off whenever the finger left the PPG, electrodes on
            on = any(s is not None and s.settled() for s in (self.ecg, self.ppg))
            flags = protocol.CONTACT if on else 0
            self._send(protocol.status(self.seq, now, flags, self.battery, self.error,
                                       protocol.ERRORS.get(self.error, "")))
