"""The edge unit's config (edge.toml): its seats and how it sends, checked as loaded.

Apart from the unit's run loop (edge/runtime.py) so that `empathy config check` and
`config reference` read it without loading the unit's signal processing or numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from empathy.calibration.store import check_id
from empathy.config import ConfigError, ip_address, setting
from empathy.edge.seat_sensors import shared_sensor
from empathy.paths import data_dir
from empathy.sensors.base import SCHEMES as SOURCES
from empathy.transports import check_url

if TYPE_CHECKING:
    from empathy.edge.profile import SeatProfile


def _source_url(url: str) -> None:
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme not in SOURCES:
        raise ValueError(f"{url!r}: unknown source scheme {scheme!r} (known: "
                         f"{', '.join(sorted(SOURCES))})")


@dataclass
class SeatConfig:
    #: the seat's id on the wire (0..65535). Example: 1
    seat_id: int = setting(lo=0, hi=0xFFFF)
    #: where its readings come from: sim://, ble://, serial://, camera://, video:// or
    #: replay:// (docs/sensors.md). A board's ECG whose lead-off pin is faulty (its health
    #: says 'check the LO wiring'): `serial:///dev/ttyACM0?lo_pins=ignore` (trust, the
    #: default, or ignore: no lead-off reading, as a front end without the pins).
    #: Example: "ble://AA:BB:CC:DD:EE:FF"
    source: str = setting("sim://seat", check=_source_url)
    #: the viewer said no: the seat's source is never opened (no camera, strap or board is
    #: read for it) and no sample leaves for it (the unit still sends its own health and
    #: clock sync, no biometrics)
    opt_out: bool = False
    # The seat's calibration, by its ids in the calibration store (edge/profile.py).
    #: the viewer's stored calibration (light response, resting baseline); empty: not
    #: calibrated, population defaults and an in-show baseline. Example: "kiosk-visitor-7"
    viewer: str = ""
    #: the eye camera's stored pupil scale; empty: the camera's nominal scale.
    #: Example: "eyecam-C7"
    eye_camera: str = ""
    #: the heart sensor's stored bias and lag correction (`calibrate hr --sensor-id`),
    #: applied while the seat reads the device it was measured on; empty: uncorrected.
    #: Example: "board-C7"
    heart_sensor: str = ""

    def validate(self):
        for kind in ("viewer", "eye_camera", "heart_sensor"):
            if getattr(self, kind):
                check_id(kind.replace("_", " "), getattr(self, kind))

    def profile(self, store_dir: str) -> SeatProfile:
        from empathy.edge.profile import load_profile  # (numpy: the unit's, not the check's)

        return load_profile(store_dir, self.viewer, self.eye_camera, self.heart_sensor)


@dataclass
class EdgeConfig:
    #: this unit's id (0..65535): its key in the keystore
    unit_id: int = setting(1, lo=0, hi=0xFFFF)
    #: where packets go: udp://HOST:PORT, mqtt://HOST:PORT/SCREEN, serial:///dev/DEVICE, or
    #: udp://auto (mqtt://auto) to find the show on the LAN (docs/link.md).
    #: Example: "udp://auto"
    uplink: str = setting("udp://127.0.0.1:47100", check=check_url)
    keystore: str = "keys.toml"  #: keystore file: this unit's key, the host's public cue key
    #: samples sent per second per seat (0.1..100)
    rate_hz: float = setting(10.0, lo=0.1, hi=100)
    #: UDP port where screen cues arrive; 0 = no screen cues. Example: 47200
    cue_port: int = setting(0, lo=1, hi=65535, zero_ok=True)
    #: address the cue port listens on: this machine only, as a kiosk's host is; 0.0.0.0
    #: where the host is another machine (a cinema). Cues are signed and checks are
    #: rate-limited, so a listening port on the LAN takes nothing unsigned.
    cue_listen: str = setting("127.0.0.1", check=ip_address)
    #: seconds of resting baseline each seat's estimates start from
    baseline_s: float = setting(60.0, lo=0, hi=3600)
    #: a seat without signal this long, s, then with signal again has a new viewer: a fresh
    #: baseline (a kiosk's next visitor); 0 = one baseline per start, never again.
    #: Example: 10.0
    rebaseline_after_s: float = setting(30.0, lo=1, hi=3600, zero_ok=True)
    model_threads: int = setting(1, lo=1, hi=64)  #: threads for the TFLite models
    #: read facial expression from seats that give faces (face cameras, simulated faces);
    #: a unit without such seats loads no face model either way
    faces: bool = True
    #: the expression model: "auto" (the FER-2013 model, whatever the seats are: a model
    #: trained on the simulator's own rendered faces would only measure the simulator
    #: against itself) or a .tflite path; loaded at the unit's start (a broken one stops it)
    expression_model: str = "auto"
    #: health packets per second (0.2..10: the host calls a unit quiet after 2 s)
    heartbeat_hz: float = setting(1.0, lo=0.2, hi=10)
    #: clock-sync exchanges per second once settled; 0 = no clock sync
    sync_hz: float = setting(2.0, lo=0.05, hi=20, zero_ok=True)
    #: file the packet sequence survives restarts in; empty: the state folder.
    #: Example: "/var/lib/empathy/unit1.seq"
    seq_file: str = ""
    #: folder of stored calibrations (sensors' bias and lag, eye-camera scales, viewers'
    #: light response and baseline) that seats name; empty: where `empathy calibrate`
    #: stores them. Example: "/var/lib/empathy/calibration"
    calibration_store: str = ""
    #: evaluation runs (the demo): CSV of each seat's estimate by channel (each alone, all
    #: but one) at the send rate, on this unit's disk; never sent; empty: not written.
    #: Example: "out/demo/edge/unit1.channels.csv"
    channels_log: str = ""
    #: The seats this unit reads, one table each.
    seats: list[SeatConfig] = field(default_factory=lambda: [SeatConfig(1)])

    def validate(self):
        if not self.seats:
            raise ValueError("seats: an edge unit needs at least one seat")
        ids = [s.seat_id for s in self.seats]
        if len(set(ids)) != len(ids):
            raise ValueError(f"seats: a seat id is listed twice ({sorted(ids)})")
        clash = shared_sensor([s.source for s in self.seats if not s.opt_out])
        if clash:
            raise ValueError(clash)


def load_profiles(cfg: EdgeConfig) -> list[SeatProfile]:
    """Each seat's calibration from the store (an empty profile for a seat naming none)."""
    store_dir = cfg.calibration_store or str(data_dir("calibration"))
    try:
        return [s.profile(store_dir) for s in cfg.seats]
    except ValueError as e:  # not made yet, or not what `calibrate` writes: the user's to fix
        raise ConfigError(str(e)) from None
