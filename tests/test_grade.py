"""Grading against analytically known LUTs and against OCIO's own .cube reader."""

from __future__ import annotations

import numpy as np
import PyOpenColorIO as ocio
import pytest

from empathy.host.player.cube import Cube, identity_cube, read_cube, write_cube
from empathy.host.player import grade as grading
from empathy.host.player.grade import BAND_PIXELS, Grade, bands, crossfade
from empathy.host.player.outputs import VideoWriter
from empathy.host.player.player import Clip, Player
from empathy.host.sample import luts

RNG = np.random.default_rng(1)
FRAME = RNG.integers(0, 256, (90, 160, 3), dtype=np.uint8)


def swap_rb(n=17) -> Cube:
    c = identity_cube(n)
    c.lut3d = np.ascontiguousarray(c.lut3d[..., ::-1])
    return c


def diff(a, b) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


def test_identity_and_none_leave_frame_unchanged():
    assert diff(Grade(identity_cube(33)).apply(FRAME), FRAME) <= 1
    out = Grade(None).apply(FRAME)
    assert out is not FRAME and np.array_equal(out, FRAME)


def test_channel_swap():
    out = Grade(swap_rb()).apply(FRAME)
    assert diff(out, FRAME[..., ::-1]) <= 1


def test_1d_gamma_curve():
    x = np.linspace(0, 1, 1024, dtype=np.float32)
    c = Cube(lut1d=np.repeat((x ** 2.2)[:, None], 3, axis=1))
    expect = np.rint(255 * (FRAME / 255.0) ** 2.2)
    assert diff(Grade(c).apply(FRAME), expect) <= 1


def test_domain_max_analytic():
    # Table holds f(r, g, b) = (g, r, b) over the domain r,b in [0,1], g in [0,0.9];
    # f is linear so interpolation is exact, and inputs above 0.9 green clamp to 0.9.
    n = 9
    lat = np.stack(np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 0.9, n),
                               np.linspace(0, 1, n), indexing="ij"), -1).astype(np.float32)
    c = Cube(domain_max=(1.0, 0.9, 1.0), lut3d=np.ascontiguousarray(lat[..., [1, 0, 2]]))
    f = FRAME / 255.0
    expect = np.rint(255 * np.stack([np.minimum(f[..., 1], 0.9), f[..., 0], f[..., 2]], -1))
    assert diff(Grade(c).apply(FRAME), expect) <= 1


def _ocio_file(path, frame):
    t = ocio.FileTransform(src=str(path), interpolation=ocio.INTERP_TETRAHEDRAL)
    cfg = ocio.Config.CreateRaw()
    cfg.setProcessorCacheFlags(ocio.PROCESSOR_CACHE_OFF)
    cpu = cfg.getProcessor(t).getDefaultCPUProcessor()
    f = (frame / 255.0).astype(np.float32)
    cpu.applyRGB(f)
    return np.clip(np.rint(f * 255), 0, 255)


@pytest.mark.parametrize("name", ["orange_haze", "teal_night", "bleach_bypass"])
def test_matches_ocio_file_transform(name, tmp_path):
    p = tmp_path / f"{name}.cube"
    write_cube(p, luts.make(name, 33))
    ours = Grade(read_cube(p)).apply(FRAME)
    assert diff(ours, _ocio_file(p, FRAME)) <= 1
    assert diff(ours, FRAME) > 20  # and the look really changes the picture


def test_shaper_matches_ocio_file_transform(tmp_path):
    x = np.linspace(0, 1, 1024, dtype=np.float32)
    c = Cube(lut1d=np.repeat((x ** 2)[:, None], 3, 1), lut3d=swap_rb(9).lut3d,
             domain_max=(1.0,) * 3, shaper_domain_min=(0.0,) * 3, shaper_domain_max=(1.0,) * 3)
    write_cube(tmp_path / "s.cube", c)
    ours = Grade(read_cube(tmp_path / "s.cube")).apply(FRAME)
    assert diff(ours, _ocio_file(tmp_path / "s.cube", FRAME)) <= 1
    assert diff(ours, np.rint(255 * (FRAME[..., ::-1] / 255.0) ** 2)) <= 1


