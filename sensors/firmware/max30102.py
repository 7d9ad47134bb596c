"""MAX30102 / MAX30105 PPG sensor over I2C (MicroPython `machine.I2C` or anything with the
same readfrom_mem/writeto_mem methods). Red + IR LEDs, 18-bit samples, 32-deep FIFO."""

ADDRESS = 0x57
PART_ID = 0x15
REG_FIFO_WR_PTR = 0x04
REG_OVF_COUNTER = 0x05
REG_FIFO_RD_PTR = 0x06
REG_FIFO_DATA = 0x07
REG_FIFO_CONFIG = 0x08
REG_MODE_CONFIG = 0x09
REG_SPO2_CONFIG = 0x0A
REG_LED1_PA = 0x0C  # red
REG_LED2_PA = 0x0D  # IR
REG_PART_ID = 0xFF
RATES = (50, 100, 200, 400, 800, 1000, 1600, 3200)


class SensorError(Exception):
    pass


class MAX30102:
    def __init__(self, i2c, fs_hz=100, led_ma=7.0, address=ADDRESS):
        if fs_hz not in RATES[:4]:
            raise SensorError("fs_hz must be 50, 100, 200 or 400")
        self.i2c, self.addr, self.fs_hz = i2c, address, fs_hz
        try:
            part = self._get(REG_PART_ID)
        except OSError:
            raise SensorError("sensor not found")
        if part != PART_ID:
            raise SensorError("not a MAX30102 (part id 0x%02x)" % part)
        self._set(REG_MODE_CONFIG, 0x40)  # reset
        self._set(REG_FIFO_CONFIG, 0x10)  # no averaging, roll over when full
        # ADC range 4096 nA, sample rate, 411 us pulses (18-bit samples)
        self._set(REG_SPO2_CONFIG, 0x20 | (RATES.index(fs_hz) << 2) | 0x03)
        pa = min(255, int(led_ma / 0.2))
        self._set(REG_LED1_PA, pa)
        self._set(REG_LED2_PA, pa)
        for reg in (REG_FIFO_WR_PTR, REG_OVF_COUNTER, REG_FIFO_RD_PTR):
            self._set(reg, 0)
        self._set(REG_MODE_CONFIG, 0x03)  # SpO2 mode: red and IR
        self.overflows = 0

    def _get(self, reg):
        return self.i2c.readfrom_mem(self.addr, reg, 1)[0]

    def _set(self, reg, value):
        self.i2c.writeto_mem(self.addr, reg, bytes((value,)))

    def read(self):
        """IR samples waiting in the FIFO, oldest first (red is read and dropped)."""
        wr, rd = self._get(REG_FIFO_WR_PTR), self._get(REG_FIFO_RD_PTR)
        if self._get(REG_OVF_COUNTER):
            self.overflows += 1
        n = (wr - rd) & 0x1F
        if n == 0:
            return []
        raw = self.i2c.readfrom_mem(self.addr, REG_FIFO_DATA, 6 * n)
        return [((raw[i + 3] << 16) | (raw[i + 4] << 8) | raw[i + 5]) & 0x3FFFF
                for i in range(0, 6 * n, 6)]
