"""PPG restarts (edge/ppg_floor.py) at a chunk's own cost: a stream's 1-s chunk is judged by
a shortcut (no move can start in it) where the whole file runs the move rule itself, and a
long file's polarity decision reads the file a slice at a time."""

import tracemalloc

import numpy as np

from empathy.edge.ppg_floor import JUMP_X, FloorRestart
from empathy.edge.ppg_polarity import oriented


def _restarts(x: np.ndarray, fs: float, n: int) -> tuple[list[int], list[int]]:
    """(restarts, the moves' samples) of x pushed n samples at a time."""
    f, out, jumps = FloorRestart(fs), [], []
    for i in range(0, len(x), n):
        cuts = f.restarts(x[i:i + n], x[max(i - f.history_n, 0):i])
        out += [i + c for c in cuts]
        jumps += [i + c for c in sorted(f.jumps)]
    return out, jumps


def _board(seed: int) -> tuple[np.ndarray, float]:
    """A pulse with DC steps of 3-12 times its 2-s range (about JUMP_X: some moves, some
    not), at once or over up to 0.4 s, drop-outs to a floor and a rail; half quantised."""
    r = np.random.default_rng(seed)
    fs = float(r.choice([25.0, 50.0, 100.0, 128.0]))
    n = int(90 * fs)
    t = np.arange(n) / fs
    x = 100 * np.sin(2 * np.pi * r.uniform(0.8, 2.2) * t) ** 3 + r.normal(0, 5, n)
    for _ in range(8):
        a, step = int(r.uniform(0, n)), r.uniform(0.5, 2.0) * JUMP_X * 200 * r.choice([-1, 1])
        x[a:] += step * np.minimum(np.arange(n - a) / max(r.uniform(0, 0.4) * fs, 1.0), 1.0)
    for level in (x.min() - 50, x.max()):
        a = int(r.uniform(0, n - fs))
        x[a:a + int(r.uniform(0.05, 1.0) * fs)] = level
    return (np.round(x / 7) if seed % 2 else x), fs


def test_moves_near_the_threshold_restart_in_1_s_chunks_where_the_whole_file_does():
    moved = 0
    for seed in range(12):
        x, fs = _board(seed)
        whole = _restarts(x, fs, len(x))
        moved += len(whole[1]) > 0
        for n in (int(fs), int(fs) // 4, 7):
            assert _restarts(x, fs, n) == whole, (seed, n)
    assert moved >= 8  # (the move rule itself was judged, not only the shortcut)


def _peak_mb(x: np.ndarray, fs: float) -> float:
    tracemalloc.start()
    try:
        oriented(x, fs)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_a_long_files_polarity_decision_allocates_no_more_for_more_hours():
    """The move rule's arrays over the whole file made the peak about ten times the file
    (an 8-h file at 100 Hz: 222 MB); read a slice at a time it grows by no more than the
    turned-over copy the decision hands back."""
    fs = 100.0
    t = np.arange(int(2 * 3600 * fs)) / fs
    x = np.round(120_000 - 300 * np.sin(2 * np.pi * 1.2 * t) ** 3
                 + np.random.default_rng(0).normal(0, 5, len(t)))
    short = x[:len(x) // 4]
    grew = _peak_mb(x, fs) - _peak_mb(short, fs)
    assert grew < 1.5 * (x.nbytes - short.nbytes) / 2**20, grew
