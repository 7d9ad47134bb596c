"""1,000 simulated edge units publish 10 Hz samples through a real mosquitto on loopback.

Each unit is a real MQTT connection (paho, QoS 0, its own topic and key) in one of a few
publisher processes; the host is our MQTT receiver feeding `Intake`. Figures: the share of
samples delivered and verified, and sensor-to-host latency (packet timestamp, taken just
before publishing, to the host's intake; same machine, so one clock). The peer is the same
publishers at 1 Hz: what the broker and host do when they are nearly idle.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time

import numpy as np

from empathy.clock import now_us
from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.transports import open_receiver
from empathy.transports.mqtt import LocalBroker

UNITS = 1000
DURATION_S = 60.0
RATE_HZ = 10.0
PROCESSES = 4


def publish(url: str, units: list[int], keys: dict, duration_s: float, rate_hz: float) -> dict:
    """One publisher process: `units` connections sending staggered samples at `rate_hz`."""
    import paho.mqtt.client as mqtt

    from empathy import wire
    from empathy.transports.mqtt_url import MqttUrl

    cfg = MqttUrl(url)
    clients = []
    for u in units:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-unit{u}",
                        protocol=cfg.protocol)
        c.connect(cfg.host, cfg.port, keepalive=30)
        clients.append((u, c, f"{cfg.base}/{u}/s", keys[u]))
    period = 1.0 / rate_hz
    rng = np.random.default_rng(units[0])
    phase = rng.uniform(0, period, len(clients))  # units are not in step with each other
    t0 = time.monotonic() + 0.5
    seq = [0] * len(clients)
    sent = failed = 0
    next_misc = 0.0
    end = t0 + duration_s
    due = sorted((t0 + p, i) for i, p in enumerate(phase))
    while due and due[0][0] < end:
        t, i = due.pop(0)
        delay = t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        u, c, topic, key = clients[i]
        p = wire.encode(wire.SeatSample(u, u, seq[i], now_us(), 70.0, 40.0, 4.0, 0.1, 0.0, 3,
                                        0.5, 0x1F), key)
        seq[i] += 1
        if c.publish(topic, p, 0).rc == mqtt.MQTT_ERR_SUCCESS:
            sent += 1
        else:
            failed += 1
        # keep the slot order (bisect would do; the list is short and nearly sorted)
        nt = t + period
        j = len(due)
        while j and due[j - 1][0] > nt:
            j -= 1
        due.insert(j, (nt, i))
        if time.monotonic() >= next_misc:  # keepalive pings and their answers
            socks = {c.socket(): c for _, c, _, _ in clients if c.socket()}
            for s in select.select(list(socks), [], [], 0)[0]:
                socks[s].loop_read()
            for _, c, _, _ in clients:
                c.loop_misc()
            next_misc = time.monotonic() + 1.0
    for _, c, _, _ in clients:
        c.loop_write()
        c.disconnect()
    return {"sent": sent, "failed": failed}


def host(url: str, keys: dict, out: str) -> None:
    """One host worker: our MQTT receiver into `Intake` until told to stop (+3 s drain)."""
    rx = open_receiver(url)
    intake = Intake(keys)
    lat: list[np.ndarray] = []
    with open(out + ".ready", "w"):
        pass
    until = float("inf")
    while time.monotonic() < until:
        if until == float("inf") and os.path.exists(out + ".stop"):
            until = time.monotonic() + 3
        batch = rx.recv_batch(0.05)
        rx_us = now_us()
        rows = intake.feed_array(batch, rx_us)
        if len(rows):
            lat.append(rx_us - rows["ts_us"])
    rx.close()
    np.savez(out, latency_us=np.concatenate(lat) if lat else np.zeros(0),
             accepted=intake.accepted, rejected=sum(intake.rejected.values()))


def _spawn(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "empathy.bench.bench_mqtt", *map(str, args)],
                            stdout=subprocess.PIPE, text=True)


def measure(units: int = UNITS, duration_s: float = DURATION_S, rate_hz: float = RATE_HZ,
            processes: int = PROCESSES, workers: int = 1) -> dict:
    """`workers` host processes share the load through a shared subscription."""
    ids = list(range(1, units + 1))
    keys = Keystore.new(ids)
    with tempfile.TemporaryDirectory() as d, LocalBroker(d) as broker:
        url = broker.url("bench", **({"group": "hosts"} if workers > 1 else {}))
        keyfile = os.path.join(d, "keys.json")
        with open(keyfile, "w") as f:
            json.dump({u: k.hex() for u, k in keys.units.items()}, f)
        outs = [os.path.join(d, f"host{k}") for k in range(workers)]
        hosts = [_spawn("host", url, keyfile, o) for o in outs]
        end = time.monotonic() + 20
        while not all(os.path.exists(o + ".ready") for o in outs) and time.monotonic() < end:
            time.sleep(0.05)
        pubs = [_spawn("publish", url, keyfile, duration_s, rate_hz, *ids[k::processes])
                for k in range(processes)]
        counts = [json.loads(p.communicate()[0]) for p in pubs]
        for o in outs:  # publishers are done: hosts drain 3 s more, then report
            open(o + ".stop", "w").close()
        for h in hosts:
            h.wait()
        got = [np.load(o + ".npz") for o in outs]
    sent = sum(c["sent"] + c["failed"] for c in counts)
    accepted = sum(int(g["accepted"]) for g in got)
    ms = np.concatenate([g["latency_us"] for g in got]) / 1000
    ms = ms if len(ms) else np.array([np.nan])
    return {"units": units, "rate_hz": rate_hz, "duration_s": duration_s, "workers": workers,
            "sent": sent, "publish_failed": sum(c["failed"] for c in counts), "accepted": accepted,
            "rejected": sum(int(g["rejected"]) for g in got), "delivered": accepted / max(sent, 1),
            "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(np.max(ms))}


def run() -> list[dict]:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  transient=True) as bar:
        bar.add_task(f"{UNITS} units x {RATE_HZ:g} Hz via mosquitto, {DURATION_S:g} s", total=None)
        ours = measure()
        two = measure(workers=2)
        idle = measure(rate_hz=1.0, duration_s=min(DURATION_S, 20.0))
    return [
        {"name": f"MQTT {UNITS} units x {RATE_HZ:g} Hz delivered", "value": 100 * ours["delivered"],
         "unit": "%", "peer": "same units at 1 Hz", "peer_value": 100 * idle["delivered"],
         "ratio": ours["delivered"] / idle["delivered"]},
        {"name": f"MQTT {UNITS} units x {RATE_HZ:g} Hz p50 latency", "value": ours["p50_ms"],
         "unit": "ms", "peer": "same units at 1 Hz", "peer_value": idle["p50_ms"],
         "ratio": ours["p50_ms"] / idle["p50_ms"]},
        {"name": f"MQTT {UNITS} units x {RATE_HZ:g} Hz p99 latency", "value": ours["p99_ms"],
         "unit": "ms", "peer": "same units at 1 Hz", "peer_value": idle["p99_ms"],
         "ratio": ours["p99_ms"] / idle["p99_ms"]},
        {"name": f"MQTT {UNITS} units x {RATE_HZ:g} Hz delivered, 2 host workers",
         "value": 100 * two["delivered"], "unit": "%", "peer": "1 host worker",
         "peer_value": 100 * ours["delivered"], "ratio": two["delivered"] / ours["delivered"]},
        {"name": f"MQTT {UNITS} units x {RATE_HZ:g} Hz p99 latency, 2 host workers",
         "value": two["p99_ms"], "unit": "ms", "peer": "1 host worker",
         "peer_value": ours["p99_ms"], "ratio": two["p99_ms"] / ours["p99_ms"]},
    ]


if __name__ == "__main__":  # a publisher or host worker process (see measure)
    need = {"host": 5, "publish": 7}.get(sys.argv[1] if len(sys.argv) > 1 else "", 0)
    if not need or len(sys.argv) < need:  # typed by hand: one line, not a traceback
        sys.exit("bench_mqtt: this is measure()'s worker (host URL KEYFILE OUT, or publish URL "
                 "KEYFILE SECONDS HZ UNIT...): run the bench with `empathy bench mqtt`")
    role, url, keyfile, *rest = sys.argv[1:]
    with open(keyfile) as f:
        k = {int(u): bytes.fromhex(h) for u, h in json.load(f).items()}
    if role == "host":
        host(url, k, rest[0])
    else:
        dur, rate, *unit_ids = rest
        print(json.dumps(publish(url, [int(u) for u in unit_ids], k, float(dur), float(rate))))
