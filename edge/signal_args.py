"""`empathy signal`'s options, their checks and the files it reads, as its --help says them:
argparse is built from here without the readers (numpy, scipy); edge/signal_cli.py runs
the verbs."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta

from empathy.cli import number_in
from empathy.edge.signal_apple_sources import source_arg

FORMATS = """\
files read:
  text (UTF-8 or UTF-16, with or without a byte-order mark; a regular file, lines under
    1 MiB, at most 4096 columns): one column of samples (then --fs is
    needed), or a table whose header names a time column: time, t, time_s, t_s, seconds;
    time_ms, timer, ms (milliseconds); ts_us, time_us (microseconds); datetime, timestamp,
    phone timestamp (ISO 8601, e.g. 2024-05-01T12:00:00.250); or time/timestamp with its
    unit after it: 'Time (s)', 'timestamp [ms]', 'sensor timestamp [ns]' (Polar Sensor
    Logger: the sensor's clock is used, not the phone's; where the phone's is the only
    one, an hour it moves for summer time is undone, and said). The rate is the time column's
    mean (repeated stamps are fine; times going backwards, or straying from that one rate
    by over 1 % of the time and a step, are an error). The signal is the
    column named ecg/ekg (--kind ecg) or ppg/bvp/pleth/pulse (--kind ppg), else the first
    other column, or --column.
  fields separated by commas, semicolons, tabs or spaces: the separator is the one found
    equally often on each of the first lines; with semicolons, tabs or spaces a decimal
    comma (0,5) reads as 0.5, unless the first lines' numbers have decimal points.
  every value a finite number within +-1e20 (a NaN or an empty field is refused: cut the
    file there or fill the gap).
  device exports: OpenSignals text (biosignalsplux, BITalino: the rate and sensors from its
    header); Empatica E4 BVP/EDA/TEMP/HR/ACC.csv (start and rate in the first two rows) and
    IBI.csv (signal hrv --kind rr).
  EDF/EDF+/BDF (.edf, .bdf; needs pyedflib) and WFDB records (.hea; needs wfdb): the
    channels at the heart channel's rate (by its label), else at the first channel's.
  a file's own rate (time column or header) is used; --fs, when given, must agree with it
    within 1 % (then it is used as given).
  pupil, EDA, temperature, accelerometer, SpO2, heart- or pulse-rate (bpm) or RR columns
    are refused by `signal hr`, and a column named for the other waveform (bvp with --kind
    ecg) is too.
  RR intervals (signal hrv|hr --kind rr): one a line, in ms (200..10000) or seconds
    (0.2..10, told by their median); a header's rr_ms, rr, ibi_ms, ibi, nni, RR-interval
    or PP-interval column (Polar Sensor Logger's RR and PPI: a PPI the sensor marks
    'blocker' or off the skin ends in no beat, and where the phone's stamps run 5 s ahead
    of the intervals, beats went missing: a gap; Elite HRV, Kubios, Empatica IBI.csv, HRV
    Logger's 'date, rr, since start').
  watches and apps (any --kind): Garmin FIT (.fit; needs fitdecode): the beat intervals of
    its hrv messages (a watch's 'Log HRV', or a chest strap) or beat_intervals messages
    (newer watches), or the beats a strap stored under water (a swim); without them, or
    where they cover a part of it only, its records' (or a daily monitoring file's) heart
    rate, which `signal hr` gives as a rate with no HRV; a file that ends early is read up
    to its end, and says so. Polar Sensor Logger's
    HR.txt (a rate a second: `signal hr`; the beats are in its RR.txt). Polar Flow's CSV
    export, TCX and GPX tracks (Garmin Connect's, Strava's exports): their heart rate, a
    rate with no HRV. Apple Health's export (export.xml or export.zip; read as a stream):
    `signal hr` its heart-rate records, a rate with no HRV (the newest day); `signal hrv`
    an HRV session's beats (InstantaneousBeatsPerMinute: the newest session; Apple leaves
    unclean beats out, a gap here), each interval to a few ms (whole bpm, times to 1/100
    s): a coarse RMSSD, said so; --start/--end (local time as the file writes it: 2024-05-01
    or 2024-05-01T22:30) pick another day or session; one source's records are read (the
    one covering the most minutes; --source NAME picks another), the sources said.
  packed (signal hr|hrv): gzip (Strava's bulk export: activities/NNN.fit.gz, .tcx.gz,
    .gpx.gz) and zip (Garmin Connect's zip of one .fit; Strava's whole export; Garmin's
    account export, its activities in zips in it: one level read): the file inside is
    read; a zip of several activities names them: --member NAME reads one (outer/inner/name).
    Unpacking stops past 200x the packed size (over 16 MiB) or 1 GiB: a bomb; a zip whose names
    leave it ('../') is refused; XML declaring entities (<!ENTITY) is refused."""

FS = number_in(float, 0.1, 100_000)  # any rate a file could have; each verb checks its own
POLARITY = dict(choices=("auto", "upright", "inverted"), default="auto",
                help="PPG: which way the pulses point; a board's raw counts (MAX3010x) fall "
                "with each pulse (default: auto, decided from the waveform's shape)")
MEMBER = dict(metavar="NAME", help="the file to read inside a zip that holds several "
              "(its path in the zip, or its name): a zip of one activity needs none")
REPORT = dict(metavar="PATH.html", help="also write a page with plots (self-contained) and "
              "PATH.json beside it; written even when no heartbeat is found")


def heart_args(verb, kind_help, column_help) -> None:
    """The options `hr` and `hrv` share: the file's rate, kind, column and span, the pulse's
    way up, and the outputs."""
    verb.add_argument("--fs", type=FS, help="sampling rate in Hz (needed without a time column)")
    verb.add_argument("--kind", choices=("ppg", "ecg", "rr"), default="ppg", help=kind_help)
    verb.add_argument("--column", help=column_help)
    verb.add_argument("--member", **MEMBER)
    verb.add_argument("--start", type=when, help=START)
    verb.add_argument("--end", type=when_end, help=END)
    verb.add_argument("--source", metavar="NAME", type=source_arg, help=SOURCE)
    verb.add_argument("--polarity", **POLARITY)
    verb.add_argument("--json", action="store_true", help="one JSON object")
    verb.add_argument("--report", **REPORT)


# Apple Health's export (edge/signal_apple.py): the span and the source read
START = ("Apple Health's export: read from this local time on (2024-05-01 or "
         "2024-05-01T22:30; default: the newest day's heart rate, the newest HRV session)")
END = "Apple Health's export: read up to this local time (a date alone: to that day's end)"


def when(text: str) -> datetime:
    """--start: a local date or date and time, as the user writes it."""
    try:
        at = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a date (2024-05-01) or a "
                                          "date and time (2024-05-01T22:30)") from None
    if at.tzinfo is not None:  # (the file's local times are compared as written)
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: give the local time as the export "
                                          "writes it, without a zone")
    return at


def when_end(text: str) -> datetime:
    """--end: a date alone ends at that day's end (the day is read whole)."""
    end = when(text)
    try:
        return end + timedelta(days=1) if len(text.strip()) == 10 else end
    except OverflowError:  # (9999-12-31: no day after it)
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: a day no export reaches") from None


SPAN = ("--start, --end and --source pick a span and a source of Apple Health's export only; "
        "leave them out for this file")
SOURCE = ("Apple Health's export: read this source's records (its name, or a part of it: "
          "'Apple Watch', 'Polar Flow'; default: the one whose records cover the most minutes "
          "of the span)")


def light_phases(text: str) -> list[float]:
    """--light-phases LAT,UP,DOWN: latency, constriction and redilation in seconds."""
    parts = text.split(",")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"{text!r}: give latency, constriction and "
                                         "redilation in seconds, as LAT,UP,DOWN")
    return [number_in(float, 0, 1)(parts[0])] + [number_in(float, 0.01, 10)(v)
                                                 for v in parts[1:]]
