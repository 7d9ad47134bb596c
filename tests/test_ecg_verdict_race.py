"""A seat check's verdict read while the board's reader thread is judging a window (as
`empathy sensors read` reads it at its end: its source's close() waited 2 s for the reader,
then stats() read the verdict): the window being judged was in neither the held samples nor
the judged windows. On a loaded 2-core machine, 10 s of LO+ off over MIT-BIH 119 ended the
check 'LO+ read off for 10.0 s: too short to judge the ECG under it (under 5 s)'
(tests/test_ecg_seat_check.py, 6 of 6 runs at 4 busy loops)."""

from __future__ import annotations

import re
import threading

from corpus_records import need
from empathy.sensors.firmware import protocol
from test_ecg_leads import FS


def test_a_verdict_read_while_a_window_is_judged_counts_that_window():
    """One thread feeds 40 s of LO+ off over MIT-BIH 119 as fast as it can, another reads
    the verdict all the while: past SHORT_S off it is never 'too short to judge', and the
    windows it counts never go back."""
    need("mitdb-119")
    from empathy.sensors.serial.leads import SHORT_S, LeadWatch
    from empathy.sim.board import corpus_ecg

    x = corpus_ecg("mitdb-119")[:40 * FS]
    w = LeadWatch()

    def feed():
        for i in range(0, len(x), 25):
            w.frame(protocol.LEAD_P, x[i:i + 25], float(FS))

    t = threading.Thread(target=feed)
    t.start()
    said = []
    while t.is_alive():
        said.append(w.verdict())
    t.join()
    said.append(w.verdict())
    windows = 0
    for v in said:
        m = re.match(r"LO\+ read off for ([\d.]+) s", v)
        if not m or float(m[1]) < SHORT_S + 0.2:
            continue
        assert "too short" not in v, v
        n = int(re.search(r"in (?:only )?\d+ of (\d+) window", v)[1])
        assert n >= windows, (v, windows)
        windows = n
    assert windows == 4 and "check the LO wiring" in said[-1], said[-1]
