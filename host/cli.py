"""`empathy host run --config host.toml` — run a show on this host, with the dashboard and
API, the session recorder, OSC and LSL outputs as its config asks."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from empathy.config import ConfigError, from_toml
from empathy.host.kiosk import KioskConfig
from empathy.host.osc import OscConfig
from empathy.host.seatmap import SeatMapConfig
from empathy.host.show import ShowConfig
from empathy.rotate import Rotation

log = logging.getLogger("empathy.host")
TOKEN_ENV = "EMPATHY_OPERATOR_TOKEN"


@dataclass
class DashboardConfig:
    enabled: bool = False
    listen: str = "127.0.0.1:8080"  # 0.0.0.0:8080 to reach it from the booth's laptop
    token_file: str = ""  # operator token; else $EMPATHY_OPERATOR_TOKEN; else a new one

    def validate(self):
        host, _, port = self.listen.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"listen {self.listen!r} must be host:port")

    def token(self) -> str | None:
        if self.token_file:
            try:
                return Path(self.token_file).read_text().strip() or None
            except OSError as e:
                raise ConfigError(f"dashboard.token_file: {e}") from None
        return os.environ.get(TOKEN_ENV) or None


@dataclass
class SessionConfig:
    enabled: bool = True
    dir: str = "sessions"
    #: delete sessions older than this many days, after every kiosk visit (and with
    #: `empathy session purge --older-than`); 0 = keep. Example: 30.0
    keep_days: float = 0.0
    #: keep at most this many sessions, the oldest deleted first; 0 = no limit
    keep_sessions: int = 0
    #: keep the sessions within this many MB together, the oldest deleted first; 0 = no
    #: limit. Example: 2000.0
    max_mb: float = 0.0

    def validate(self):
        for name in ("keep_days", "keep_sessions", "max_mb"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0: no limit)")


@dataclass
class LslConfig:
    enabled: bool = False
    source: str = ""  # names this screen in LabRecorder; default empathy-<hostname>


@dataclass
class HostConfig:
    keystore: str = "host.keys.toml"
    story: str = ""
    media_root: str = ""
    #: "show": the story for whoever is there; "kiosk": one visitor at a time, each with an
    #: attract loop, a fresh baseline, the film and a session of their own ([kiosk]).
    #: Example: "kiosk"
    mode: str = "show"
    frame_log: str = "frames.csv"
    #: The frame log appends and rolls over by size and age (docs/playback.md).
    frame_log_rotate: Rotation = field(default_factory=Rotation)
    duration_s: float = 0.0  # 0 = until the story ends (or forever when looping)
    #: show mode: before the film, wait at most this long, s, for every seat's resting
    #: baseline (the seat map's seats, else every seat heard); 0 = start at once.
    #: Example: 90.0
    baseline_wait_s: float = 0.0
    show: ShowConfig = field(default_factory=ShowConfig)
    #: The kiosk's visitor cycle (mode = "kiosk"; docs/guide-artist.md).
    kiosk: KioskConfig = field(default_factory=KioskConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    osc: OscConfig = field(default_factory=OscConfig)
    lsl: LslConfig = field(default_factory=LslConfig)
    seatmap: SeatMapConfig = field(default_factory=SeatMapConfig)  # see host/seatmap.py

    def validate(self):
        if not self.story:
            raise ValueError("story = path of the story file is required")
        if self.mode not in ("show", "kiosk"):
            raise ValueError(f"mode {self.mode!r} must be \"show\" or \"kiosk\"")
        if not 0 <= self.baseline_wait_s <= 3600:
            raise ValueError(f"baseline_wait_s {self.baseline_wait_s} must be within 0..3600")


def attach(show, cfg: HostConfig, meta: dict | None = None) -> list:
    """Subscribe the recorder, OSC, LSL and dashboard the config asks for; returns what
    must be closed (`.close()`) after the show, in order. The recorder goes first: it sees
    every event even if a later observer fails. If one cannot start (a busy port), what
    already started is closed before the error goes up."""
    closers = []
    try:
        _attach(show, cfg, meta, closers)
    except BaseException:
        for c in closers:
            c.close()
        raise
    return closers


def _attach(show, cfg: HostConfig, meta: dict | None, closers: list) -> None:
    if cfg.session.enabled:
        from empathy.host.session.store import Recorder, unfinished

        meta = {"story": show.story.title, **(meta or {})}
        rec = Recorder(Path(cfg.session.dir), meta, unfinished(Path(cfg.session.dir), meta),
                       unit_report=show.intake.unit_report, on_fault=show.report)
        closers.append(rec)
        show.subscribe(rec)
        if rec.resumed:  # after a crash: the same session goes on, the gap is in its events
            rec.event("resumed", {"session": rec.id})
        log.info("%s session %s", "resuming" if rec.resumed else "recording", rec.id,
                 extra={"session": rec.id, "path": str(rec.path)})
    if cfg.osc.targets:
        from empathy.host.osc import OscOutput

        show.subscribe(OscOutput(cfg.osc))
    if cfg.lsl.enabled:
        from empathy.host.lsl import LslOutlet

        show.subscribe(LslOutlet(cfg.lsl.source))
    if cfg.dashboard.enabled:
        from empathy.host.dashboard.api import Api
        from empathy.host.dashboard.live import Live

        live = Live(show)
        token = cfg.dashboard.token()
        api = Api(show, live, cfg.dashboard.listen, token)
        api.start()
        closers.append(api)
        show.subscribe(live)
        # Without a configured token there is a fresh one each start: the operator reads it
        # here (stderr, the journal under systemd).
        print(f"dashboard: {api.url}" + ("" if token else f"#token={api.token}"),
              file=sys.stderr, flush=True)


def _media(cfg: HostConfig, key: str) -> Path | None:
    """A kiosk's attract clip or look, relative to the media root or the story's folder."""
    name = getattr(cfg.kiosk, key)
    if not name:
        return None
    path = Path(cfg.media_root or Path(cfg.story).parent) / name
    if not path.is_file():
        raise ConfigError(f"kiosk.{key}: {path} not found")
    return path


def make_show(cfg: HostConfig, story, keys, clock=None, realtime: bool = True):
    """The Show the config asks for: the story for whoever is there, or a kiosk's cycle."""
    from empathy.host.show import Show

    kw = dict(realtime=realtime, frame_log_rotation=cfg.frame_log_rotate,
              **({"clock": clock} if clock else {}))
    if cfg.mode == "kiosk":
        from empathy.host.kiosk import KioskShow

        return KioskShow(story, cfg.show, cfg.kiosk, keys.units, keys.show,
                         Path(cfg.frame_log),
                         Path(cfg.session.dir) if cfg.session.enabled else None,
                         retention=cfg.session, attract_media=_media(cfg, "attract"),
                         attract_lut=_media(cfg, "attract_lut"), **kw)
    return Show(story, cfg.show, keys.units, keys.show, Path(cfg.frame_log), **kw)


