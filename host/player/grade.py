"""Colour grading with OpenColorIO CPU processors built from in-memory transforms.

Tables come from our own parser (cube.py), never OCIO's FileTransform, so users see our
line-precise errors. Strength is applied by blending the table with an identity table:
interpolation is linear in the table values, so this equals (1-s)*in + s*graded exactly
within the table's domain, at no per-pixel cost.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import numpy as np
import PyOpenColorIO as ocio

from .cube import Cube
from .lutfile import read_lut

_Q = 256  # strength quantum: 1/256 is below one 8-bit code value of difference
_CACHE_MAX = 64
BAND_PIXELS = 1 << 18  # ~2 ms of tetrahedral grading per band, worth a thread's wake-up
_cache: dict[tuple, tuple] = {}
_cache_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}
_config = ocio.Config.CreateRaw()
# OCIO's own processor cache confused tables differing only by blend strength; we cache.
_config.setProcessorCacheFlags(ocio.PROCESSOR_CACHE_OFF)

_DEPTHS = {np.dtype(np.uint8): ocio.BIT_DEPTH_UINT8, np.dtype(np.uint16): ocio.BIT_DEPTH_UINT16,
           np.dtype(np.float32): ocio.BIT_DEPTH_F32}


def bands(h: int, w: int, threads: int) -> list[int]:
    """Row edges of the bands an h x w frame is graded in: at most `threads`, each at least
    BAND_PIXELS, since waking a pool thread costs CPU that a small band does not repay (a
    360p frame: 0.3-0.7 ms of the ~6 ms a played frame costs, two bands on 2 cores)."""
    n = max(1, min(threads, h, h * w // BAND_PIXELS))
    return [h * i // n for i in range(n + 1)]


def _pool(n: int) -> ThreadPoolExecutor:
    with _cache_lock:
        if n not in _pools:
            _pools[n] = ThreadPoolExecutor(n, thread_name_prefix="grade")
        return _pools[n]


def _cube_key(cube: Cube) -> str:
    key = getattr(cube, "_key", None)
    if key is None:
        h = hashlib.blake2b(digest_size=16)
        for arr in (cube.lut1d, cube.lut3d):
            h.update(b"-" if arr is None else np.ascontiguousarray(arr, np.float32).tobytes())
        h.update(repr((cube.domain_min, cube.domain_max, cube.shaper_domain_min,
                       cube.shaper_domain_max)).encode())
        key = h.hexdigest()
        object.__setattr__(cube, "_key", key)
    return key


def _lattice(n: int, dmin, dmax) -> np.ndarray:
    """Identity table of size n over [dmin, dmax], indexed [r][g][b]."""
    ramps = [np.linspace(dmin[i], dmax[i], n, dtype=np.float32) for i in range(3)]
    return np.stack(np.meshgrid(*ramps, indexing="ij"), axis=-1)


def _scale_offset(dmin, dmax) -> ocio.MatrixTransform | None:
    """Maps [dmin, dmax] to [0, 1], the range OCIO's LUT ops are indexed over."""
    if tuple(dmin) == (0.0, 0.0, 0.0) and tuple(dmax) == (1.0, 1.0, 1.0):
        return None
    scale = [1.0 / (dmax[i] - dmin[i]) for i in range(3)]
    m = [0.0] * 16
    for i in range(3):
        m[i * 5] = scale[i]
    m[15] = 1.0
    off = [-dmin[i] * scale[i] for i in range(3)] + [0.0]
    return ocio.MatrixTransform(matrix=m, offset=off)


