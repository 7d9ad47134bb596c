"""`empathy sensors scan | read URL | record URL`: find sensors, watch them, record them.

numpy (with the sensors' base) and asyncio are imported by the verbs that use them: `--help`
and argparse's errors cost the interpreter (`sensors scan --help` 0.23 -> 0.06 CPU-s)."""

from __future__ import annotations

import dataclasses
import glob
import json
import re
import sys
import time

from empathy.cli import number_in
from empathy.errors import UserError

# USB vendor ids of the boards our firmware runs on
BOARD_VIDS = {0x2E8A: "Raspberry Pi RP2040", 0x303A: "Espressif ESP32"}
LSL_WAIT_S = 1.0  # LSL streams answer a query within a second (the seat waits as long)


def reading_dict(r) -> dict:
    """A reading as JSON-able fields; images and waveforms as their shape, never the data
    (raw frames and waveforms stay on the edge unit, even on a terminal)."""
    import numpy as np

    out = {"type": type(r).__name__}
    for f in dataclasses.fields(r):
        v = getattr(r, f.name)
        if isinstance(v, np.ndarray):
            out[f.name + "_shape"] = list(v.shape)
        else:
            out[f.name] = round(v, 3) if isinstance(v, float) else v
    return out


def serial_ports() -> list[dict]:
    from serial.tools import list_ports

    return [{"url": f"serial://{p.device}", "description": p.description,
             "board": BOARD_VIDS.get(p.vid or -1, "")} for p in list_ports.comports()]


def cameras(devices: list[str] | None = None) -> list[dict]:
    """V4L2 cameras as the URLs camera:// opens (camera://usb/N for /dev/videoN: the
    camera:///dev/videoN listed before was refused by camera://)."""
    found = sorted(glob.glob("/dev/video*")) if devices is None else devices
    return [{"url": f"camera://usb/{dev[len('/dev/video'):]}", "device": dev} for dev in found
            if re.fullmatch(r"/dev/video[0-9]{1,9}", dev)]


def _shown(text: str) -> str:
    """A name a device chose (on the air, in its USB descriptor) as a terminal may print it:
    escaped where it holds a control character (a newline forged a strap's line)."""
    return text if text.isprintable() else ascii(text)


def lsl_streams(wait_s: float) -> list[dict]:
    """The LSL streams answering on this network within wait_s, each with the lsl:// URL
    that picks it alone (name, type, source_id, host); none where pylsl is not installed."""
    try:
        import pylsl
    except (ImportError, RuntimeError, OSError):  # no research extra, or no liblsl
        return []
    from urllib.parse import quote, urlencode

    out = []
    for i in pylsl.resolve_streams(wait_s):
        query = {k: v for k, v in (("type", i.type()), ("source_id", i.source_id()),
                                   ("host", i.hostname())) if v}
        out.append({"url": f"lsl://{quote(i.name(), safe='')}?{urlencode(query)}",
                    "name": i.name(), "type": i.type(), "source_id": i.source_id(),
                    "host": i.hostname(), "channels": i.channel_count(),
                    "fs_hz": i.nominal_srate()})
    return out


def _scan(args) -> int:
    found: dict = {}
    if not args.no_lsl:
        found["lsl"] = lsl_streams(min(args.timeout, LSL_WAIT_S))
    if not args.no_ble:
        import asyncio

        from empathy.sensors.ble.links import scan_straps

        try:
            found["ble"] = asyncio.run(scan_straps(args.timeout))
        except Exception as e:  # no adapter, no BlueZ: say so and go on with the rest
            found["ble"] = []
            print(f"empathy sensors scan: bluetooth unavailable ({e}); is bluetoothd "
                  f"running and the adapter powered?", file=sys.stderr)
    if not args.no_serial:
        found["serial"] = serial_ports()
        found["camera"] = cameras()
    if args.json:
        print(json.dumps(found))
        return 0
    for s in found.get("ble", []):
        state = (f"{s['rssi']} dBm" if not s["connected"] else
                 "connected, read here" if s["read"] else "connected, unread")
        print(f"ble://{s['address']}  {_shown(s['name'])}  {state}")
    for p in found.get("serial", []):
        print(f"{p['url']}  {_shown(p['description'])}  {p['board']}".rstrip())
    for c in found.get("camera", []):
        print(c["url"])
    for st in found.get("lsl", []):
        print(f"{_shown(st['url'])}  {st['channels']} channels at {st['fs_hz']:g} Hz")
    if not any(found.values()):
        print("no sensors found")
    return 0


