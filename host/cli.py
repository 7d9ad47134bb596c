"""`empathy host run --config host.toml` — run a show on this host, with the dashboard and
API, the session recorder, OSC and LSL outputs as its config asks."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from empathy.config import ConfigError, from_toml, listen_addr, proxy_network, setting
from empathy.errors import UserError
from empathy.host.osc import OscConfig
from empathy.host.seatmap import SeatMapConfig
from empathy.host.show_config import KioskConfig, ShowConfig
from empathy.plots import never_plots
from empathy.rotate import Rotation

log = logging.getLogger("empathy.host")
TOKEN_ENV = "EMPATHY_OPERATOR_TOKEN"
MAX_TOKEN = 4096  # bytes of a token file; a longer token was cut there without a word


@dataclass
class DashboardConfig:
    enabled: bool = False  #: serve the dashboard and its API
    #: host:port it listens on; 0.0.0.0:8080 to reach it from the booth's laptop.
    #: Example: "0.0.0.0:8080"
    listen: str = setting("127.0.0.1:8080", check=listen_addr)
    #: file holding the operator token; empty: $EMPATHY_OPERATOR_TOKEN, else a new token
    #: each start, printed on stderr. Example: "/etc/empathy/operator.token"
    token_file: str = ""
    #: file holding a read-only token for Prometheus: GET /metrics and nothing else;
    #: empty: scrapers use the operator token. Example: "/etc/empathy/metrics.token"
    metrics_token_file: str = ""
    #: reverse proxies in front of the dashboard (addresses or networks) whose
    #: X-Forwarded-For names the viewer; empty: no such header is believed, each
    #: connection's own address is its peer. Example: ["127.0.0.1"]
    trusted_proxies: list[str] = setting([], check=proxy_network)

    def token(self) -> str | None:
        if self.token_file:
            return read_token(self.token_file, "dashboard.token_file")
        return os.environ.get(TOKEN_ENV) or None

    def metrics_token(self) -> str | None:
        if self.metrics_token_file:
            return read_token(self.metrics_token_file, "dashboard.metrics_token_file")
        return None


def read_token(path: str, key: str) -> str | None:
    """The token, from a private regular file (it controls the show: as a keystore)."""
    from empathy.keys import UNSAFE_MODE  # here: `host run --help` loads no keystore code

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not hold the start
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise ConfigError(f"{key}: {path} is not a regular file")
            if st.st_mode & UNSAFE_MODE:
                raise ConfigError(f"{key}: {path}: mode {stat.S_IMODE(st.st_mode):o} lets "
                                  "others read or change it (chmod 600, or 640 owned "
                                  "root:empathy)")
            raw = f.read(MAX_TOKEN + 1)
        token = raw.decode().strip()
        if len(raw) > MAX_TOKEN or any(c.isspace() or not c.isprintable() for c in token):
            # base64 wraps at 76 characters: such a token no HTTP header can carry
            raise ConfigError(f"{key}: {path} holds no single-line token of at most "
                              f"{MAX_TOKEN} bytes (a line break, space or control character "
                              "inside?): write one line, e.g. `base64 -w0`")
        return token or None
    except OSError as e:
        raise ConfigError(f"{key}: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{key}: {path} is not UTF-8 text") from None


@dataclass
class SessionConfig:
    enabled: bool = True  #: record each show as a session (samples, states, decisions)
    dir: str = "sessions"  #: folder the sessions are written to
    #: days a session is kept: older ones are deleted at start and daily, and after every
    #: kiosk visit (never the one recording); 0 keeps them all. Biometric data: keep no
    #: longer than the audience was told. Example: 30
    retention_days: float = setting(0.0, lo=0, hi=3650, zero_ok=True)
    #: keep at most this many sessions, the oldest deleted first; 0 = no limit
    keep_sessions: int = setting(0, lo=1, hi=10**7, zero_ok=True)
    #: keep the sessions within this many MB together, the oldest deleted first; 0 = no
    #: limit. Example: 2000.0
    max_mb: float = setting(0.0, lo=1, hi=10**7, zero_ok=True)


@dataclass
class LslConfig:
    enabled: bool = False  #: publish the audience and decisions as LSL streams
    #: source id naming this screen in LabRecorder; empty: empathy-HOSTNAME. Example: "screen-1"
    source: str = ""
    #: the per-seat stream too: each seat's readings, unauthenticated on the network
    #: (docs/privacy.md); off unless a study needs it
    seats: bool = False


@dataclass
class HostConfig:
    #: keystore file: every edge unit's key and the cue signing key (`empathy keys new`)
    keystore: str = "host.keys.toml"
    #: the story file to play (required; docs/story.md). Example: "films/my_film.toml"
    story: str = ""
    #: folder the story's media and LUT paths start from; empty: the story's own
    #: media_root, else its folder (the bundled sample: its render cache).
    #: Example: "/media/usb/my_film"
    media_root: str = ""
    #: "show": the story for whoever is there; "kiosk": one visitor at a time, each with an
    #: attract loop, a fresh baseline, the film and a session of their own ([kiosk]).
    #: Example: "kiosk"
    mode: str = "show"
    frame_log: str = "frames.csv"  #: CSV of every frame shown (clip, times, LUT, lateness)
    #: The frame log appends and rolls over by size and age (docs/playback.md).
    frame_log_rotate: Rotation = field(default_factory=Rotation)
    #: how long the show runs, s; 0 = until the story ends (or for ever when looping)
    duration_s: float = setting(0.0, lo=0, hi=10**9)  # a negative one ended the show at once
    #: show mode: before the film, wait at most this long, s, for every seat's resting
    #: baseline (the seat map's seats, else every seat heard); 0 = start at once. Example: 90.0
    baseline_wait_s: float = setting(0.0, lo=1, hi=3600, zero_ok=True)
    #: The show: where packets arrive, the picture and how branches are chosen.
    show: ShowConfig = field(default_factory=ShowConfig)
    #: The kiosk's visitor cycle (mode = "kiosk"; docs/guide-artist.md).
    kiosk: KioskConfig = field(default_factory=KioskConfig)
    #: The operator's dashboard and HTTP API (docs/api.md).
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    #: Session recording, for reports and export (`empathy session`).
    session: SessionConfig = field(default_factory=SessionConfig)
    #: OSC messages to TouchDesigner, Max/MSP, Unity or a lighting desk.
    osc: OscConfig = field(default_factory=OscConfig)
    #: Lab Streaming Layer outlets, for LabRecorder.
    lsl: LslConfig = field(default_factory=LslConfig)
    #: Which edge unit carries which seats, and the room's rows (host/seatmap.py).
    seatmap: SeatMapConfig = field(default_factory=SeatMapConfig)
    #: folder for what must survive a restart (replay windows, seat locks, where the show
    #: is: show.json); empty:
    #: the state folder's host/ (empathy.paths; the systemd unit puts it in /var/lib/empathy).
    #: Example: "/var/lib/empathy/host"
    state_dir: str = ""
    #: show mode: a host started again this soon, s, after it last noted where the show was
    #: (a crash, a restart, the host's power) plays the segment the audience was watching
    #: again from its start, not the film from its beginning; 0 = always from the
    #: beginning (`host run --fresh` for one start). Example: 300.0
    resume_within_s: float = setting(600.0, lo=1, hi=86400, zero_ok=True)

    def validate(self):
        if not self.story:
            raise ValueError("story = path of the story file is required")
        if self.mode not in ("show", "kiosk"):
            raise ValueError(f"mode {self.mode!r} must be \"show\" or \"kiosk\"")


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
    rec = None
    if cfg.session.enabled:
        from empathy.host.session.store import RESUME_S, Recorder, unfinished

        meta = {"story": show.story.title, **(meta or {})}
        # A resumed show (same show id in meta) goes on with its session.
        within_s = max(RESUME_S, cfg.resume_within_s)
        rec = Recorder(Path(cfg.session.dir), meta,
                       unfinished(Path(cfg.session.dir), meta, within_s),
                       unit_report=show.intake.unit_report, on_fault=show.report)
        closers.append(rec)
        show.subscribe(rec)
        if rec.resumed:  # after a crash: the same session goes on, the gap is in its events
            rec.event("resumed", {"session": rec.id})
        log.info("%s session %s", "resuming" if rec.resumed else "recording", rec.id,
                 extra={"session": rec.id, "path": str(rec.path)})
    lim = cfg.session
    if lim.retention_days or lim.keep_sessions or lim.max_mb:
        from empathy.host.session.retention import Retention

        # Closed before the recorder: a purge in progress is still noted in the session.
        closers.insert(0, Retention(Path(lim.dir), lim, keep=rec and rec.path,
                                    on_purge=rec and rec.event).start())
    if cfg.osc.targets:
        from empathy.host.osc import OscOutput

        show.subscribe(OscOutput(cfg.osc))
    if cfg.lsl.enabled:
        from empathy.host.lsl import LslOutlet
        from empathy.host.lsl_markers import LslMarkers

        show.subscribe(LslOutlet(cfg.lsl.source, seats=cfg.lsl.seats))
        show.subscribe(LslMarkers(cfg.lsl.source))
    if cfg.dashboard.enabled:
        from empathy.host.dashboard.api import Api
        from empathy.host.dashboard.live import Live
        from empathy.host.dashboard.metrics import ShowMetrics
        from empathy.host.dashboard.room import Room

        room = Room(cfg.seatmap)
        live, metrics = Live(show, room), ShowMetrics(show, room)
        token = cfg.dashboard.token()
        api = Api(show, live, cfg.dashboard.listen, token, metrics,
                  cfg.dashboard.metrics_token(), cfg.dashboard.trusted_proxies)
        api.start()
        closers.append(api)
        show.subscribe(live)
        show.subscribe(metrics)
        # No configured token: a fresh one each start, read here (stderr, systemd's journal).
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


def make_show(cfg: HostConfig, story, keys, clock=None, realtime: bool = True, **show_kw):
    """The Show the config asks for: the story for whoever is there, or a kiosk's cycle.
    show_kw: a show's position keeper and resume point (show_position.py)."""
    from empathy.host.intake_state import default_dir
    from empathy.host.show import Show

    kw = dict(realtime=realtime, frame_log_rotation=cfg.frame_log_rotate,
              seatmap=cfg.seatmap, state_dir=Path(cfg.state_dir or default_dir()),
              **({"clock": clock} if clock else {}))
    if cfg.mode == "kiosk":
        from empathy.host.kiosk import KioskShow

        return KioskShow(story, cfg.show, cfg.kiosk, keys.units, keys.cue_signing,
                         Path(cfg.frame_log),
                         Path(cfg.session.dir) if cfg.session.enabled else None,
                         retention=cfg.session, attract_media=_media(cfg, "attract"),
                         attract_lut=_media(cfg, "attract_lut"), **kw)
    return Show(story, cfg.show, keys.units, keys.cue_signing, Path(cfg.frame_log), **kw,
                **show_kw)


