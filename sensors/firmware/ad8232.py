"""AD8232 single-lead ECG front end: its OUTPUT on an ADC pin, LO+ and LO- on two digital
inputs (MicroPython `machine.ADC`/`machine.Pin`, or anything with `read_u16()`/`value()`),
sampled on a timer (`machine.Timer` or anything with `init(freq=, callback=)`).

From Analog Devices' AD8232 data sheet (Rev. A: features; "Leads Off Detection", p. 18-19)
and its evaluation board's guide (UG-514, "Leads-Off Detection"):
- the instrumentation amplifier's gain is 100; the uncommitted op amp after it adds the
  board's own gain (its resistors), so the output's gain is the board's, set in GAIN;
- the output swings around REFOUT, the buffered virtual ground (mid-supply from REFIN's
  divider), so with the ADC on the same 3V3 a count less mid-scale is the signal;
- dc leads-off (three electrodes, RLD driven): each input is sensed apart, LOD+ goes high
  when +IN's electrode is off (that input within 0.5 V of +Vs), LOD- when -IN's is;
- ac leads-off (two electrodes): a 100 kHz current tells that an electrode is off, not
  which: LOD+ goes high, LOD- is not used (it reads low: no false report).
So a high pin is a lead off, in either mode, and the samples taken meanwhile carry no heart.
"""

from array import array

try:
    import protocol
except ImportError:  # CPython: the very same file, inside the package
    from empathy.sensors.firmware import protocol

# 100 (the in-amp) x the op amp stage's gain, which the board's resistors set: read it off
# your breakout's schematic (x 11 here, an example); it sets the frames' stated scale only
GAIN = 1100
VREF_V = 3.3  # the ADC's full scale, the AD8232's supply too
MID = 32768  # read_u16's mid-scale: REFOUT
RING = 256  # samples held between two reads of the loop (1 s at 250 Hz)
WRAP = 0xFFFF  # the write and read counts wrap (small ints: no allocation on the timer)


def pv_per_count(gain=GAIN, vref_v=VREF_V):
    """One read_u16 count at the electrodes, in picovolts (the ECG frame's scale)."""
    return int(vref_v / 65536 / gain * 1e12 + 0.5)


class AD8232:
    def __init__(self, adc, lo_plus, lo_minus, timer, fs_hz=250, gain=GAIN, vref_v=VREF_V):
        if not protocol.ECG_FS_MIN <= fs_hz <= protocol.ECG_FS_MAX:
            raise ValueError("fs_hz must be %d..%d" % (protocol.ECG_FS_MIN, protocol.ECG_FS_MAX))
        self.adc, self.lo_plus, self.lo_minus = adc, lo_plus, lo_minus
        self.fs_hz = fs_hz
        self.pv_per_count = pv_per_count(gain, vref_v)
        self.counts = array("h", [0] * RING)  # allocated once: the callback allocates nothing
        self.leads_at = bytearray(RING)
        self.wr = self.rd = 0  # samples written, read (mod WRAP + 1; the ring is mod RING)
        self.overflows = 0
        self.leads = 0  # the newest sample's lead bits
        timer.init(freq=fs_hz, callback=self._sample)

    def _sample(self, _timer):
        """One sample, on the timer: a fixed period, unlike the loop's ~20 ms turns."""
        v = self.adc.read_u16() - MID
        leads = (protocol.LEAD_P if self.lo_plus.value() else 0) \
            | (protocol.LEAD_N if self.lo_minus.value() else 0)
        i = self.wr % RING
        self.counts[i] = v if v < 32767 else 32767
        self.leads_at[i] = leads
        self.leads = leads
        self.wr = (self.wr + 1) & WRAP

    def read(self):
        """(count less REFOUT, lead bits) of each sample since the last call, oldest first;
        a loop that stalled past the ring loses the oldest (counted)."""
        wr = self.wr
        n = (wr - self.rd) & WRAP
        if n > RING:
            self.overflows += 1
            n = RING
        out = [(self.counts[i % RING], self.leads_at[i % RING])
               for i in range(wr - n, wr)]  # (RING divides WRAP + 1: i % RING holds)
        self.rd = wr
        return out

