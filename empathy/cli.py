"""`empathy <noun> <verb>`: one console command, one module per noun.

Each noun's module defines `register(parser)` (adds its verbs and sets `func` on each) and is
imported only when that noun is used, so `empathy --help` stays fast and a missing optional
dependency only affects its own noun. That module and what `register` reads (config
dataclasses, choice lists, option checks) load no numpy: a verb's heavy imports are made as
it runs (inside its function, or `deferred`), so every --help answers at once, on a Pi too
(tests/test_imports_light.py). Verbs return an exit code: 0 ok, 1 failure with a
one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
import traceback

from empathy import __version__, errors, log

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
    p.add_argument("--log-level", default="warning", type=str.lower,
                   choices=("debug", "info", "warning", "error"), help="how much to log")
    p.add_argument("--log-json", action="store_true", help="structured logs, one JSON per line")
    p.add_argument("--log-file", metavar="PATH",
                   help="logs to this file instead of stderr, rolled over at 20 MB or daily "
                        "(PATH.1 ... PATH.7 kept)")
    return p


def number_in(kind: type, lo: float, hi: float):
    """An argparse type: a number of `kind` within lo..hi, else argparse's usage error."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a{'n integer' if kind is int else ' number'}"
                                             f": {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text} is outside {lo:g}..{hi:g}")
        return value
    return parse


def numbers_in(kind: type, lo: float, hi: float):
    """An argparse type: comma-separated numbers of `kind`, each within lo..hi."""
    one = number_in(kind, lo, hi)
    return lambda text: [one(v) for v in text.split(",")]


def deferred(module: str, name: str):
    """A verb's `func` whose module loads only when the verb runs: building the parser (for
    --help, or another verb) imports none of its numpy, models or players."""
    def run(args):
        return getattr(importlib.import_module(module), name)(args)
    return run


def full_parser() -> argparse.ArgumentParser:
    """The parser with every noun registered (imports every noun's module): for help
    pages and for tests that walk every verb."""
    top = _top_parser()
    sub = top.add_subparsers(dest="noun", required=True)
    for noun, (module, help_) in COMMANDS.items():
        importlib.import_module(module).register(sub.add_parser(noun, help=help_))
    return top


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # read by OpenCV as it loads: its own cap (2**30 pixels, 3 GB a frame) let a 2.6 MB PNG
    # of black take `lut apply` past 5 GB
    os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(IMAGE_PX_MAX))
    ctx = {"name": ["empathy"]}  # filled in as the command line is understood
    try:
        code = _main(argv, ctx)
        sys.stdout.flush()  # here, not at exit, where a reader that left is a bare traceback
        return code
    except KeyboardInterrupt as e:  # Ctrl-C where the command has no show to end cleanly
        # (or `empathy demo`'s second one: host/demo_stop.py says why and how)
        print(f"{' '.join(ctx['name'])}: {getattr(e, 'line', 'interrupted (Ctrl-C)')}",
              file=sys.stderr)
        return getattr(e, "code", 130)
    except BrokenPipeError:  # `empathy ... | head`: the reader left, nothing to say
        # Python flushes stdout once more at exit: let that write go nowhere, quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:
        return _report(" ".join(ctx["name"]), e, argv, ctx.get("config"))


IMAGE_PX_MAX = 1 << 27  # 134 megapixels: a 12K frame (80 MP) is read


def image_too_large(path, e: Exception) -> str:
    """One line for OpenCV's refusal of an image (over IMAGE_PX_MAX, or no memory for it)."""
    return (f"{path}: an image over {IMAGE_PX_MAX / 1e6:.0f} megapixels, or one this "
            f"machine has no memory to decode (OpenCV: {str(e).strip().splitlines()[-1][:80]})")


def _report(prog: str, e: Exception, argv: list[str], config: str | None = None) -> int:
    """The error boundary: one line on stderr, and the exit code."""
    known = errors.classify(e)
    if known:
        message, hint, code = known
        if f"`{prog} " in hint:  # `empathy story check`'s own error: no circular advice
            hint = ""
        if config:  # "`empathy doctor --config FILE`" names the user's own file
            hint = hint.replace("--config FILE", f"--config {config}").replace(
                "config check FILE", f"config check {config}")
        first, *more = message.splitlines() or [""]
        print(f"{prog}: {first}" + (f" ({hint})" if hint and not more else ""), file=sys.stderr)
        for line in more:  # several problems (a config file): one line each
            print(f"{prog}: {line}", file=sys.stderr)
        if hint and more:
            print(f"{prog}: ({hint})", file=sys.stderr)
        return code
    where = _save_trace(e, argv)
    logging.getLogger("empathy.cli").debug("unexpected error", exc_info=e)
    print(f"{prog}: unexpected error: {type(e).__name__}: {_first_line(e)}"
          f" ({where}; please report it)", file=sys.stderr)
    return 70


def _first_line(e: Exception, most: int = 300) -> str:
    """The error's first line, cut to `most` characters (its whole text is in the saved
    trace): a ValueError quoting a damaged file's row ran to 20 KB of NUL escapes."""
    first = str(e).splitlines()[0] if str(e) else ""
    return first if len(first) <= most else first[:most] + f"... ({len(first)} characters)"


def _save_trace(e: Exception, argv: list[str]) -> str:
    """The full trace in the state folder (under systemd: /var/lib/empathy); says where."""
    from empathy.paths import state_dir

    folder = state_dir("crash")
    path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(f"empathy {__version__}\nargv: {argv}\n\n" +
                        "".join(traceback.format_exception(e)))
        return f"full trace in {path}"
    except OSError as err:
        return f"could not save the trace ({err.strerror}); rerun with --log-level debug"


def _main(argv: list[str], ctx: dict) -> int:
    name = ctx["name"]
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
    name.append(noun)
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
    if getattr(args, "verb", None):
        name.append(args.verb)
    if isinstance(getattr(args, "config", None), str):
        ctx["config"] = args.config
    try:
        log.setup(args.log_level, args.log_json, log_file=args.log_file)
    except OSError as e:
        raise errors.UserError(f"cannot write the log file: {e.strerror or e}",
                               "give --log-file a folder that exists and is writable") from None
    func = getattr(args, "func", None)
    if func is None:
        top.parse_args(argv[: i + 1] + ["--help"])
        return 1
    return int(func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