def _ocio_file_interp(path, frame, interp):
    t = ocio.FileTransform(src=str(path), interpolation=interp)
    cfg = ocio.Config.CreateRaw()
    cfg.setProcessorCacheFlags(ocio.PROCESSOR_CACHE_OFF)
    f = (frame / 255.0).astype(np.float32)
    cfg.getProcessor(t).getDefaultCPUProcessor().applyRGB(f)
    return np.clip(np.rint(f * 255), 0, 255)


# The "Done when" matrix: every .cube kind, written to disk, read by us and by OCIO's own
# reader, must agree within one 8-bit code value (tetrahedral for 3D, linear for 1D).
def _kinds():
    x = np.linspace(0, 1, 1024, dtype=np.float32)
    curve = np.stack([x ** 2.2, np.sqrt(x), 1 - (1 - x) ** 2], -1).astype(np.float32)
    look = luts.make("teal_night", 33).lut3d
    y = np.linspace(0, 1.25, 512, dtype=np.float32)  # a shaper over a domain wider than 1
    return {
        "3d": Cube(lut3d=look),
        "3d_domain": Cube(domain_min=(0.05, 0.0, 0.1), domain_max=(1.0, 0.9, 1.2),
                          lut3d=luts.make("orange_haze", 17).lut3d),
        "1d": Cube(lut1d=curve),
        "1d_domain": Cube(domain_min=(0.0, 0.1, 0.0), domain_max=(0.8, 1.0, 1.5),
                          lut1d=curve),
        "shaper_3d": Cube(lut1d=np.repeat((y / 1.25)[:, None] ** 0.5, 3, 1),
                          domain_min=(0.0,) * 3, domain_max=(1.25,) * 3, lut3d=look,
                          shaper_domain_min=(0.0,) * 3, shaper_domain_max=(1.0,) * 3),
    }


@pytest.mark.parametrize("kind", list(_kinds()))
def test_every_kind_matches_ocio_reader(kind, tmp_path):
    p = tmp_path / f"{kind}.cube"
    write_cube(p, _kinds()[kind])
    ours = Grade(read_cube(p)).apply(FRAME)
    interp = ocio.INTERP_LINEAR if kind.startswith("1d") else ocio.INTERP_TETRAHEDRAL
    assert diff(ours, _ocio_file_interp(p, FRAME, interp)) <= 1
    assert diff(ours, FRAME) > 10  # the file really changes the picture


def test_uint16_stays_16_bit():
    x = np.linspace(0, 1, 4096, dtype=np.float32)
    c = Cube(lut1d=np.repeat((x ** 2.2)[:, None], 3, 1))
    ramp = np.arange(0, 65536, 16, dtype=np.uint16)
    frame = np.stack([ramp] * 3, -1).reshape(64, 64, 3)
    out = Grade(c).apply(frame)
    assert out.dtype == np.uint16
    expect = 65535 * (frame / 65535.0) ** 2.2
    assert diff(out, expect) <= 12  # far below one 8-bit step (257)
    assert len(np.unique(out)) > 2000  # not quantised to 256 levels


def test_strength_blends_exactly():
    c = swap_rb()
    half = Grade(c, 0.5).apply(FRAME)
    assert diff(half, (FRAME.astype(np.float64) + FRAME[..., ::-1]) / 2) <= 1
    assert diff(Grade(c, 0.0).apply(FRAME), FRAME) <= 1
    # Processors are cached per strength: a later full-strength grade is not the half one.
    assert diff(Grade(c, 1.0).apply(FRAME), FRAME[..., ::-1]) <= 1


def test_crossfade_blends_tables():
    a, b = Grade(swap_rb()), Grade(Cube(lut3d=luts.make("dawn_warm", 17).lut3d))
    expect = (a.apply(FRAME).astype(np.float64) + b.apply(FRAME)) / 2
    assert diff(crossfade(a, b, 0.5).apply(FRAME), expect) <= 1.5
    x = np.linspace(0, 1, 256, dtype=np.float32)
    g1d = Grade(Cube(lut1d=np.repeat((x ** 2)[:, None], 3, 1)))  # different kind: baked path
    expect = (a.apply(FRAME).astype(np.float64) + g1d.apply(FRAME)) / 2
    assert diff(crossfade(a, g1d, 0.5).apply(FRAME), expect) <= 2
    assert crossfade(a, b, 0.0) is a and crossfade(a, b, 1.0) is b


