"""The sample story's media (video segments and LUTs), rendered by us on first use."""

from pathlib import Path

STORY = Path(__file__).resolve().parent / "neon_rain.toml"


def is_sample(story_path: Path) -> bool:
    try:
        return Path(story_path).resolve() == STORY
    except OSError:
        return False


def media_root(render: bool = True) -> Path:
    """Where the sample's media and LUTs live: the render cache, rendered first if missing
    (render=False: only where it would be)."""
    from empathy.host.sample import render as _render

    return _render.ensure() if render else _render.default_dir()
