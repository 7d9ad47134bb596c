"""LIS3DH 3-axis accelerometer over I2C (MicroPython `machine.I2C` or anything with the same
readfrom_mem/writeto_mem methods), beside the PPG sensor on the reference board: it tells
the edge when the hand moved (edge/motion.py). High-resolution mode, +-4 g (2 mG a digit),
samples collected in its 32-deep FIFO (stream mode) and read out in mG."""

ADDRESS = 0x18  # SA0 low; 0x19 with SA0 high
WHO_AM_I = 0x33
REG_WHO_AM_I = 0x0F
REG_CTRL1 = 0x20
REG_CTRL4 = 0x23
REG_CTRL5 = 0x24
REG_OUT_X_L = 0x28
REG_FIFO_CTRL = 0x2E
REG_FIFO_SRC = 0x2F
AUTO_INCREMENT = 0x80
ODR = {10: 0x2, 25: 0x3, 50: 0x4, 100: 0x5, 200: 0x6}  # CTRL_REG1 ODR bits
MG_PER_DIGIT = 2  # +-4 g in high-resolution (12-bit) mode


class AccelError(Exception):
    pass


class LIS3DH:
    def __init__(self, i2c, fs_hz=50, address=ADDRESS):
        if fs_hz not in ODR:
            raise AccelError("fs_hz must be one of 10, 25, 50, 100, 200")
        self.i2c, self.addr, self.fs_hz = i2c, address, fs_hz
        try:
            who = self._get(REG_WHO_AM_I)
        except OSError:
            raise AccelError("accelerometer not found")
        if who != WHO_AM_I:
            raise AccelError("not a LIS3DH (who am i 0x%02x)" % who)
        self._set(REG_CTRL1, (ODR[fs_hz] << 4) | 0x07)  # normal power, x y z on
        self._set(REG_CTRL4, 0x80 | 0x10 | 0x08)  # block data update, +-4 g, high resolution
        self._set(REG_CTRL5, 0x40)  # FIFO on
        self._set(REG_FIFO_CTRL, 0x80)  # stream mode: the oldest sample goes when full

    def _get(self, reg):
        return self.i2c.readfrom_mem(self.addr, reg, 1)[0]

    def _set(self, reg, value):
        self.i2c.writeto_mem(self.addr, reg, bytes((value,)))

    def read(self):
        """(x, y, z) in mG for each sample waiting in the FIFO, oldest first."""
        n = self._get(REG_FIFO_SRC) & 0x1F
        if n == 0:
            return []
        raw = self.i2c.readfrom_mem(self.addr, REG_OUT_X_L | AUTO_INCREMENT, 6 * n)
        out = []
        for i in range(0, 6 * n, 6):
            axes = []
            for k in (0, 2, 4):
                v = raw[i + k] | (raw[i + k + 1] << 8)
                v = v - 65536 if v & 0x8000 else v
                axes.append((v >> 4) * MG_PER_DIGIT)  # left-justified 12 bits
            out.append(tuple(axes))
        return out
