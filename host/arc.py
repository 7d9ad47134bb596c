"""Screenplay arcs: a Fountain screenplay -> scenes -> VADER scores -> the intended arc.

`screenplay_scenes(text)` splits a Fountain script (https://fountain.io) at its scene
headings (`INT.`, `EXT.`, `EST.`, `INT./EXT.`, `I/E` or a forced `.HEADING`), dropping the
title page, boneyard `/* */`, notes `[[ ]]`, sections, synopses, transitions and character
cues, so only what is seen and said is scored. `scene_arc(scenes)` scores every sentence
with VADER (a lexicon-based sentiment model whose lexicon ships inside the package) and
gives each scene:

- valence: the mean compound score of its sentences, -1 (grim) .. +1 (hopeful);
- intensity: the RMS of those scores, 0 (flat) .. 1 (every line charged either way).

A story file uses intensity as a segment's arousal target and valence as its valence.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

_HEADING = re.compile(r"^(?:INT\./EXT|INT/EXT|I/E|INT|EXT|EST)[. ]", re.I)
_TRANSITION = re.compile(r"^[A-Z0-9 ]+TO:$")
_CUE = re.compile(r"^@?[A-Z][A-Z0-9 .'\-]*(?:\s*\(.*\))?\s*\^?$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Scene:
    number: int  # 1-based, in screenplay order
    heading: str
    line: int  # where the heading is in the file
    text: str  # action and dialogue, one line each


@dataclass(frozen=True)
class ArcPoint:
    scene: int
    heading: str
    valence: float
    intensity: float


def _strip_markup(text: str) -> str:
    """Blank out boneyard and notes, keeping line numbers."""
    keep_lines = lambda m: "\n" * m.group(0).count("\n")
    text = re.sub(r"/\*.*?\*/", keep_lines, text, flags=re.S)
    return re.sub(r"\[\[.*?\]\]", keep_lines, text, flags=re.S)


def _skip_title_page(lines: list[str]) -> int:
    """Index of the first line after a title page (`Key: value` lines up to a blank)."""
    if not lines or not re.match(r"^[A-Za-z ]+:", lines[0]):
        return 0
    for i, ln in enumerate(lines):
        if not ln.strip():
            return i + 1
    return len(lines)


def screenplay_scenes(text: str) -> list[Scene]:
    lines = _strip_markup(text.replace("\r\n", "\n")).split("\n")
    scenes: list[tuple[str, int, list[str]]] = []
    prev_blank = True
    for i in range(_skip_title_page(lines), len(lines)):
        raw = lines[i].strip()
        forced = raw.startswith(".") and not raw.startswith("..")
        if prev_blank and raw and (forced or _HEADING.match(raw)):
            heading = raw[1:] if forced else raw
            scenes.append((re.sub(r"\s*#[^#]*#$", "", heading).strip(), i + 1, []))
        elif scenes and raw and not _skipped(raw, prev_blank, lines, i):
            scenes[-1][2].append(re.sub(r"[*_]|^[>!~]|<$", "", raw).strip())
        prev_blank = not raw
    return [Scene(n + 1, h, ln, "\n".join(body)) for n, (h, ln, body) in enumerate(scenes)]


def _skipped(raw: str, prev_blank: bool, lines: list[str], i: int) -> bool:
    """Sections, synopses, page breaks, transitions and character cues carry no tone."""
    if raw[0] in "#=" or raw.startswith(">") and not raw.endswith("<"):
        return True
    if _TRANSITION.match(raw):
        return True
    # A character cue: an all-caps line after a blank, with dialogue right below it.
    nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
    return prev_blank and bool(nxt) and bool(_CUE.match(raw)) and raw.upper() == raw


_ANALYZER = None


def _analyzer():
    global _ANALYZER
    if _ANALYZER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _ANALYZER = SentimentIntensityAnalyzer()
    return _ANALYZER


def scene_arc(scenes: list[Scene]) -> list[ArcPoint]:
    out = []
    for s in scenes:
        sentences = [x for x in _SENTENCE.split(s.text) if re.search(r"\w", x)]
        c = np.array([_analyzer().polarity_scores(x)["compound"] for x in sentences] or [0.0])
        out.append(ArcPoint(s.number, s.heading, round(float(c.mean()), 3),
                            round(float(np.sqrt(np.mean(c ** 2))), 3)))
    return out


def screenplay_arc(path: str | Path) -> list[ArcPoint]:
    """Read a .fountain file and score it. Raises ValueError when it has no scenes."""
    path = Path(path)
    scenes = screenplay_scenes(path.read_text(encoding="utf-8"))
    if not scenes:
        raise ValueError(f"{path}: no scene headings (INT./EXT./EST. or a forced .HEADING)")
    return scene_arc(scenes)


def arc_rows(arc: list[ArcPoint]) -> list[dict]:
    return [asdict(p) for p in arc]


def arc_plot(arc: list[ArcPoint], out: Path, title: str = "") -> Path:
    """Valence and intensity per scene, as PNG or SVG (by the file's suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [p.scene for p in arc]
    fig, ax = plt.subplots(figsize=(max(6, len(arc) * 1.1), 3.6))
    ax.axhline(0, color="#999", lw=0.6)
    ax.plot(x, [p.intensity for p in arc], "o-", color="#e15759", lw=2, label="intensity (arousal target)")
    ax.plot(x, [p.valence for p in arc], "s--", color="#4e79a7", lw=1.5, label="valence")
    ax.set_xticks(x, [f"{p.scene}. {p.heading[:22]}" for p in arc], rotation=30, ha="right",
                  fontsize=8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("VADER score")
    ax.set_title(title or "Intended emotional arc")
    ax.legend(fontsize=8, loc="lower left")
    fig.savefig(out, bbox_inches="tight", dpi=100)
    plt.close(fig)
    return out
