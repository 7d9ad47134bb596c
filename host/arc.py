"""Screenplay arcs: a Fountain screenplay -> scenes -> the intended arc, per scene.

`screenplay_scenes(text)` splits a Fountain script (https://fountain.io) at its scene
headings (`INT.`, `EXT.`, `EST.`, `INT./EXT.`, `I/E` or a forced `.HEADING`), dropping the
title page, boneyard `/* */`, notes `[[ ]]`, sections, synopses, transitions and character
cues, so only what is seen and said is scored. `scene_arc(scenes)` gives each scene two
separate readings:

- valence: the mean VADER compound score of its sentences, -1 (grim) .. +1 (hopeful)
  (VADER is a lexicon-based sentiment model whose lexicon ships inside the package);
- arousal: how much it should stir, 0 (still) .. 1 (frantic), from arousal-bearing words
  and the staging of its lines (exclamations, capitals, staccato sentences): arousal.py.
  Sentiment strength is not arousal: a glorious beach day is strongly positive and calm.

A story file uses arousal as a segment's arousal target and valence as its valence.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from empathy.host.arousal import scene_arousal, split_sentences
from empathy.paths import read_file

_HEADING = re.compile(r"^(?:INT\./EXT|INT/EXT|I/E|INT|EXT|EST)[. ]", re.I)
_TRANSITION = re.compile(r"^[A-Z0-9 ]+TO:$")
# Possessive `*+`: the name's spaces are not given back to `\s*`, which made a long line
# of spaces cost its length squared (8,000 spaces: 1.3 s); the same lines match.
_CUE = re.compile(r"^@?[A-Z][A-Z0-9 .'\-]*+(?:\s*\(.*\))?\s*\^?$")
# A scene number `#12#` ends a heading; a match starts only where whitespace does (a search
# from each space of a long run was quadratic).
_SCENE_NUMBER = re.compile(r"(?<!\s)\s*#[^#]*#$")


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
    valence: float               # VADER, -1 .. 1
    arousal: float               # words and staging, 0 .. 1 (arousal.py)
    stirring: tuple[str, ...] = ()  # the arousal words behind it, most frequent first


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
            scenes.append((_SCENE_NUMBER.sub("", heading).strip(), i + 1, []))
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
        sentences = split_sentences(s.text)
        c = np.array([_analyzer().polarity_scores(x)["compound"] for x in sentences] or [0.0])
        a = scene_arousal(s.text)
        out.append(ArcPoint(s.number, s.heading, round(float(c.mean()), 3), a.arousal,
                            a.stirring))
    return out


def screenplay_title(text: str) -> str | None:
    """The `Title:` of a Fountain title page (its first line when the value is indented
    below the key), or None. A byte-order mark (Windows editors) is not part of the key."""
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")
    for i in range(_skip_title_page(lines)):
        m = re.match(r"^title:\s*(.*)$", lines[i].strip(), re.I)
        if m:
            value = m.group(1).strip() or (lines[i + 1].strip() if i + 1 < len(lines) else "")
            return re.sub(r"[*_]", "", value).strip() or None
    return None


def screenplay_arc(path: str | Path) -> list[ArcPoint]:
    """Read a .fountain file and score it. Raises ValueError when it has no scenes."""
    path = Path(path)
    try:
        raw = read_file(path)
    except OSError as e:
        raise ValueError(f"{path}: cannot read: {e.strerror or e}") from None
    scenes = screenplay_scenes(raw.decode("utf-8"))
    if not scenes:
        raise ValueError(f"{path}: no scene headings (INT./EXT./EST. or a forced .HEADING)")
    return scene_arc(scenes)


def arc_rows(arc: list[ArcPoint]) -> list[dict]:
    return [{**asdict(p), "stirring": list(p.stirring)} for p in arc]


MAX_LABELLED = 180


def arc_plot(arc: list[ArcPoint], out: Path, title: str = "") -> Path:
    """Valence and arousal per scene, as PNG or SVG (by the file's suffix); `title` (the
    screenplay's) heads it."""
    from empathy.plots import pyplot

    plt = pyplot()

    x = [p.scene for p in arc]
    # Up to MAX_LABELLED scenes each get a label and 1.1 in; a longer arc labels every
    # step-th in that width: 1.1 in a scene made 8,000 scenes an 880,000-pixel PNG that
    # took over 10 minutes and 1.5 GB to draw.
    step = max(1, -(-len(arc) // MAX_LABELLED))
    fig, ax = plt.subplots(figsize=(max(6, min(len(arc), MAX_LABELLED) * 1.1), 3.6))
    ax.axhline(0, color="#999", lw=0.6)
    ax.plot(x, [p.arousal for p in arc], "o-", color="#e15759", lw=2,
            label="arousal (words and staging, 0..1)")
    ax.plot(x, [p.valence for p in arc], "s--", color="#4e79a7", lw=1.5,
            label="valence (VADER, -1..1)")
    ax.set_xticks(x[::step], [f"{p.scene}. {p.heading[:22]}" for p in arc[::step]],
                  rotation=30, ha="right", fontsize=8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("target")
    ax.set_title(f"{title}: intended arc" if title else "Intended emotional arc")
    ax.legend(fontsize=8, loc="lower left")
    fig.savefig(out, bbox_inches="tight", dpi=100)
    plt.close(fig)
    return out
