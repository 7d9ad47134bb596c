"""Detectors for the privacy proof, built from what a unit held in memory (privacy_tap.py).

`Held(tap)` turns the unit's own buffers into what a leak of them could look like on the
wire, and `Held.find(raw)` looks for each in a capture:

* waveforms: every chunk the driver handed over (the inverted pleth the unit keeps), the
  board's counts before inversion, and the beat detector's raw and filtered buffers;
  each as values, negated and as sample-to-sample deltas; each in int16, uint16, 24-bit,
  int32, uint32, int64, float32 and float64 (integers wrapped as a cast wraps them), both
  byte orders, at any alignment. A run of a few consecutive values (12-32 bytes) is a hit.
* pixels: every camera frame (as read, and in grey) and every face crop (as uint8, and as
  the float32 the expression model is fed), cut into 12-byte blocks at every 12th byte,
  so any 23 contiguous bytes of one of them hold a whole block.
* pictures: a JPEG or PNG anywhere in the bytes is decoded and compared with every frame
  and crop the unit held (correlation after resizing); any decodable picture is reported,
  and named as the unit's when it matches one.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np

BLOCK = 12  # pixel block bytes
DTYPES = {"int16": (2, 6), "uint16": (2, 6), "int24": (3, 5), "int32": (4, 4),
          "uint32": (4, 4), "int64": (8, 4), "float32": (4, 4), "float64": (8, 4)}
PICTURE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
SAME_PICTURE_R = 0.8


def _encode(values: np.ndarray, dtype: str, order: str) -> tuple[bytes, int]:
    """(bytes, item size) of values cast as `dtype` in byte order `order` ('<' or '>')."""
    if dtype == "int24":
        v = values.astype(np.int64) & 0xFFFFFF
        b = np.stack([(v >> s) & 0xFF for s in (0, 8, 16)], axis=1).astype(np.uint8)
        return (b if order == "<" else b[:, ::-1]).tobytes(), 3
    if dtype.startswith("float"):
        out = values.astype(order + ("f4" if dtype == "float32" else "f8"))
    else:  # a cast wraps out-of-range integers: so does a leak that casts
        out = values.astype(np.int64).astype(order + np.dtype(dtype).str[1:])
    return out.tobytes(), out.itemsize


def _windows(data: bytes, size: int, count: int, step: int) -> set[bytes]:
    """Runs of `count` items of `size` bytes, starting at every item, varied ones only."""
    n = count * size
    out = set()
    for i in range(0, len(data) - n + 1, step):
        w = data[i:i + n]
        if len({w[j:j + size] for j in range(0, n, size)}) >= 3:
            out.add(w)
    return out


class Held:
    def __init__(self, tap: Path):
        from empathy.sensors.serial.board import PPG_FULL_SCALE as full

        with open(tap, "rb") as f:
            self.tap = pickle.load(f)
        pleth = (np.concatenate(self.tap["waves"]) if self.tap["waves"] else np.zeros(0))
        self.waves = {"pleth as held": pleth, "board counts": full - pleth}
        for i, buf in enumerate(self.tap["buffers"]):
            self.waves[f"detector buffer {i}"] = buf
        self.frames, self.crops = self.tap["frames"], self.tap["crops"]
        self.opened = self.tap["opened"]
        self._wave_probes = self._waveform_probes()
        self._pixel_probes = self._pixel_blocks()

    # -- what a leak would look like -----------------------------------------------------
    def _waveform_probes(self) -> dict[int, dict[bytes, str]]:
        """window length -> {window bytes: what it is}."""
        probes: dict[int, dict[bytes, str]] = {}
        for name, seq in self.waves.items():
            seq = np.asarray(seq)
            if len(seq) < 8:
                continue
            for how, values in (("values", seq), ("negated", -seq), ("deltas", np.diff(seq))):
                for dtype, (size, count) in DTYPES.items():
                    if how == "values" and dtype in ("int16", "uint16", "int24") \
                            and seq.dtype.kind == "f":
                        continue  # filtered floats cast to short ints: too few distinct
                    for order in "<>":
                        data, size = _encode(values, dtype, order)
                        label = f"{name}, {how}, {dtype} {'LE' if order == '<' else 'BE'}"
                        for w in _windows(data, size, count, size):
                            probes.setdefault(len(w), {}).setdefault(w, label)
        return probes

    def _pixel_blocks(self) -> dict[bytes, str]:
        images = [(f"camera frame {i}", f) for i, f in enumerate(self.frames)]
        images += [(f"camera frame {i} in grey", cv2.cvtColor(f, cv2.COLOR_BGR2GRAY))
                   for i, f in enumerate(self.frames) if f.ndim == 3]
        images += [(f"face crop {i}", c) for i, c in enumerate(self.crops)]
        images += [(f"face crop {i} as model input", (c / 255.0).astype(np.float32))
                   for i, c in enumerate(self.crops)]
        out: dict[bytes, str] = {}
        for name, img in images:
            data = np.ascontiguousarray(img).tobytes()
            for i in range(0, len(data) - BLOCK + 1, BLOCK):
                b = data[i:i + BLOCK]
                if len(set(b)) > 4:
                    out.setdefault(b, name)
        return out

    @property
    def probe_counts(self) -> dict[str, int]:
        return {"waveform": sum(len(p) for p in self._wave_probes.values()),
                "pixel": len(self._pixel_probes), "pictures": len(self.frames) + len(self.crops)}

    # -- looking for it ----------------------------------------------------------------
    def find(self, raw: bytes) -> list[str]:
        """What of the unit's data is in `raw`, one line per kind; [] = none of it."""
        found = []
        for n, probes in self._wave_probes.items():
            seen = {raw[i:i + n] for i in range(len(raw) - n + 1)} & probes.keys()
            labels = sorted({probes[w] for w in seen})
            if labels:
                found.append(f"waveform runs in the bytes: {'; '.join(labels[:4])}"
                             + (f" (+{len(labels) - 4} more)" if len(labels) > 4 else ""))
        hits = {raw[i:i + BLOCK] for i in range(len(raw) - BLOCK + 1)} & self._pixel_probes.keys()
        if hits:
            names = sorted({self._pixel_probes[b] for b in hits})
            found.append(f"{len(hits)} pixel blocks of the unit's images in the bytes "
                         f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})")
        found += self._pictures(raw)
        return found

    def _pictures(self, raw: bytes) -> list[str]:
        out = []
        for magic in PICTURE_MAGIC:
            at = raw.find(magic)
            while at >= 0:
                img = cv2.imdecode(np.frombuffer(raw[at:], np.uint8), cv2.IMREAD_GRAYSCALE)
                if img is not None and min(img.shape) >= 8:
                    whose = self._same_picture(img)
                    out.append(f"a picture at byte {at} ({img.shape[1]}x{img.shape[0]})"
                               + (f": {whose}" if whose else ""))
                at = raw.find(magic, at + 1)
        return out

    def _same_picture(self, img: np.ndarray) -> str:
        best, name = 0.0, ""
        for kind, images in (("camera frame", self.frames), ("face crop", self.crops)):
            for i, ref in enumerate(images):
                g = cv2.cvtColor(ref, cv2.COLOR_BGR2GRAY) if ref.ndim == 3 else ref
                g = cv2.resize(g, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_AREA)
                a, b = img.astype(float).ravel(), g.astype(float).ravel()
                if a.std() > 0 and b.std() > 0:
                    r = float(np.corrcoef(a, b)[0, 1])
                    if r > best:
                        best, name = r, f"the unit's {kind} {i} (r = {r:.2f})"
        return name if best >= SAME_PICTURE_R else ""
