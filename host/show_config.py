"""The host config's [show] and [kiosk] tables, apart from the show and the kiosk that run
them (GStreamer, numpy, the policies): `host run --help`, a config check and the config
reference read them without loading those."""

from __future__ import annotations

from dataclasses import dataclass

from empathy.config import host_port, setting
from empathy.host.player.captions import check_setting as check_captions
from empathy.host.player.output_names import output_chain
from empathy.host.policy_settings import MAX_REWARD_LATENCY_S, REWARD_LATENCY_S, check_name
from empathy.transports import check_url


@dataclass
class ShowConfig:
    #: where edge units' packets arrive: udp://HOST:PORT, mqtt://HOST:PORT/SCREEN or
    #: serial:///dev/DEVICE (docs/link.md). Example: "udp://0.0.0.0:47100"
    listen: str = setting("udp://127.0.0.1:47100", check=check_url)
    #: where the picture goes: file:PATH, window, kms (Pi), nv3d (Jetson), null, or auto
    #: (detected); or a chain tried in order until one opens (host/player/outputs.py).
    #: Example: ["kms", "file:/var/lib/empathy/fallback.mp4"]
    output: str | list[str] = setting("auto", check=output_chain)
    width: int = setting(640, lo=16, hi=8192)  #: picture width in pixels (even)
    height: int = setting(360, lo=16, hi=8192)  #: picture height in pixels (even)
    #: the show's frame rate; clips are converted to it
    fps: float = setting(25.0, lo=1, hi=120)
    #: how branches are chosen: default, rules, arc, bandit or random (docs/story.md)
    policy: str = "arc"
    loop: bool = True  #: start the story again when it ends (a kiosk)
    #: below this share of seats with signal, a decision takes the director's default
    min_good_fraction: float = setting(0.25, lo=0, hi=1)
    #: seconds the audience's measured response lags the film: a segment's reward is taken
    #: over its own time shifted by this much, and given when that window has closed; when
    #: the story ends the show measures on this long (the credits) before it stops
    #: (default: what the body's response and the edge estimate's latency leave once the
    #: reward has undone the estimate's lag, docs/story.md)
    reward_latency_s: float = setting(REWARD_LATENCY_S, lo=0, hi=MAX_REWARD_LATENCY_S)
    #: edge units to send screen cues to (what is on screen, its luminance), host:port
    #: each. Example: ["10.0.0.21:47200"]
    cue_targets: list[str] = setting([], check=host_port)
    #: also announce the receiver (mDNS, a listen address beyond loopback) as hosts before
    #: session 35 did, so units not yet updated find it: signed, but with no issue time,
    #: which an older unit cannot rank (docs/security.md, mixed fleets); off once every
    #: unit runs this host's release (docs/guide-cinema.md, "Upgrading a cinema")
    announce_v1: bool = True
    #: captions burnt into the picture, per screening: "story" (the story's
    #: captions_language), "off", or a language the story has captions in. Example: "en"
    captions: str = setting("story", check=check_captions)

    def validate(self):
        check_name(self.policy)  # by name: the learner's state is the show's to load


@dataclass
class KioskConfig:
    #: the attract loop's clip, from the media root (else the story's folder); empty: the
    #: story's first clip. Example: "media/attract.mp4"
    attract: str = ""
    attract_lut: str = ""  #: a LUT look for the attract loop (.cube, .3dl, ...). Example: "luts/dim.cube"
    #: a strap in contact with a heartbeat, or a face in view, this long, s: a visit starts
    settle_s: float = 2.0
    #: nobody in the seat this long, s: the visitor has gone, the film cuts to the attract
    #: loop and the visit ends (the edge's rebaseline_after_s should be no longer)
    leave_s: float = 8.0
    #: no fresh baseline this long after a visit started, s: the film starts anyway (logged)
    baseline_timeout_s: float = 120.0
    #: after the story's end, s: the visit ends and the attract loop plays on
    idle_timeout_s: float = 60.0
    report: bool = True  #: write each visit's HTML report beside its session

    def validate(self):
        for name in ("settle_s", "leave_s", "baseline_timeout_s", "idle_timeout_s"):
            v = getattr(self, name)
            if not 0 < v <= 24 * 3600:
                raise ValueError(f"{name} {v} must be within 0..86400 s")