def _check_story(story, cfg: HostConfig, force: bool) -> None:
    """The story's clips and LUTs as `empathy story check` sees them (without decoding a
    frame of each: a broken frame falls back to the default branch in the show), before
    the show starts. Errors refuse the run, one line each, unless --force; warnings are
    logged. A missing clip found now, in the afternoon, beats a fallback at 8 pm."""
    from empathy.host.story_check import check_files, platform_of

    rep = check_files(story, platform_of(cfg.show.output), decode=False, show_fps=cfg.show.fps)
    for p in rep.warnings:
        log.warning("story check: %s", p)
    if rep.errors and force:
        for p in rep.errors:
            log.error("story check (playing anyway, --force): %s", p)
    elif rep.errors:
        raise UserError("\n".join(map(str, rep.errors)),
                        hint="fix them (`empathy story check FILE` lists every problem), or "
                             "`host run --force` to play anyway: a segment that cannot play "
                             "falls back to its default branch")


def _run(args) -> int:
    from empathy.host.config_cli import expect_kind
    from empathy.host.intake_state import default_dir, hold

    # Errors here (config, story, keys, the broker, the output chain) reach the CLI's error
    # boundary: one line with what to do; none of the output chain opening exits 78.
    expect_kind(args.config, "host")
    cfg = from_toml(HostConfig, args.config)
    held = hold(Path(cfg.state_dir or default_dir()))  # one host a state folder
    try:
        return _play(args, cfg)
    finally:
        if held is not None:
            os.close(held)


