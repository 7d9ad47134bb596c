"""`empathy host run --config host.toml --story FILE` — run a show on this host."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from empathy.config import ConfigError, from_toml
from empathy.host.show import ShowConfig


@dataclass
class HostConfig:
    keystore: str = "host.keys.toml"
    story: str = ""
    media_root: str = ""
    frame_log: str = "frames.csv"
    duration_s: float = 0.0  # 0 = until the story ends (or forever when looping)
    show: ShowConfig = field(default_factory=ShowConfig)

    def validate(self):
        if not self.story:
            raise ValueError("story = path of the story file is required")


def _run(args) -> int:
    from empathy.host.show import Show
    from empathy.host.story import StoryError, load
    from empathy.keys import Keystore, KeyError_

    try:
        cfg = from_toml(HostConfig, args.config)
        story = load(Path(cfg.story), cfg.media_root or None)
        keys = Keystore.load(cfg.keystore)
        show = Show(story, cfg.show, keys.units, keys.show, Path(cfg.frame_log))
    except (ConfigError, StoryError, KeyError_, ValueError, OSError) as e:
        print(f"empathy host: {e}", file=sys.stderr)
        return 1
    summary = show.run(cfg.duration_s or 10**9)
    print(json.dumps({k: v for k, v in summary.items() if k != "timeline"}, indent=None))
    return 0


def register(p) -> None:
    sub = p.add_subparsers(dest="verb", required=True)
    r = sub.add_parser("run", help="receive, fuse, decide and play until the show ends")
    r.add_argument("--config", required=True, help="host config TOML")
    r.set_defaults(func=_run)
