"""The demo's story: the sample (Neon Rain) or the artist's own, and how it moves the
simulated audience (`empathy demo`, host/demo.py; its kiosk, host/demo_kiosk.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import tomli_w

from empathy.errors import UserError

SAMPLE = Path(__file__).resolve().parent / "sample"


class DemoError(UserError):
    """Something the user gave the demo is wrong (a story, an impact file): one line."""


def demo_story(out: Path, story_file: str | None, media_root: str | None,
               impact: str | None):
    """(story, media root, impact file for the simulated seats). The sample by default (its
    media rendered on first use); an artist's story moves the simulated audience by its
    impact file, or else by each segment's own target (written to edge/impact.toml)."""
    from empathy.host import story as story_mod
    from empathy.sim import SAMPLE_IMPACT  # the simulated world: only the demo reaches it
    from empathy.sim.impact import ImpactError, load_impacts, story_impacts

    sample = SAMPLE / "neon_rain.toml"
    if story_file is not None and media_root is None and Path(story_file).resolve() == sample:
        story_file = None  # the sample by name: its media are rendered, not beside it
    try:
        if story_file is None:
            from empathy.host.sample.render import ensure

            root = ensure()
            story = story_mod.load(sample, media_root=root)
            if impact:  # refused here, in one line, not in every simulated seat's process
                story_impacts(story, impact)
            return story, root, impact or SAMPLE_IMPACT
        story = story_mod.load(story_file, media_root=media_root)
        _check_files(story)
        impacts = story_impacts(story, impact)
    except story_mod.StoryError as e:
        raise DemoError(f"story: {e}") from None
    except ImpactError as e:
        raise DemoError(str(e)) from None
    unknown = set(load_impacts(impact)) - set(story.segments) if impact else set()
    if unknown:
        raise DemoError(f"{impact}: segments {', '.join(sorted(unknown))} are not in "
                        f"{story_file}")
    path = out / "edge" / "impact.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps({"segments": {
        sid: {"tension": [list(p) for p in i.tension], "valence": i.valence,
              "shocks": list(i.shocks)} for sid, i in impacts.items()}}))
    root = Path(media_root) if media_root else Path(story_file).resolve().parent
    return story, root, path


def _check_files(story) -> None:
    """The artist's clips and LUTs as `empathy story check` sees them, before anything
    starts: its errors refuse the demo (one line each), its warnings are said and it plays."""
    from empathy.host.story_check import check_files

    rep = check_files(story)
    if rep.errors:
        raise DemoError("\n".join(map(str, rep.errors)))
    for p in rep.warnings:
        print(p, file=sys.stderr)