def _build(cube: Cube | None, s: float) -> tuple[ocio.Processor, bool, float]:
    """Processor for `cube` at strength s; also whether the caller must blend per pixel."""
    t0 = time.perf_counter()
    group = ocio.GroupTransform()
    post_blend = False
    if cube is not None and s > 0.0:
        shaper = cube.lut1d is not None and cube.lut3d is not None
        # A shaper+3D chain is not linear in either table, so blend its output instead.
        post_blend = shaper and s < 1.0
        ts = 1.0 if shaper else s
        mt = _scale_offset(cube.domain_min, cube.domain_max)
        if mt is not None:
            group.appendTransform(mt)
        if cube.lut1d is not None:
            table = cube.lut1d
            if ts < 1.0:
                n = len(table)
                ident = np.stack([np.linspace(cube.domain_min[i], cube.domain_max[i], n,
                                              dtype=np.float32) for i in range(3)], axis=-1)
                table = (1.0 - ts) * ident + ts * table
            t1 = ocio.Lut1DTransform()
            t1.setLength(len(table))
            t1.setData(np.ascontiguousarray(table, np.float32).ravel())
            t1.setInterpolation(ocio.INTERP_LINEAR)
            group.appendTransform(t1)
        if cube.lut3d is not None:
            dmin, dmax = cube.lut3d_domain
            if shaper:
                mt = _scale_offset(dmin, dmax)
                if mt is not None:
                    group.appendTransform(mt)
            table = cube.lut3d
            if ts < 1.0:
                table = (1.0 - ts) * _lattice(table.shape[0], dmin, dmax) + ts * table
            t3 = ocio.Lut3DTransform()
            t3.setGridSize(table.shape[0])
            t3.setData(np.ascontiguousarray(table, np.float32).ravel())
            t3.setInterpolation(ocio.INTERP_TETRAHEDRAL)
            group.appendTransform(t3)
    proc = _config.getProcessor(group)
    return proc, post_blend, time.perf_counter() - t0


def _apply_band(cpu: ocio.CPUProcessor, band: np.ndarray) -> None:
    """Grade a C-contiguous HxWx3 block in place.

    A PackedImageDesc over the numpy buffer is ~2.5x faster than applyRGB (no staging copy)
    and OCIO releases the GIL inside apply(), so bands run in parallel.
    """
    h, w = band.shape[:2]
    item = band.itemsize
    desc = ocio.PackedImageDesc(band, w, h, 3, _DEPTHS[band.dtype], item, 3 * item, 3 * item * w)
    cpu.apply(desc)


class Grade:
    """A LUT at a strength, ready to apply to uint8/uint16/float32 RGB frames."""

    def __init__(self, cube: Cube | None = None, strength: float = 1.0,
                 threads: int | None = None, name: str | None = None):
        s = float(strength) if np.isfinite(strength) else 1.0
        self.strength = round(min(max(s, 0.0), 1.0) * _Q) / _Q
        self.cube = cube
        self.name = name or (cube.name or cube.title or "lut" if cube is not None else "identity")
        self.threads = max(1, int(threads or os.cpu_count() or 1))
        key = (None if cube is None else _cube_key(cube), self.strength)
        with _cache_lock:
            hit = _cache.get(key)
        if hit is None:
            hit = _build(cube, self.strength) + ({},)
            with _cache_lock:
                if len(_cache) >= _CACHE_MAX:
                    _cache.pop(next(iter(_cache)))
                _cache[key] = hit
            self.cached = False
        else:
            self.cached = True
        self._proc, self._post_blend, self.build_s, self._cpus = hit
        self.is_identity = self._proc.isNoOp()

    @classmethod
    def from_file(cls, path: str | Path | None, strength: float = 1.0,
                  threads: int | None = None) -> "Grade":
        """Load a LUT file (raises CubeError) or identity for None; parsed files are kept
        (lutfile.KEPT): a show reuses a few LUTs."""
        return cls(None if path is None else read_lut(path, keep=True), strength, threads)

    def _cpu(self, dtype: np.dtype) -> ocio.CPUProcessor:
        cpu = self._cpus.get(dtype)
        if cpu is None:
            depth = _DEPTHS.get(dtype)
            if depth is None:
                raise TypeError(f"frames must be uint8, uint16 or float32, not {dtype}")
            t0 = time.perf_counter()
            # Same in/out depth: uint16 is processed at 16 bits, never truncated to 8.
            cpu = self._proc.getOptimizedCPUProcessor(depth, depth, ocio.OPTIMIZATION_DEFAULT)
            self.build_s += time.perf_counter() - t0
            self._cpus[dtype] = cpu
        return cpu

    def apply(self, frame: np.ndarray, inplace: bool = False) -> np.ndarray:
        """Grade an HxWx3 frame; returns a new array unless `inplace`."""
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 frame, got shape {frame.shape}")
        cpu = self._cpu(frame.dtype)
        if inplace:
            out = frame if frame.flags.c_contiguous else np.ascontiguousarray(frame)
        else:
            out = np.array(frame, order="C", copy=True)
        if self.is_identity:
            if inplace and out is not frame:
                frame[...] = out
            return frame if inplace else out
        src = frame.copy() if self._post_blend else None
        edges = bands(out.shape[0], out.shape[1], self.threads)
        # OCIO releases the GIL, so horizontal bands grade in parallel; this thread grades
        # the last one itself rather than sleep while a pool thread is woken to do it.
        futs = [_pool(len(edges) - 2).submit(_apply_band, cpu, out[a:b])
                for a, b in zip(edges[:-2], edges[1:-1])]
        _apply_band(cpu, out[edges[-2]:])
        for f in futs:
            f.result()
        if src is not None:
            s = self.strength
            mixed = (1.0 - s) * src.astype(np.float32) + s * out.astype(np.float32)
            if out.dtype != np.float32:
                mixed = np.clip(np.rint(mixed), 0, np.iinfo(out.dtype).max)
            out[...] = mixed
        if inplace and out is not frame:
            frame[...] = out
            return frame
        return out

    @cached_property
    def pure_3d(self) -> tuple[np.ndarray, tuple, tuple] | None:
        """The effective (strength-blended) 3D table of a 3D-only grade, else None; kept,
        as a crossfade asks for it every frame."""
        c = self.cube
        if c is None or c.lut3d is None or c.lut1d is not None:
            return None
        lat = _lattice(c.lut3d.shape[0], c.domain_min, c.domain_max)
        return (1.0 - self.strength) * lat + self.strength * c.lut3d, c.domain_min, c.domain_max

    def bake(self, n: int = 33) -> np.ndarray:
        """The grade sampled on an n^3 lattice over [0,1]: (n,n,n,3) float32, [r][g][b]."""
        lat = _lattice(n, (0.0,) * 3, (1.0,) * 3).reshape(1, -1, 3).copy()
        return self.apply(lat, inplace=True).reshape(n, n, n, 3)