def _run(args) -> int:
    from dataclasses import replace

    from empathy.host.baseline import BaselineWatch, wait_for_baselines
    from empathy.host.story import StoryError, load
    from empathy.keys import Keystore, KeyError_

    try:
        cfg = from_toml(HostConfig, args.config)
        story = load(Path(cfg.story), cfg.media_root or None)
        keys = Keystore.load(cfg.keystore)
        show = make_show(cfg, story, keys)
        # `empathy keys new/revoke` on this file take effect mid-show (key rotation).
        show.intake.watch_keystore(cfg.keystore)
        # systemd stops us with SIGTERM: end the show cleanly (the output file finalised,
        # the session closed) instead of dying mid-write.
        signal.signal(signal.SIGTERM, lambda *_: show.stop())
        # A kiosk records each visit as its own session; a show is one session.
        closers = attach(show, replace(cfg, session=replace(cfg.session, enabled=False))
                         if cfg.mode == "kiosk" else cfg, {"config": str(args.config)})
    except (ConfigError, StoryError, KeyError_, ValueError, OSError) as e:
        print(f"empathy host: {e}", file=sys.stderr)
        return 1
    try:
        waited = None
        if cfg.mode == "show" and cfg.baseline_wait_s:
            seats = set(cfg.seatmap.owners()) or None
            watch = BaselineWatch()
            waited = wait_for_baselines(show, seats, cfg.baseline_wait_s, watch)
        summary = show.run(cfg.duration_s or 10**9)
        if waited:
            summary["baseline"] = {**watch.record(show.t0_us, len(seats or ())), **waited}
    finally:
        for c in closers:
            c.close()
    print(json.dumps({k: v for k, v in summary.items() if k != "timeline"}, indent=None))
    return 0


def register(p) -> None:
    sub = p.add_subparsers(dest="verb", required=True)
    r = sub.add_parser("run", help="receive, fuse, decide and play until the show ends")
    r.add_argument("--config", required=True, help="host config TOML")
    r.set_defaults(func=_run)
