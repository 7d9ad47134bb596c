"""A real edge unit, run with a tap that keeps what the unit holds in memory (for
test_privacy.py only: the privacy proof derives its detectors from these buffers).

    python tests/privacy_tap.py --config unit.toml --duration 10 --stats s.json --tap held.pkl

The unit is the product's own (`edge.runtime.run_unit`, same config, same code path); the
tap only looks: every camera frame the unit read, every face crop its perception made,
every waveform chunk its driver handed over, the raw and filtered waveform buffers its
beat detectors hold when it stops, and every source URL it opened. Frames and crops are
kept once each (a looping video repeats them).
"""

from __future__ import annotations

import argparse
import hashlib
import pickle

import numpy as np

from empathy.config import from_toml
from empathy.edge import runtime
from empathy.edge.features import SeatFeatures
from empathy.sensors.base import FaceCrop, Frame, Waveform


def main() -> int:
    ap = argparse.ArgumentParser()
    for a in ("--config", "--stats", "--tap"):
        ap.add_argument(a, required=True)
    ap.add_argument("--duration", type=float, required=True)
    args = ap.parse_args()
    held: dict = {"frames": {}, "crops": {}, "waves": [], "buffers": [], "opened": []}

    def keep(kind: str, image: np.ndarray) -> None:
        held[kind].setdefault(hashlib.sha1(image.tobytes()).hexdigest(), image.copy())

    opener, perceive, add, close = (runtime.open_source, runtime.EdgeUnit._perceive,
                                    SeatFeatures.add, runtime.EdgeUnit.close)

    def open_source(url, **kw):
        held["opened"].append(url)
        return opener(url, **kw)

    def tapped_perceive(self, *args):  # (seat index, reading)
        r = args[-1]
        if isinstance(r, Frame):
            keep("frames", r.image)
        out = perceive(self, *args)
        for x in out:
            if isinstance(x, FaceCrop):
                keep("crops", x.image)
        return out

    def tapped_add(self, r):
        if isinstance(r, Waveform):
            held["waves"].append(np.array(r.samples))
        return add(self, r)

    def tapped_close(self):
        for feat in self.features:
            for wave in feat.waves.values():
                held["buffers"] += [wave.stream.x.copy(), wave.stream.y.copy()]
        return close(self)

    runtime.open_source = open_source
    runtime.EdgeUnit._perceive = tapped_perceive
    SeatFeatures.add = tapped_add
    runtime.EdgeUnit.close = tapped_close
    runtime.run_unit(from_toml(runtime.EdgeConfig, args.config), args.duration, args.stats)
    held["frames"] = list(held["frames"].values())
    held["crops"] = list(held["crops"].values())
    with open(args.tap, "wb") as f:
        pickle.dump(held, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
