"""A seat's arousal is the same number however Python hashes strings: the aligner walked a
set of signal names, whose order follows the process's hash seed, and the sums over them
then differed in their last bits from one run to the next (a replayed recording, a test's
expected value, two hosts comparing a seat)."""

import subprocess
import sys

RUN = """
import hashlib
import numpy as np
import empathy.sim.seat as sim_seat
from empathy.edge.features import SeatFeatures
from empathy.sim.seat import SimSource
clock = [10**12]
sim_seat.now_us = lambda: clock[0]
src = SimSource("sim://seat?seed=4&faces=0&eda=1", {"seed": "4", "faces": "0", "eda": "1"},
                faces=False)
f, out = SeatFeatures(baseline_s=20), []
for i in range(1500):
    clock[0] += 20_000
    for r in src.read(0):
        f.add(r)
    if i % 5 == 0:
        out.append(f.estimate(clock[0])["arousal"])
print(hashlib.sha1(np.array(out).tobytes()).hexdigest())
"""


def test_a_seat_s_arousal_does_not_follow_the_hash_seed():
    got = {subprocess.run([sys.executable, "-c", RUN], capture_output=True, text=True,
                          check=True, timeout=120, env={"PYTHONHASHSEED": seed}).stdout
           for seed in ("1", "2", "3")}
    assert len(got) == 1, got