def _read(args) -> int:
    from empathy.sensors.base import Health, SourceError, open_source

    try:
        src = open_source(args.url, faces=False)
    except SourceError as e:
        print(f"empathy sensors read: {e}", file=sys.stderr)
        return 1
    end = time.monotonic() + args.duration if args.duration else None
    n = 0  # readings of the body: a Health alone is the source's word, not a measurement
    said = ""  # the last fault the source said (why nothing came, where nothing did)
    try:
        while end is None or time.monotonic() < end:
            for r in src.read(0.1):
                if isinstance(r, Health):
                    said = r.fault or said
                else:
                    n += 1
                d = reading_dict(r)
                print(json.dumps(d) if args.json else
                      "  ".join(f"{k}={v}" for k, v in d.items()), flush=True)
    except (KeyboardInterrupt, BrokenPipeError):  # Ctrl-C, or piped into `head`
        pass
    finally:
        src.close()
    stats = getattr(src, "stats", None)
    if stats and not args.json:
        said_stats = stats()
        print(f"# {n} readings; {json.dumps(said_stats)}", file=sys.stderr)
        if said_stats.get("lead_verdict"):  # an ECG board's lead-off pins, for a seat check
            print(f"# {args.url}: {said_stats['lead_verdict']}", file=sys.stderr)
    if not n:
        raise UserError(_nothing_read(args, said), _NOTHING_HINTS.get(
            args.url.partition(":")[0], "check the sensor is on and worn"))
    return 0


# what to try when a source gave nothing, by scheme
_NOTHING_HINTS = {
    "lsl": "`empathy sensors scan` lists the LSL streams on this network; the URL picks "
           "one by name (lsl://NAME or name=), type=, source_id= and host=",
    "ble": "check the strap is worn and in range; `empathy sensors scan` lists straps",
    "serial": "check the board is plugged in and runs our firmware; `empathy sensors scan` "
              "lists serial ports",
}


def _nothing_read(args, said: str) -> str:
    within = f" in {args.duration:g} s" if args.duration else ""
    return f"{args.url}: no readings{within}" + (f": {_shown(said)}" if said else "")


def _record(args) -> int:
    from empathy.sensors.base import SourceError
    from empathy.sensors.replay import record

    try:
        n = record(args.url, args.out, args.duration, progress=not args.json)
    except SourceError as e:
        print(f"empathy sensors record: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"readings": n, "out": args.out}) if args.json else
          f"{n} readings -> {args.out} (play back with replay://{args.out})")
    if not n:
        raise UserError(f"{args.url}: no readings in {args.duration:g} s",
                        "check the sensor is on and worn; `empathy sensors read URL` shows it live")
    return 0


def _boards(args) -> int:
    """Which BrainFlow boards give PPG, ECG and EDA, from BrainFlow's own descriptions."""
    from empathy.sensors.brainflow import KINDS, boards_table

    rows = [r for r in boards_table() if args.all or any(r[k] for k in KINDS)]
    if args.json:
        print(json.dumps(rows))
        return 0
    cols = ("board", "id") + KINDS
    if args.markdown:
        print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
        for r in rows:
            print("| " + " | ".join(f"`{r[c]}`" if c == "board" else str(r[c]) for c in cols)
                  + " |")
        return 0
    for r in rows:
        print(f"{r['board']:<28} {r['id']:>4}  " + "  ".join(
            f"{k}: {r[k] or '-':<24}" for k in KINDS).rstrip())
    return 0


def register(p) -> None:
    verbs = p.add_subparsers(dest="verb", required=True)
    s = verbs.add_parser("scan", help="list BLE heart-rate straps, serial boards, cameras, "
                                      "LSL streams")
    s.add_argument("--timeout", type=number_in(float, 0.1, 600), default=5.0,
                   help="seconds to listen for BLE")
    s.add_argument("--no-ble", action="store_true")
    s.add_argument("--no-serial", action="store_true", help="skip serial ports and cameras")
    s.add_argument("--no-lsl", action="store_true", help="skip Lab Streaming Layer streams")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_scan)
    r = verbs.add_parser("read", help="print live readings from a source URL")
    r.add_argument("url", help="ble://ADDR, serial:///dev/ttyACM0, camera://..., replay://...")
    r.add_argument("--duration", type=number_in(float, 0, 1e7), default=0.0,
                   help="seconds (0: until Ctrl-C)")
    r.add_argument("--json", action="store_true", help="one JSON object per reading")
    r.set_defaults(func=_read)
    c = verbs.add_parser("record", help="record a source's readings for replay://")
    c.add_argument("url")
    c.add_argument("--out", required=True, help="recording file (.emrec)")
    c.add_argument("--duration", type=number_in(float, 0.1, 1e7), required=True,
                   help="seconds")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_record)
    b = verbs.add_parser("boards", help="BrainFlow boards and their PPG/ECG/EDA channels "
                                        "(for brainflow:// sources)")
    b.add_argument("--all", action="store_true", help="also boards with none of the three")
    b.add_argument("--markdown", action="store_true", help="a table for docs/sensors.md")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_boards)
