"""On-board beat detection for the BLE firmware (MicroPython and CPython): raw PPG counts
in, RR intervals out, in constant memory."""

REFRACTORY_MS = 300  # no two beats closer than this (200 bpm)


class BeatDetector:
    """Raw reflected-light counts dip as each pulse of blood arrives. A pulse is the fast
    moving average falling well below the slow one; the beat is the deepest sample of that
    dip. The smaller dicrotic wave after it is ignored by a depth threshold and a refractory
    time."""

    def __init__(self, fs_hz):
        self.fs = fs_hz
        self.fast = self.slow = None
        self.depth = 0.0  # how far below the slow average recent pulses went
        self.armed = True
        self.n = 0
        self.low_x = self.low_n = None  # deepest sample of the pulse in progress
        self.last_beat_n, self.last_rr = None, 0

    def add(self, x):
        """Returns the RR interval in ms when a pulse has just ended, else None."""
        self.n += 1
        if self.fast is None:
            self.fast = self.slow = float(x)
        self.fast += (x - self.fast) * 0.3
        self.slow += (x - self.slow) * 0.02
        dip = self.slow - self.fast
        self.depth = max(dip, self.depth * (1 - 1.0 / self.fs))  # decays over ~1 s
        if self.low_n is not None:  # inside a pulse: follow it to its deepest sample
            if x < self.low_x:
                self.low_x, self.low_n = x, self.n
            if dip <= 0:
                return self._beat()
            return None
        if dip <= 0:
            self.armed = True
        elif self.armed and dip >= 0.5 * self.depth:
            wait = max(REFRACTORY_MS, self.last_rr * 6 // 10) * self.fs // 1000
            if self.last_beat_n is None or self.n - self.last_beat_n >= wait:
                self.armed = False
                self.low_x, self.low_n = x, self.n
        return None

    def _beat(self):
        n, self.low_n = self.low_n, None
        rr = None
        if self.last_beat_n is not None:
            rr = (n - self.last_beat_n) * 1000 // self.fs
        self.last_beat_n, self.last_rr = n, rr or 0
        self.armed = True
        return rr
