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
    from empathy.transports.mqtt import _Url

    cfg = _Url(url)
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


def measure(units: int = UNITS, duration_s: float = DURATION_S, rate_hz: float = RATE_HZ,
            processes: int = PROCESSES, progress=None) -> dict:
    ids = list(range(1, units + 1))
    keys = Keystore.new(ids)
    with tempfile.TemporaryDirectory() as d, LocalBroker(d) as broker:
        url = broker.url("bench")
        rx = open_receiver(url)
        intake = Intake(keys.units)
        keyfile = os.path.join(d, "keys.json")
        with open(keyfile, "w") as f:
            json.dump({u: k.hex() for u, k in keys.units.items()}, f)
        procs = [subprocess.Popen([sys.executable, "-m", "empathy.bench.bench_mqtt", url, keyfile,
                                   str(duration_s), str(rate_hz), *map(str, ids[k::processes])],
                                  stdout=subprocess.PIPE, text=True)
                 for k in range(processes)]
        lat: list[np.ndarray] = []
        while any(p.poll() is None for p in procs):
            batch = rx.recv_batch(0.05)
            rx_us = now_us()
            rows = intake.feed_array(batch, rx_us)
            if len(rows):
                lat.append(rx_us - rows["ts_us"])
            if progress:
                progress(intake.accepted)
        end = time.monotonic() + 2  # stragglers still in flight
        while time.monotonic() < end:
            batch = rx.recv_batch(0.1)
            rx_us = now_us()
            rows = intake.feed_array(batch, rx_us)
            if len(rows):
                lat.append(rx_us - rows["ts_us"])
        rx.close()
        counts = [json.loads(p.communicate()[0]) for p in procs]
    sent = sum(c["sent"] + c["failed"] for c in counts)
    ms = np.concatenate(lat) / 1000 if lat else np.array([np.nan])
    return {"units": units, "rate_hz": rate_hz, "duration_s": duration_s, "sent": sent,
            "publish_failed": sum(c["failed"] for c in counts), "accepted": intake.accepted,
            "rejected": dict(intake.rejected), "delivered": intake.accepted / max(sent, 1),
            "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(np.max(ms))}


def run() -> list[dict]:
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"{UNITS} units via mosquitto", total=UNITS * RATE_HZ * DURATION_S)
        ours = measure(progress=lambda n: bar.update(task, completed=n))
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
    ]


if __name__ == "__main__":  # a publisher process (see measure)
    url, keyfile, dur, rate, *unit_ids = sys.argv[1:]
    with open(keyfile) as f:
        k = {int(u): bytes.fromhex(h) for u, h in json.load(f).items()}
    print(json.dumps(publish(url, [int(u) for u in unit_ids], k, float(dur), float(rate))))
