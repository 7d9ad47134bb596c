"""`empathy <noun> <verb>`: one console command, one module per noun.

Each noun's module defines `register(parser)` (adds its verbs and sets `func` on each) and is
imported only when that noun is used, so `empathy --help` stays fast and a missing optional
dependency only affects its own noun. Verbs return an exit code: 0 ok, 1 failure with a
one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from empathy import __version__, log

# noun -> (module, one-line help)
COMMANDS = {
    "demo": ("empathy.host.demo", "run the whole chain on simulated seats and write a report"),
    "edge": ("empathy.edge.cli", "run an edge unit (sensors -> features -> packets)"),
    "host": ("empathy.host.cli", "run the host (receive -> fuse -> decide -> play)"),
    "sensors": ("empathy.sensors.cli", "scan for and read sensors (BLE straps, serial boards, cameras)"),
    "signal": ("empathy.edge.signal_cli", "heart rate, HRV and pupil from recorded signals"),
    "keys": ("empathy.host.keys_cli", "provision, list and revoke edge unit keys"),
    "story": ("empathy.host.story_cli", "check, graph and arc story files and screenplays"),
    "policy": ("empathy.host.policy_cli", "simulate and evaluate branch-choosing policies"),
    "lut": ("empathy.host.player.cli", "check, apply and preview .cube LUTs"),
    "calibrate": ("empathy.calibration.cli", "validate sensor rigs and calibrate viewers"),
    "session": ("empathy.host.session.cli", "list, export and purge recorded sessions"),
    "config": ("empathy.host.config_cli", "check config files"),
    "doctor": ("empathy.host.doctor", "check this machine for everything Empathy Engine needs"),
    "bench": ("empathy.bench.runner", "run benchmarks against peers and print ratios"),
}


def _top_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="empathy",
        description="Empathy Engine: adaptive cinema driven by the audience's body.",
        epilog="nouns:\n" + "\n".join(f"  {k:<8} {v[1]}" for k, v in COMMANDS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"empathy {__version__}")
    p.add_argument("--log-level", default="warning", help="debug, info, warning, error")
    p.add_argument("--log-json", action="store_true", help="structured logs, one JSON per line")
    p.add_argument("--log-file", metavar="PATH",
                   help="logs to this file instead of stderr, rolled over at 20 MB or daily "
                        "(PATH.1 ... PATH.7 kept)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    top = _top_parser()
    # Find the noun: first argument that is not a global option (or its value).
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in ("--log-level", "--log-file") else 1
    if i >= len(argv) or argv[i] not in COMMANDS:
        top.parse_args(argv)  # handles --help / --version / errors
        top.print_help()
        return 1
    noun = argv[i]
    sub = top.add_subparsers(dest="noun", required=True)
    try:
        module = importlib.import_module(COMMANDS[noun][0])
    except ModuleNotFoundError as e:
        if e.name != COMMANDS[noun][0]:
            raise
        print(f"empathy {noun}: not available in this build", file=sys.stderr)
        return 1
    module.register(sub.add_parser(noun, help=COMMANDS[noun][1]))
    args = top.parse_args(argv)
    try:
        log.setup(args.log_level, args.log_json, log_file=args.log_file)
    except OSError as e:
        print(f"empathy: cannot write the log file: {e}", file=sys.stderr)
        return 1
    func = getattr(args, "func", None)
    if func is None:
        top.parse_args(argv[: i + 1] + ["--help"])
        return 1
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