def test_threads_give_identical_results_and_inplace():
    g1, g3 = Grade(swap_rb(), threads=1), Grade(swap_rb(), threads=3)
    big = RNG.integers(0, 256, (3 * BAND_PIXELS // 256 + 7, 256, 3), dtype=np.uint8)
    assert len(bands(*big.shape[:2], 3)) == 4  # three bands, two of them on pool threads
    ref = g1.apply(big)
    inplace = big.copy()
    assert g3.apply(inplace, inplace=True) is inplace
    assert np.array_equal(ref, inplace)
    assert g1.build_s >= 0.0


def test_small_frames_grade_on_the_calling_thread():
    """A pool thread woken per band cost 0.3-0.7 ms CPU of a 360p frame's ~6 ms in the
    player (bench_grade has the figures): bands are only as many as BAND_PIXELS repays."""
    assert bands(360, 640, 4) == [0, 360]
    assert bands(1080, 1920, 4) == [0, 270, 540, 810, 1080]
    assert bands(1080, 1920, 1) == [0, 1080]
    assert bands(1, 35937, 8) == [0, 1]  # bake()'s lattice is one row
    for h, w, t in ((720, 1280, 8), (2160, 3840, 3), (361, 641, 2)):
        e = bands(h, w, t)
        assert e[0] == 0 and e[-1] == h and len(e) - 1 <= t
        assert len(e) == 2 or min(b - a for a, b in zip(e, e[1:])) * w >= BAND_PIXELS
    frame = RNG.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    Grade(swap_rb(), threads=13).apply(frame)
    assert 12 not in grading._pools  # no pool made, so no thread woken


def test_fade_frames_are_keyed_by_their_inputs():
    """Each frame of a crossfade is a new table: keyed by (a, b, t) it is not hashed
    (~0.6 ms a frame), and the same fade again reuses its processors."""
    a, b = Grade(swap_rb()), Grade(Cube(lut3d=luts.make("dawn_warm", 17).lut3d), 0.5)
    first = crossfade(a, b, 0.3)
    again = crossfade(a, b, 0.3)
    assert getattr(again.cube, "_key").startswith("fade:") and again.cached
    assert again._proc is first._proc
    assert np.array_equal(first.apply(FRAME), again.apply(FRAME))
    assert getattr(crossfade(a, b, 0.4).cube, "_key") != getattr(first.cube, "_key")
    assert getattr(crossfade(a, Grade(b.cube, 0.6), 0.3).cube, "_key") != \
        getattr(first.cube, "_key")


def test_bad_frames_are_clear_errors():
    g = Grade(swap_rb())
    with pytest.raises(ValueError, match="HxWx3"):
        g.apply(np.zeros((4, 4), np.uint8))
    with pytest.raises(TypeError, match="uint8, uint16 or float32"):
        g.apply(np.zeros((4, 4, 3), np.int32))
    assert Grade(swap_rb(), strength=float("nan")).strength == 1.0
    assert Grade(swap_rb(), strength=7).strength == 1.0


def test_a_look_is_built_once_not_per_frame(tmp_path):
    """Playing a clip builds its look's OCIO processor and 8-bit CPU processor once; every
    frame reuses them (a build is ~2-8 ms, more than grading a 360p frame)."""
    clip, lut = tmp_path / "a.mp4", tmp_path / "warm.cube"
    w = VideoWriter(f"file:{clip}", 160, 90, 25)
    for i in range(25):
        w.push(np.roll(FRAME, i, axis=1), i / 25, 1 / 25)
    assert w.close()
    write_cube(lut, luts.make("dawn_warm", 9))  # a look no other test has built
    before = set(grading._cache)
    p = Player("null", 160, 90, 25, tmp_path / "frames.csv", realtime=False, audio=False)
    p.start(Clip("a", clip, lut))
    assert p.wait(30) and p.error is None and p.frames_rendered == 25
    built = [grading._cache[k] for k in set(grading._cache) - before]
    assert len(built) == 1 and list(built[0][3]) == [np.dtype(np.uint8)]