def _fresh(args) -> int:
    """The service's own `--fresh` (show_position.forget)."""
    from empathy.host.config_cli import expect_kind
    from empathy.host.intake_state import default_dir, hold
    from empathy.host.show_position import forget

    expect_kind(args.config, "host")
    cfg = from_toml(HostConfig, args.config)
    folder = Path(cfg.state_dir or default_dir())
    held = hold(folder)  # refused while a host runs here: its note would be back in 2 s
    try:
        print(forget(folder))
        return 0
    finally:
        if held is not None:
            os.close(held)


def _position(cfg: HostConfig, story, args) -> dict:
    """Show mode: where a restarted show goes on from, and what keeps it (show_position.py);
    a kiosk starts each visitor's film from its beginning."""
    from empathy.host.intake_state import default_dir
    from empathy.host.show_position import Keeper, Position, resume_point

    if cfg.mode != "show":
        return {}
    folder = Path(cfg.state_dir or default_dir())
    config = str(Path(args.config).resolve())
    pos = resume_point(folder, story, cfg.resume_within_s, args.fresh, config)
    return {"keeper": Keeper(folder, pos or Position.new(story, config), resumed=bool(pos)),
            "resumed": pos}


def _play(args, cfg: HostConfig) -> int:
    from dataclasses import replace

    from empathy.host.baseline import BaselineWatch, wait_for_baselines
    from empathy.host.player.outputs import keep_last
    from empathy.host.story import load
    from empathy.keys import Keystore

    if cfg.mode != "kiosk":  # (a kiosk writes each visit's report)
        never_plots()
    story = load(Path(cfg.story), cfg.media_root or None)
    _check_story(story, cfg, args.force)
    keys = Keystore.load(cfg.keystore, "host")
    for path in keep_last(cfg.show.output):
        log.info("keeping the last recording as %s (a new one starts)", path)
    show = make_show(cfg, story, keys, **_position(cfg, story, args))
    # `empathy keys new/revoke` on this file take effect mid-show (key rotation).
    show.intake.watch_keystore(cfg.keystore, on_reload=show.use_keystore)
    # systemd stops us with SIGTERM, a closed ssh session with SIGHUP, a terminal's Ctrl-C
    # with SIGINT: end the show cleanly (output finalised, session closed), not mid-write.
    def _stop(signum, _frame):
        log.info("%s: ending the show", signal.Signals(signum).name)
        show.stop()

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # `nohup`: the show outlives it
            signal.signal(sig, _stop)
    # A kiosk records each visit as a session of its own (with its retention); a show, one.
    closers = attach(show, replace(cfg, session=replace(cfg.session, enabled=False))
                     if cfg.mode == "kiosk" else cfg,
                     {"config": str(args.config),
                      **({"show": show.keeper.pos.show} if show.keeper else {})})
    try:
        waited = None
        if cfg.mode == "show" and cfg.baseline_wait_s and show.resumed:
            log.info("baseline wait skipped: the audience is mid-film, not at rest")
        elif cfg.mode == "show" and cfg.baseline_wait_s:
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
    r.add_argument("--force", action="store_true",
                   help="play even if the story's clips or LUTs fail `story check` (each "
                        "broken segment falls back to its default branch)")
    r.add_argument("--fresh", action="store_true",
                   help="play the film from its beginning, even if a show was interrupted "
                        "within resume_within_s (docs/guide-cinema.md)")
    r.set_defaults(func=_run)
    f = sub.add_parser("fresh", help="forget an interrupted show: the next `host run` plays "
                                     "the film from its beginning (stop the service first)")
    f.add_argument("--config", required=True, help="host config TOML")
    f.set_defaults(func=_fresh)
    from empathy.host.units_cli import register as units  # `host units`
    units(sub)
