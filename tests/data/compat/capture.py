"""Record what an installed Empathy Engine release sends and expects on the link, for the
mixed-fleet tests (tests/test_upgrade*.py), which replay it against the code of the day.

Run with the OLD release's interpreter, from outside its tree (README.md here):
    /tmp/old/.venv/bin/python tests/data/compat/capture.py tests/data/compat/NAME.json

A real `empathy edge run` of that release (one simulated seat) sends to a UDP socket here
and, through a real mosquitto, over MQTT; its host side (announcement record, sync reply,
screen cue) is made by that release's own encoders; its decoders' verdicts on heartbeats of
every length are kept, so the new code's output can be judged by the old rules without
importing the old code.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import tomli_w
from zeroconf import DNSOutgoing
from zeroconf.const import _FLAGS_AA, _FLAGS_QR_RESPONSE

from empathy import discovery, wire
from empathy.keys import Keystore
from empathy.transports.mqtt_broker import LocalBroker

UNIT, SEAT, SCREEN, SECONDS = 1, 3, "compat", 4.0
keys = Keystore({UNIT: bytes(range(32))}, cue_signing=bytes(range(32, 64)))


def run_unit(tmp: Path, uplink: str) -> None:
    keys.for_unit(UNIT).save(tmp / "u.keys.toml")
    cfg = {"unit_id": UNIT, "uplink": uplink, "sync_hz": 2.0, "rate_hz": 10.0,
           "keystore": str(tmp / "u.keys.toml"), "baseline_s": 1.0, "faces": False,
           "seq_file": str(tmp / "unit.seq"),
           "seats": [{"seat_id": SEAT, "source": "sim://seat?seed=1"}]}
    (tmp / "u.toml").write_text(tomli_w.dumps(cfg))
    unit = subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                             str(tmp / "u.toml")], cwd=tmp, stderr=subprocess.DEVNULL)
    time.sleep(SECONDS)
    unit.send_signal(signal.SIGTERM)
    unit.wait(30)


def over_udp(tmp: Path) -> list[str]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.2)
        got, stop = [], threading.Event()

        def read():
            while not stop.is_set():
                try:
                    got.append(s.recv(2048).hex())
                except socket.timeout:
                    pass
        t = threading.Thread(target=read)
        t.start()
        run_unit(tmp, f"udp://127.0.0.1:{s.getsockname()[1]}")
        stop.set()
        t.join()
    return got


def over_mqtt(tmp: Path) -> list[list]:
    got = []
    with LocalBroker(tmp / "broker") as broker:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        c.on_message = lambda cl, ud, m: got.append([m.topic, m.payload.hex(), m.retain])
        c.connect("127.0.0.1", broker.port)
        c.subscribe(f"empathy/{SCREEN}/#", qos=1)
        c.loop_start()
        run_unit(tmp, f"mqtt://127.0.0.1:{broker.port}/{SCREEN}")
        time.sleep(0.5)
        c.loop_stop()
        c.disconnect()
    return got


def announcement() -> dict:
    """The host's signed record as that release announced it (not registered: its bytes)."""
    a = discovery.Announcement.__new__(discovery.Announcement)
    a.url, a.screen, a._address = "udp://127.0.0.1:47100", SCREEN, bytes([127, 0, 0, 1])
    a.issued = 0
    info = a._info(f"empathy-{SCREEN}-udp.{discovery.SERVICE}", keys.cue_signing)
    out = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA)
    for r in (info.dns_pointer(), info.dns_service(), info.dns_text(), *info.dns_addresses()):
        out.add_answer_at_time(r, 0)
    return {"url": a.url, "screen": SCREEN, "context": discovery.CONTEXT.hex(),
            "properties": {k.decode(): (v or b"").decode() for k, v in info.properties.items()},
            "response": out.packets()[0].hex()}


def verdict(full: bytes, n: int, key: bytes) -> str:
    """The release's heartbeat decoder on a heartbeat cut or padded to n bytes and tagged."""
    body = (full[:-wire.TAG_SIZE] + bytes(n))[:max(0, n - wire.TAG_SIZE)]
    try:
        wire.decode_health(body + wire.tag(key, body) if n > wire.TAG_SIZE else full[:n],
                           {UNIT: key})
        return "ok"
    except wire.WireError as e:
        return e.reason


def made() -> dict:
    """Packets made by that release's encoders from given fields: its host's, and a unit's
    seat faults (the simulated seat has none)."""
    key = keys.units[UNIT]
    reply = wire.SyncReply(UNIT, 77, 1_000_000, 2_000_000, 2_000_100)
    cue = wire.ScreenCue(9, 3_000_000, "opening", 1500, 0.25)
    hb = wire.Health(UNIT, 5, 4_000_000, (9, 8, 7), 1, 80, 3, -5, 6, 700, 2, 9000, 1234)
    full = wire.encode_health(hb, key)
    faults = wire.SeatFaults(UNIT, 6, SEAT, wire.mask_of(["lead_off"]), 12)
    return {"faults": {"fields": [faults.unit_id, faults.seq, faults.seat_id, faults.faults,
                                  faults.for_s],  # (a unit's kind 7, as that release made it)
                       "packet": wire.encode_faults(faults, key).hex()},
            "sync_reply": {"fields": [reply.unit_id, reply.seq, reply.t1_us, reply.t2_us,
                                      reply.t3_us],
                           "packet": wire.encode_sync_reply(reply, key).hex()},
            "cue": {"fields": [cue.seq, cue.ts_us, cue.clip_id, cue.clip_ms, cue.luminance],
                    "packet": wire.encode_cue(cue, wire.CueSigner(keys.cue_signing)).hex()},
            # the old host's heartbeat decoder: which lengths it takes (the rest refused),
            # and one heartbeat's fields and bytes (the layout, pinned)
            "heartbeat": {"fields": [hb.unit_id, hb.seq, hb.ts_us, list(hb.firmware), hb.sensors,
                                     hb.battery, hb.loss_permille, hb.offset_us, hb.drift_ppb,
                                     hb.rtt_us, hb.uplink_fail, hb.estimate_lag_ms, hb.run],
                          "packet": full.hex(),
                          "verdict_by_length": {n: verdict(full, n, key) for n in range(1, 80)}}}


def main(out: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "udp").mkdir()
        (tmp / "mqtt").mkdir()
        data = {"made_by": os.environ.get("COMPAT_COMMIT", "?"), "unit": UNIT, "seat": SEAT,
                "screen": SCREEN, "unit_key": keys.units[UNIT].hex(),
                "cue_signing": keys.cue_signing.hex(), "cue_public": keys.public_cue_key().hex(),
                "udp": over_udp(tmp / "udp"), "mqtt": over_mqtt(tmp / "mqtt"),
                "announcement": announcement(), "made": made()}
    Path(out).write_text(json.dumps(data, indent=1) + "\n")
    print(f"{out}: {len(data['udp'])} UDP datagrams, {len(data['mqtt'])} MQTT messages")


if __name__ == "__main__":
    main(sys.argv[1])
