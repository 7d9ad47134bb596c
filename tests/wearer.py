"""A simulated strap's wearer whose beats are kept as the strap reads them: the truth an
emulated device's output is judged against."""

from empathy.sensors.base import Beat
from empathy.sim.seat import SimSource


class Wearer:
    def __init__(self, seed: int, ecg: bool = True):
        q = {"seed": str(seed), "nuisance": "0", "ecg": "1" if ecg else "0"}  # a still wearer
        self.src = SimSource("sim://strap?" + "&".join(f"{k}={v}" for k, v in q.items()), q,
                             faces=False)
        self.beats: list[int] = []  # their R peaks (µs), as the heart beat them

    def read(self, timeout_s: float = 0.0):
        got = self.src.read(timeout_s)
        self.beats += [r.ts_us for r in got if isinstance(r, Beat)]
        return got
