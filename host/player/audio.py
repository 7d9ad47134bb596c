"""The show's sound: fixed-format PCM cut into one chunk per video frame, spliced at switches.

Audio is carried alongside the picture, frame by frame: video frame k of a clip owns samples
[round(k*R/fps), round((k+1)*R/fps)) of that clip's track. So sound and picture switch on the
same frame and can never drift apart, however many switches a show has.

At a switch the new clip's first few ms are crossfaded with what the old clip would have
played next: its decoded audio beyond the last frame when the file has some (our sample media
carries a short tail for this), else the old sound mirrored around the cut, which continues
the waveform without a step. Either way there is no jump in the wave, so no click.
"""

from __future__ import annotations

from collections import deque

import numpy as np

RATE = 48000
CHANNELS = 2
CAPS = f"audio/x-raw,format=F32LE,rate={RATE},channels={CHANNELS},layout=interleaved"
FADE_MS = 5.0  # long enough to hide a step, short enough not to blur a hard cut


def chunk_bounds(k: int, fps: float) -> tuple[int, int]:
    """Sample range owned by video frame k (exact for 29.97 too: rounding never drifts)."""
    return int(round(k * RATE / fps)), int(round((k + 1) * RATE / fps))


def silence(n: int) -> np.ndarray:
    return np.zeros((n, CHANNELS), np.float32)


def fit(pcm: np.ndarray | None, start: int, stop: int) -> np.ndarray:
    """A clip's chunk fitted to the output's [start, stop) (they differ by a sample at most
    for rates like 29.97); silence where the clip has no sound."""
    n = stop - start
    if pcm is None or not len(pcm):
        return silence(n)
    if len(pcm) >= n:
        return pcm[:n]
    return np.concatenate([pcm, np.repeat(pcm[-1:], n - len(pcm), axis=0)])


def fade_out(last: np.ndarray | None, start: int, stop: int, fade_n: int) -> np.ndarray:
    """Chunk [start, stop) when no new sound exists: `last` carried on and faded to silence."""
    quiet = silence(stop - start)
    if last is None:
        return quiet
    return splice(continuation(None, last, fade_n), quiet, fade_n)


def continuation(leftover: np.ndarray | None, last: np.ndarray | None, n: int) -> np.ndarray:
    """n samples of what the outgoing clip would play next (see module doc)."""
    if leftover is not None and len(leftover) >= n:
        return leftover[:n]
    if last is None or not len(last):
        return silence(n)
    mirror = last[::-1][:n]
    if len(mirror) < n:
        mirror = np.concatenate([mirror, silence(n - len(mirror))])
    return mirror


def splice(old: np.ndarray, head: np.ndarray, fade_n: int) -> np.ndarray:
    """`head` with its first fade_n samples crossfaded in from `old` (raised cosine)."""
    n = min(fade_n, len(head), len(old))
    if n <= 0:
        return head
    out = head.copy()
    w = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, dtype=np.float32)))[:, None]
    out[:n] = w * head[:n] + (1.0 - w) * old[:n]
    return out


class Track:
    """Decoded audio of one clip, addressed by sample index from the clip's start (t=0).

    Kept as the chunks the decoder delivered: adding one copies only it, and a frame's share
    copies only what it covers. (One array grown per chunk copied the whole track each time;
    the demuxer decodes seconds of sound ahead of the picture, and on a loaded host draining
    it took 4.6 s, with the picture frozen meanwhile.)"""

    def __init__(self):
        self._chunks: deque[np.ndarray] = deque()
        self._base = 0     # sample index of the first chunk's first sample
        self._end = 0
        self.done = False  # no more audio will arrive

    @property
    def end(self) -> int:
        return self._end

    def add(self, samples: np.ndarray, start: int) -> None:
        """Append decoded samples that begin at `start`; gaps become silence, overlaps go."""
        start = max(start, self._base)  # audio before what we already handed out is late
        if start > self._end:
            self._push(silence(start - self._end))
        skip = self._end - start
        if skip < len(samples):
            self._push(np.asarray(samples[skip:], np.float32).reshape(-1, CHANNELS))

    def _push(self, chunk: np.ndarray) -> None:
        self._chunks.append(chunk)
        self._end += len(chunk)

    def covers(self, stop: int) -> bool:
        return self.done or self._end >= stop

    def take(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop), silence where the track has none; forgets those before stop."""
        out = silence(stop - start)
        pos = self._base
        for c in self._chunks:
            if pos >= stop:
                break
            lo, hi = max(start, pos), min(stop, pos + len(c))
            if hi > lo:
                out[lo - start:hi - start] = c[lo - pos:hi - pos]
            pos += len(c)
        while self._chunks and self._base < stop:
            c = self._chunks.popleft()
            if self._base + len(c) > stop:  # its end is still to come
                self._chunks.appendleft(c[stop - self._base:])
                self._base = stop
            else:
                self._base += len(c)
        return out

    def rest(self) -> np.ndarray:
        """Everything not yet taken (the tail beyond the last video frame)."""
        return np.concatenate(self._chunks) if self._chunks else silence(0)
