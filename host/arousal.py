"""How much a scene should stir an audience: arousal from words and staging, not sentiment.

Sentiment strength is the wrong measure: "What a wonderful, glorious day!" is strongly
positive and calm; "Terror. Screams. Blood." is a short burst of high arousal. So arousal is
read from what a scene *does*, sentence by sentence:

- **words** from two lists kept here (our own, hand-written, not a published norm): STIR
  words (danger, violence, pursuit, loud sound, fear and rage, pain, speed) add 0.25 each;
  SETTLE words (stillness, rest, softness, slowness, quiet, comfort) take 0.15 each;
- **exclamation**: a sentence with "!" adds 0.15;
- **emphasis**: a word of either list written in capitals (SCREAMS) counts twice;
- **brevity**: a sentence of three words or fewer ("Terror." "Dim light.") intensifies
  whatever it says by half: staccato action reads faster, a short calm line reads stiller.

A sentence starts at BASE (0.3: people doing ordinary things) and is clipped to 0..1. A
scene's arousal is 3/4 the mean of its sentences plus 1/4 its peak, so one shock lifts a
quiet scene a little and a scene of shocks reads high. The words behind a score are kept
(`stirring`), so an artist can see why a scene reads as it does and override it with an
explicit target where the words and the intent differ.

These are hand-set weights, not fitted to any rating set, and checked only for order on
cases written for the purpose (tests/test_arc.py); they read words, never the film.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

BASE = 0.3
STIR_W, SETTLE_W, EXCLAIM_W = 0.25, 0.15, 0.15
SHORT_WORDS, SHORT_GAIN = 3, 1.5
PEAK_SHARE = 0.25

STIR = frozenset("""
    terror terrify terrified horror horrified panic scream shriek yell shout roar howl
    blood bleed wound stab slash shoot shot gun gunfire bullet fire burn blaze flame smoke
    explode explosion blast bomb crash smash shatter collapse rip break
    fight punch kick strike hit attack assault grab choke strangle kill murder die dead death
    corpse scream chase run flee escape sprint race dash rush hurry charge
    siren alarm thunder lightning storm flood gale
    fear afraid scared frighten frightened dread danger threat hunt trap
    rage fury furious hate anger angry war battle riot
    pain agony hurt crush plunge slam jump dive swerve skid
    faster fast gasp pant pound pounding
""".split())

SETTLE = frozenset("""
    calm quiet still stillness silence silent hush sleep asleep sleepy rest resting doze nap
    slow slowly gentle gently soft softly peace peaceful serene tranquil relax relaxed
    lazy idle drift float breeze sigh smile tea warm cosy cozy comfort sit dim
    lull hum murmur whisper lapping settle settled pause wait nothing
""".split())

_WORD = re.compile(r"[A-Za-z']+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_SUFFIXES = ("ing", "ed", "es", "s", "ly")


def _lemma(word: str, words: frozenset) -> str | None:
    """The list entry a word is a form of (screams -> scream, running -> run), or None."""
    if word in words:
        return word
    for suf in _SUFFIXES:
        if word.endswith(suf) and len(word) > len(suf) + 2:
            stem = word[: -len(suf)]
            for cand in (stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2]
                         else None):
                if cand and cand in words:
                    return cand
    return None


@lru_cache(maxsize=1 << 16)
def _word(low: str) -> tuple[str | None, float]:
    """A lower-case word's list entry and weight, (None, 0) for neither list; cached: a
    screenplay repeats its words, and the suffix search was half of scoring its arousal."""
    if (hit := _lemma(low, STIR)) is not None:
        return hit, STIR_W
    if (hit := _lemma(low, SETTLE)) is not None:
        return hit, -SETTLE_W
    return None, 0.0


@dataclass(frozen=True)
class Reading:
    arousal: float               # 0 (still) .. 1 (frantic)
    stirring: tuple[str, ...]    # the list words found, most frequent first


def sentence_arousal(text: str) -> tuple[float, list[str]]:
    words = _WORD.findall(text)
    dev, found = 0.0, []
    for w in words:
        hit, weight = _word(w.lower())
        if hit is not None:
            dev += weight * (2.0 if len(w) > 2 and w.isupper() else 1.0)
            found.append(hit)
    if "!" in text:
        dev += EXCLAIM_W
    if 0 < len(words) <= SHORT_WORDS:
        dev *= SHORT_GAIN
    return min(1.0, max(0.0, BASE + dev)), found


def split_sentences(text: str) -> list[str]:
    """Sentences of a scene's text (one line of action or dialogue per line)."""
    return [s for s in _SENTENCE.split(text) if re.search(r"\w", s)]


def scene_arousal(text: str) -> Reading:
    """Arousal of a scene's action and dialogue (one line each, as arc.Scene.text)."""
    sentences = split_sentences(text)
    if not sentences:
        return Reading(0.0, ())
    scores, found = [], []
    for s in sentences:
        a, words = sentence_arousal(s)
        scores.append(a)
        found += words
    mean = sum(scores) / len(scores)
    value = (1 - PEAK_SHARE) * mean + PEAK_SHARE * max(scores)
    counts = Counter(found)  # in order of first mention: the sort keeps that among ties
    ranked = sorted(counts, key=lambda w: -counts[w])
    return Reading(round(value, 3), tuple(ranked[:6]))