def _fade_key(a: Grade, b: Grade, t: float) -> str:
    """The cache key of crossfade(a, b, t), from its inputs: hashing each frame's new
    table would cost ~0.6 ms a frame of a fade."""
    ka, kb = (None if g.cube is None else _cube_key(g.cube) for g in (a, b))
    h = hashlib.blake2b(repr((ka, a.strength, kb, b.strength, t)).encode(), digest_size=16)
    return "fade:" + h.hexdigest()


def crossfade(a: Grade, b: Grade, t: float, threads: int | None = None) -> Grade:
    """A grade whose output is (1-t)*a + t*b, made by blending tables (no per-pixel cost)."""
    t = round(min(max(float(t) if np.isfinite(t) else 1.0, 0.0), 1.0) * _Q) / _Q
    threads = threads or a.threads
    if t == 0.0:
        return a
    if t == 1.0:
        return b
    pa, pb = a.pure_3d, b.pure_3d
    if a.cube is None and pb is not None:
        pa = (_lattice(pb[0].shape[0], pb[1], pb[2]), pb[1], pb[2])
    if b.cube is None and pa is not None:
        pb = (_lattice(pa[0].shape[0], pa[1], pa[2]), pa[1], pa[2])
    if pa and pb and pa[0].shape == pb[0].shape and pa[1:] == pb[1:]:
        table, dmin, dmax = (1.0 - t) * pa[0] + t * pb[0], pa[1], pa[2]
    else:
        # Different sizes/domains or 1D stages: sample both on a common lattice.
        n = max(33, *(g.cube.lut3d.shape[0] for g in (a, b)
                      if g.cube is not None and g.cube.lut3d is not None))
        n = min(n, 65)
        table, dmin, dmax = (1.0 - t) * a.bake(n) + t * b.bake(n), (0.0,) * 3, (1.0,) * 3
    cube = Cube(title=f"{a.name}>{b.name}@{t:.3f}", domain_min=dmin, domain_max=dmax,
                lut3d=np.ascontiguousarray(table, np.float32))
    object.__setattr__(cube, "_key", _fade_key(a, b, t))
    return Grade(cube, 1.0, threads, name=f"{a.name}>{b.name}")
