"""GSR (skin conductance) front end on an ADC: MicroPython `machine.ADC` or anything with
`read_u16()`. Two finger electrodes and a reference resistor form a divider:

    VREF --- skin (R_skin) ---+--- R_REF --- GND
                              |
                             ADC

    V = VREF x R_REF / (R_skin + R_REF)   =>   G_skin = V / (R_REF x (VREF - V))

A hand's skin conductance is ~0.5-50 µS (R_skin 20 kΩ-2 MΩ); with R_REF = 100 kΩ the
divider's output spans most of the ADC. Samples are taken on a fixed period and read out
as conductances in nanosiemens (protocol EDA frames); 65535 means saturated (electrodes
shorted or off the scale), 0 a lead off.
"""

try:
    import time
    ticks_us, ticks_diff = time.ticks_us, time.ticks_diff  # MicroPython
except AttributeError:  # CPython (the host's simulated board does not use this class)
    ticks_us = ticks_diff = None

R_REF_OHM = 100000
SATURATED = 0xFFFF
FULL_SCALE = 65535


def conductance_ns(adc_u16, r_ref_ohm=R_REF_OHM):
    """ADC reading (0..65535 of VREF) -> skin conductance in nS (u16, SATURATED if off)."""
    if adc_u16 <= 0:
        return 0
    if adc_u16 >= FULL_SCALE:
        return SATURATED
    g = adc_u16 / (r_ref_ohm * (FULL_SCALE - adc_u16)) * 1e9
    return SATURATED if g >= SATURATED else int(g + 0.5)


class GSR:
    def __init__(self, adc, fs_hz=16, r_ref_ohm=R_REF_OHM):
        self.adc, self.fs_hz, self.r_ref = adc, fs_hz, r_ref_ohm
        self.period_us = 1000000 // fs_hz
        self.next_us = ticks_us()

    def read(self):
        """The samples due since the last call, in nS (the loop runs every ~20 ms)."""
        out = []
        while ticks_diff(ticks_us(), self.next_us) >= 0:
            out.append(conductance_ns(self.adc.read_u16(), self.r_ref))
            self.next_us += self.period_us
        return out
