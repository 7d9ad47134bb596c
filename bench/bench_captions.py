"""What captions cost the player at 1080p (host/player/captions_draw.py), in CPU ms (the
process's own time, so a loaded machine does not inflate it):

- drawing a two-line cue (once per cue: Pillow), in Latin (DejaVu Sans), Chinese (the font
  fontconfig offers, e.g. WenQuanYi Micro Hei), and Hebrew with a Chinese name (two fonts on
  one line, in bidi order);
- per frame with a cue on: the blend into the graded frame (CPU path), or the RGBA frame that
  carries it to the GPU, packed with the table as every GL frame is, beside a frame without
  (GL path); the lookup of the cues on screen among 1,500 (a feature)
  and 10,000 (the cap);
- reading the largest file taken (2 MiB, 10,000 cues) through pysubs2, and its memory peak.

    python -m empathy.bench.bench_captions
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from empathy.host.player import glgrade
from empathy.host.player.captions import MAX_BYTES, MAX_CUES, read_captions
from empathy.host.player.captions_draw import Painter, blend, riding

W, H = 1920, 1080
CUE = "Where were you on the night of the fourteenth?\nI was at home, I swear it."
CUES = {"Chinese": "你十四号晚上在哪里？\n我一直在家，我发誓。",
        "Hebrew + Chinese": "איפה היית בלילה של ה-14 עם 王先生?\nהייתי בבית, אני נשבע."}


def _cpu_ms(fn, n: int) -> float:
    c0 = time.process_time()
    for _ in range(n):
        fn()
    return 1000 * (time.process_time() - c0) / n


def _srt(n: int, width: int) -> str:
    def ts(ms: int) -> str:
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
    return "".join(f"{i + 1}\n{ts(i * 1000)} --> {ts(i * 1000 + 900)}\n{'x' * width}\n"
                   f"{'y' * width}\n\n" for i in range(n))


def main() -> None:
    painter = Painter(W, H)
    draw_ms = _cpu_ms(lambda: painter.draw(CUE), 20)
    o = painter.draw(CUE)
    for name, cue in CUES.items():
        painter.draw(cue)  # its fonts loaded: once a show
        print(f"1080p, a two-line cue in {name}: drawn once "
              f"{_cpu_ms(lambda: painter.draw(cue), 20):.1f} ms")
    frame = np.full((H, W, 3), 90, np.uint8)
    table = np.random.default_rng(0).random((33, 33, 33, 3)).astype(np.float32)
    packed = glgrade.pack(frame, table)
    bare = _cpu_ms(lambda: glgrade.pack(frame, table, packed, False), 50)
    rode = _cpu_ms(lambda: glgrade.pack(riding(frame, o), table, packed), 50)
    print(f"1080p, a two-line cue ({o.inv.shape[1]}x{o.inv.shape[0]} px): drawn once "
          f"{draw_ms:.1f} ms; per frame: blend {_cpu_ms(lambda: blend(frame, o), 200):.2f} ms "
          f"(CPU path); GL path: a frame packed for the GPU {bare:.1f} ms, {rode:.1f} ms "
          "with the cue in its alpha")
    with tempfile.TemporaryDirectory() as d:
        for n, width in ((1500, 40), (MAX_CUES, 0)):
            path = Path(d) / f"{n}.srt"
            text = _srt(n, width)
            if width == 0:  # the largest file taken: 10,000 cues filling 2 MiB
                width = (MAX_BYTES - len(_srt(n, 0)) - 1024) // (2 * n)
                text = _srt(n, width)
            path.write_text(text)
            tracemalloc.start()
            c0 = time.process_time()
            caps = read_captions(path)
            read_s = time.process_time() - c0
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            t = iter(np.random.default_rng(0).uniform(0, n, 10_000))
            at_ms = _cpu_ms(lambda: caps.at(next(t)), 10_000)
            print(f"{n:,} cues ({len(text) / 2**20:.2f} MiB): read {read_s:.2f} CPU-s, "
                  f"peak {peak / 2**20:.0f} MiB; cues on screen looked up in {at_ms * 1000:.0f} "
                  "us a frame")


if __name__ == "__main__":
    main()
